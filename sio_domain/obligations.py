"""Open obligations and the reminders they are due: who owes the directorate what, by when.

Why pure: "reminders reach exactly the municipalities with an open obligation, once each" (issue 3)
is a rule over the trial's state and the calendar, so it is decided here, from a snapshot of the
state passed in, and tested without a database. The sweep only sends what this module says is due.

Obligations (DOMAIN.md, Deadlines; issue 3, reminders): the application (søknad) of an invited
municipality that has not applied; the reply to an offer (svar på tilbud, seed 002); the signed
cooperation agreement returned to the directorate (seed 000: «returneres innen 1. februar 2016»);
each Bilag 1 activity the municipality is responsible for; the annual report (DOMAIN.md **D**).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.plan import PlanEvent

REMINDER_ROLES: Mapping[str, tuple[str, ...]] = {
    "application": ("contact_person", "chief_executive"),
    "reply": ("chief_executive", "contact_person"),
    "agreement": ("chief_executive", "contact_person"),
    "activity": ("project_leader", "contact_person"),
    "annual_report": ("contact_person", "finance_officer"),
}
"""Who a reminder goes to, by obligation kind: every contact in these roles."""


@dataclass(frozen=True)
class Participant:
    """A selected municipality's terms in one round."""

    kommunenummer: str
    model: str
    plan: tuple[PlanEvent, ...]


@dataclass(frozen=True)
class TrialState:
    """What the database knows about a round at an instant, as plain values."""

    candidates: frozenset[str]
    """Municipalities that may apply: the invited list, or (invited = all) those with contacts."""
    applied: Mapping[str, datetime] = field(default_factory=dict)
    selected: Mapping[str, str] = field(default_factory=dict)  # kommunenummer → model
    rejected: frozenset[str] = frozenset()
    replies: Mapping[str, tuple[bool, date]] = field(default_factory=dict)
    returned_agreements: Mapping[str, date] = field(default_factory=dict)  # received_on
    done: Mapping[tuple[str, str], date] = field(default_factory=dict)  # (knr, key) → done on
    participants: Mapping[str, Participant] = field(default_factory=dict)


@dataclass(frozen=True)
class Obligation:
    """Something a municipality must submit by a deadline."""

    kind: str  # application | reply | agreement | activity | annual_report
    key: str  # unique per round and municipality, e.g. "agreement", "activity:ict_adaptation"
    kommunenummer: str
    title: str
    deadline: date  # effective (rolled) deadline
    nominal: date
    fulfilled_on: date | None = None

    def is_open(self) -> bool:
        """True while the municipality has not submitted it."""
        return self.fulfilled_on is None

    def is_late(self, today: date) -> bool:
        """Open past its deadline, or fulfilled after it (accepted and flagged late)."""
        if self.fulfilled_on is not None:
            return self.fulfilled_on > self.deadline
        return today > self.deadline


@dataclass(frozen=True)
class DueReminder:
    """A reminder to send now: the obligation, the offset in working days, and its send instant."""

    obligation: Obligation
    offset: int
    due_at: datetime


def obligations(
    round_plan: Sequence[PlanEvent], state: TrialState, *, reply_round: bool
) -> list[Obligation]:
    """Every obligation of the round's municipalities, fulfilled or not."""
    result: list[Obligation] = []
    by_kind = {e.kind: e for e in round_plan if e.kind.endswith("_deadline")}
    application = by_kind.get("application_deadline")
    if application is not None:
        for knr in sorted(state.candidates):
            submitted = state.applied.get(knr)
            result.append(
                _deadline(
                    "application",
                    "application",
                    knr,
                    application,
                    submitted and submitted.astimezone(OSLO).date(),
                )
            )
    reply = by_kind.get("reply_deadline")
    agreement = by_kind.get("agreement_deadline")
    for knr in sorted(state.selected):
        answer = state.replies.get(knr)
        if reply_round and reply is not None:
            result.append(_deadline("reply", "reply", knr, reply, answer and answer[1]))
            if answer is not None and not answer[0]:
                continue  # declined: no agreement to return
        if agreement is not None:
            result.append(
                _deadline(
                    "agreement", "agreement", knr, agreement, state.returned_agreements.get(knr)
                )
            )
    for knr, participant in sorted(state.participants.items()):
        for event in participant.plan:
            if event.kind == "activity" and event.responsible == "municipality":
                activity_key = event.key.split(":")[3]
                key = f"activity:{activity_key}"
                assert isinstance(event.end, date) and not isinstance(event.end, datetime)
                result.append(
                    Obligation(
                        "activity",
                        key,
                        knr,
                        event.title,
                        event.end,
                        event.end,
                        state.done.get((knr, key)),
                    )
                )
            elif event.kind == "report_deadline":
                year = event.key.split(":")[3]
                key = f"annual_report:{year}"
                assert event.nominal is not None
                result.append(
                    Obligation(
                        "annual_report",
                        key,
                        knr,
                        event.title,
                        event.day,
                        event.nominal,
                        state.done.get((knr, key)),
                    )
                )
    return result


def _deadline(
    kind: str, key: str, knr: str, event: PlanEvent, fulfilled: date | None
) -> Obligation:
    assert event.nominal is not None
    return Obligation(kind, key, knr, event.title, event.day, event.nominal, fulfilled or None)


def due_reminders(
    items: Iterable[Obligation],
    *,
    offsets: Sequence[int],
    send_at: time,
    now: datetime,
) -> list[DueReminder]:
    """The one reminder due now for each open obligation — the latest whose time has come.

    Reminders go out on working days at ``send_at`` Europe/Oslo (DOMAIN.md **D**: 09:00; 14, 7
    and 1 working days before). Only the latest due reminder is returned: one missed while the
    system was down is superseded by a later one, never sent as a burst of stale reminders. None
    is due after the deadline (the obligation is then late, and staff are alerted instead).
    """
    local = now.astimezone(OSLO)
    today = local.date()
    if not is_working_day(today):
        return []
    result = []
    for obligation in items:
        if not obligation.is_open() or today > obligation.deadline:
            continue
        due = [
            (offset, day)
            for offset in offsets
            if (day := working_days_before(obligation.deadline, offset)) < today
            or (day == today and local.time() >= send_at)
        ]
        if not due:
            continue
        offset, day = min(due, key=lambda pair: pair[0])
        due_at = datetime.combine(day, send_at, tzinfo=OSLO)
        result.append(DueReminder(obligation, offset, due_at))
    return result
