"""The daily reminder sweep (påminnelser): every deadline reminder due, to whom it concerns, once.

A reminder goes only while its obligation is open and its deadline ahead; of the rungs (14, 7, 1
working days before, from the round file) only the latest due one goes, so a reminder missed in an
outage is superseded, never sent late. Its key names the obligation and the rung, so a second
sweep on the same day — or any number of sweeps — sends nothing more.
"""

from __future__ import annotations

from sio_domain.agendas import Agenda, Letter
from sio_domain.obligations import (
    REMINDER_ROLES,
    DueReminder,
    due_reminders,
    obligations,
    working_days_left,
)
from sio_domain.trial_state import TrialState

REMINDER_KINDS = {
    "application": "application_reminder",
    "reply": "reply_reminder",
    "agreement": "agreement_reminder",
    "activity": "activity_reminder",
    "annual_report": "report_reminder",
}
"""The letter sent for each kind of obligation."""


def reminder_key(round_id: str, reminder: DueReminder) -> str:
    """``reminder:<round>:<kommunenummer>:<obligation>:<working days before>``."""
    o = reminder.obligation
    return f"reminder:{round_id}:{o.kommunenummer}:{o.key}:{reminder.offset}"


def due_reminder_list(state: TrialState) -> list[DueReminder]:
    """The reminders due at the state's instant (the latest rung of each open obligation)."""
    rules = state.round_def.reminders
    return due_reminders(
        obligations(state),
        offsets=rules.deadline_offsets,
        send_at=rules.send_at,
        now=state.as_of,
    )


def reminders_agenda(state: TrialState) -> Agenda:
    """The sweep's letters at the state's instant."""
    round_def = state.round_def
    letters = []
    rows = []
    for reminder in due_reminder_list(state):
        obligation = reminder.obligation
        knr = obligation.kommunenummer
        key = reminder_key(round_def.id, reminder)
        if key in state.sent_keys:
            continue
        letters.append(
            Letter(
                key=key,
                kind=REMINDER_KINDS[obligation.kind],
                kommunenummer=knr,
                roles=REMINDER_ROLES[obligation.kind],
                due_at=reminder.due_at,
                obligation=obligation.key,
                context={
                    "municipality": state.name(knr),
                    "kommunenummer": knr,
                    "round_title": round_def.title,
                    "title": obligation.title,
                    "deadline": obligation.deadline,
                    "nominal": obligation.nominal,
                    "working_days_left": working_days_left(state.today, obligation.deadline),
                    "reply_deadline": obligation.deadline,
                    "agreement_deadline": obligation.deadline,
                    "activity": obligation.title,
                    "due": obligation.deadline,
                    "year": obligation.key.split(":", 1)[-1],
                },
            )
        )
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "plikt": obligation.key,
                "frist": obligation.deadline.isoformat(),
                "virkedager igjen": str(reminder.offset),
            }
        )
    return Agenda("reminders", letters=tuple(letters), rows=tuple(rows))


def reminder_still_due(state: TrialState, key: str) -> str | None:
    """Why a queued reminder should no longer go at the state's instant, or None if it should.

    Checked again right before sending: the obligation may have been met, the deadline passed, or
    a later rung become due while the mail waited (an outage).
    """
    due = {reminder_key(state.round_def.id, r) for r in due_reminder_list(state)}
    if key in due:
        return None
    parts = key.split(":")
    obligation = ":".join(parts[3:-1])
    for item in obligations(state):
        if item.kommunenummer == parts[2] and item.key == obligation:
            if not item.is_open():
                return f"{obligation} was fulfilled on {item.fulfilled_on}"
            if state.today > item.deadline:
                return f"the deadline {item.deadline.isoformat()} has passed"
            return "a later reminder is due instead"
    return f"{obligation} is no longer an obligation of {parts[2]}"
