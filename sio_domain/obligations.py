"""Open obligations and the reminders they are due: who owes the directorate what, by when.

Obligations (design decision D, reminders): the application (søknad) of an invited municipality
that has not applied; the reply to an offer (svar på tilbud, seed 002); the signed cooperation
agreement returned to the directorate (seed 000: «returneres innen 1. februar 2016» — a return
date, judged on receipt); each Bilag 1 activity the municipality is responsible for; the annual
report (årsrapport, D: due 1 April the following year).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.plan import PlanEvent
from sio_domain.trial_state import TrialState

REMINDER_ROLES: Mapping[str, tuple[str, ...]] = {
    "application": ("contact_person", "chief_executive"),
    "reply": ("chief_executive", "contact_person"),
    "agreement": ("chief_executive", "contact_person"),
    "activity": ("project_leader", "contact_person"),
    "annual_report": ("contact_person", "finance_officer"),
}
"""Who a reminder goes to, by obligation kind: every contact in these roles."""


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
    since: date | None = None
    """The day the obligation arose (the invitation, the decision): no reminder rung before it."""

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


def obligation_key(event: PlanEvent) -> str | None:
    """The obligation a plan event stands for: ``activity:<key>`` or ``annual_report:<year>``."""
    if event.kind == "activity" and event.responsible == "municipality":
        return f"activity:{event.key.split(':')[3]}"
    if event.kind == "report_deadline":
        return f"annual_report:{event.key.split(':')[3]}"
    return None


def obligations(state: TrialState) -> list[Obligation]:
    """Every obligation of the round's municipalities as known at the state's instant."""
    result: list[Obligation] = []
    by_kind = {e.kind: e for e in state.round_plan() if e.kind.endswith("_deadline")}
    application = by_kind.get("application_deadline")
    if application is not None:
        for knr in sorted(state.candidates()):
            submitted = state.applied.get(knr)
            invited = state.round_def.milestones.invitation
            result.append(
                _deadline(
                    "application",
                    knr,
                    application,
                    submitted.astimezone(OSLO).date() if submitted else None,
                    invited.date if invited else None,
                )
            )
    reply = by_kind.get("reply_deadline")
    agreement = by_kind.get("agreement_deadline")
    reply_round = state.round_def.milestones.reply_deadline is not None
    for knr in sorted(state.selected):
        answer = state.replies.get(knr)
        decided = state.decisions[knr].decided_on
        if reply_round and reply is not None:
            result.append(_deadline("reply", knr, reply, answer[1] if answer else None, decided))
            if answer is not None and not answer[0]:
                continue  # declined: no agreement to return
        if agreement is not None:
            returned = state.returned_agreement(knr)
            result.append(_deadline("agreement", knr, agreement, returned, decided))
    for knr in sorted(state.participations):
        decision = state.decisions.get(knr)
        since = decision.decided_on if decision else None
        for event in state.plan_for(knr):
            key = obligation_key(event)
            if key is None:
                continue
            if event.kind == "activity":
                assert isinstance(event.end, date) and not isinstance(event.end, datetime)
                due, nominal = event.end, event.end
            else:
                assert event.nominal is not None
                due, nominal = event.day, event.nominal
            kind = key.split(":")[0]
            result.append(
                Obligation(
                    kind, key, knr, event.title, due, nominal, state.done.get((knr, key)), since
                )
            )
    return result


def _deadline(
    kind: str, knr: str, event: PlanEvent, fulfilled: date | None, since: date | None
) -> Obligation:
    assert event.nominal is not None
    return Obligation(kind, kind, knr, event.title, event.day, event.nominal, fulfilled, since)


def due_reminders(
    items: Iterable[Obligation],
    *,
    offsets: Sequence[int],
    send_at: time,
    now: datetime,
) -> list[DueReminder]:
    """The one reminder due now for each open obligation — the latest whose time has come.

    Reminders go out on working days from ``send_at`` Europe/Oslo (D: 09:00; 14, 7 and 1 working
    days before). Only the latest due reminder is returned: one missed while the system was down
    is superseded by a later one, never sent as a burst of stale reminders. None is due after the
    deadline (the obligation is then late, and staff see it instead), and none for a rung that
    fell before the obligation arose (the 14-day agreement reminder before the selection).
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
            if (
                (day := working_days_before(obligation.deadline, offset)) < today
                or (day == today and local.time() >= send_at)
            )
            and (obligation.since is None or day >= obligation.since)
        ]
        if not due:
            continue
        offset, day = min(due, key=lambda pair: pair[0])
        result.append(DueReminder(obligation, offset, datetime.combine(day, send_at, tzinfo=OSLO)))
    return result


def working_days_left(today: date, deadline: date) -> int:
    """Working days after ``today`` up to and including ``deadline`` (what a reminder states)."""
    count, day = 0, deadline
    while day > today:
        count += is_working_day(day)
        day = date.fromordinal(day.toordinal() - 1)
    return count
