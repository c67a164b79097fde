"""Still true at send time: a queued reminder or invitation is checked again right before it goes.

A letter may wait in the outbox (an SMTP outage, a crash): by the time it can go, the obligation
may be met, the deadline passed, a later reminder due, or the meeting moved or cancelled. Then it
is skipped with the reason, never sent stale. Letters that state a fact (a receipt, a decision,
an agreement, a statement) are not re-checked: they stay true.
"""

from __future__ import annotations

from sio_domain.agendas.invitations import event_instants
from sio_domain.agendas.reminders import reminder_still_due
from sio_domain.trial_state import TrialState

INVITATION_PREFIXES = (
    "meeting-invitation:",
    "meeting-reminder:",
    "gathering-invitation:",
    "gathering-reminder:",
)


def still_true(state: TrialState, key: str) -> str | None:
    """Why the letter with outbox ``key`` should not go at the state's instant, or None."""
    if key.startswith("reminder:"):
        return reminder_still_due(state, key)
    if key.startswith(INVITATION_PREFIXES):
        return _event_still_ahead(state, key)
    return None


def _event_still_ahead(state: TrialState, key: str) -> str | None:
    """The event is still planned at the time the letter announces, and has not begun."""
    prefix, rest = key.split(":", 1)
    round_id = state.round_def.id
    rest = rest.removeprefix(f"{round_id}:")
    knr, event_key_and_tail = rest.split(":", 1)
    events = {e.key: e for e in state.plan_for(knr)} | {e.key: e for e in state.round_plan()}
    found = next((e for k, e in events.items() if event_key_and_tail.startswith(k + ":")), None)
    if found is None:
        return "the event is no longer in the plan (cancelled)"
    start, end = event_instants(found)
    agreed = state.meeting_times.get((knr, found.key))
    if agreed is not None:
        start, end = agreed
    if state.as_of >= start:
        return f"the event began at {start.isoformat()}"
    announced = state.announcements.get((knr, found.key), ())
    if announced and announced[-1].method == "CANCEL":
        return "the event was cancelled"
    if announced and (announced[-1].start, announced[-1].end) != (start, end):
        return "the event has moved since this letter was written"
    if prefix.endswith("-reminder") and not key.endswith(":" + start.isoformat()):
        return "the event has moved since this reminder was written"
    return None
