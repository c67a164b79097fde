"""Replanning (omplanlegging): dated decisions that change a round's plan from their date on.

Politics changes plans: Covid postponed Indre Østfold's ABF start; the state budget proposed on
12.10.2021 ended the trial on 31.12.2021. Each change is a decision with a decision date, a reason
and who decided. From the decision date on, deadlines, meetings, reminders and payouts follow the
new plan; invitations already sent are updated (same UID, higher SEQUENCE) or cancelled
(METHOD:CANCEL); letters written before the decision date do not know it (design decision D,
"as-of truth").

Kinds of decision:
- ``move_milestone`` a round milestone (e.g. ``go_live``) to a new date: a moved go-live moves the
  participation starts and ABF starts that began with it, and the status-meeting cadence by the
  same number of months (so meetings, reminders and the first payout run move with it);
- ``end`` the round (or one participation) early on a date;
- ``move_event`` one meeting or gathering (a plan-event key) to a new start, for one municipality
  or all; ``cancel_event`` one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError

from sio_domain.round_definition import DatedFact, Milestones, RoundDefinition

ReplanKind = Literal["move_milestone", "end", "move_event", "cancel_event"]
MOVABLE_MILESTONES = (
    "invitation",
    "application_deadline",
    "selection_deadline",
    "reply_deadline",
    "agreement_deadline",
    "collaboration_start",
    "go_live",
    "end",
)


class ReplanRefused(ValueError):
    """A replanning decision that cannot be applied; the message names the option and value."""


@dataclass(frozen=True)
class ReplanDecision:
    """One recorded replanning decision."""

    kind: ReplanKind
    decided_on: date
    reason: str
    decided_by: str
    target: str | None = None  # milestone name or plan-event key
    kommunenummer: str | None = None
    to_date: date | None = None
    to_start: datetime | None = None

    def known_on(self, day: date) -> bool:
        return self.decided_on <= day


def round_in_force(
    round_def: RoundDefinition, decisions: Sequence[ReplanDecision], day: date
) -> RoundDefinition:
    """The round as decided by ``day``: round-wide milestone moves and early ends applied.

    A round file's ``early_end`` with a ``decided_on`` after ``day`` is not known yet.
    """
    milestones = round_def.milestones
    updates: dict[str, Any] = {}
    if milestones.early_end is not None and not (
        (milestones.early_end.decided_on or date.min) <= day
    ):
        updates["early_end"] = None
    shift_months = 0
    for decision in sorted(decisions, key=lambda d: d.decided_on):
        if not decision.known_on(day) or decision.kommunenummer is not None:
            continue
        source = (
            f"omplanlagt {decision.decided_on.isoformat()} ({decision.decided_by}):"
            f" {decision.reason}"
        )
        if decision.kind == "end":
            assert decision.to_date is not None
            updates["early_end"] = DatedFact(
                date=decision.to_date, source=source, decided_on=decision.decided_on
            )
        elif decision.kind == "move_milestone":
            assert decision.target is not None and decision.to_date is not None
            old = updates.get(decision.target, getattr(milestones, decision.target))
            if decision.target == "go_live" and old is not None:
                shift_months += _months_between(old.date, decision.to_date)
            updates[decision.target] = DatedFact(
                date=decision.to_date, source=source, decided_on=decision.decided_on
            )
    if not updates:
        return round_def
    try:
        moved = Milestones.model_validate({**_fields(milestones), **updates})
    except ValidationError as error:
        raise ReplanRefused(_first_error(error)) from None
    result = round_def.model_copy(update={"milestones": moved})
    if shift_months:
        result = _shift_with_go_live(result, round_def.milestones.go_live.date, shift_months)
    return result


def refuse_unless_valid(round_def: RoundDefinition, decision: ReplanDecision) -> None:
    """Refuse a decision that would make the round impossible (milestones out of order)."""
    if decision.kind == "move_milestone" and decision.target not in MOVABLE_MILESTONES:
        raise ReplanRefused(
            f"NAME: {decision.target!r} is not a milestone ({', '.join(MOVABLE_MILESTONES)})"
        )
    if not decision.reason.strip():
        raise ReplanRefused("--reason: a replanning decision needs a reason")
    if decision.kommunenummer is None:
        round_in_force(round_def, [decision], decision.decided_on)


def event_moves(
    decisions: Sequence[ReplanDecision], kommunenummer: str, day: date
) -> dict[str, datetime | None]:
    """Plan-event key → new start (None: cancelled) for one municipality, as decided by ``day``."""
    moves: dict[str, datetime | None] = {}
    for decision in sorted(decisions, key=lambda d: d.decided_on):
        if not decision.known_on(day) or decision.kind not in ("move_event", "cancel_event"):
            continue
        if decision.kommunenummer not in (None, kommunenummer):
            continue
        assert decision.target is not None
        moves[decision.target] = decision.to_start if decision.kind == "move_event" else None
    return moves


def participation_end(
    decisions: Sequence[ReplanDecision], kommunenummer: str, day: date
) -> date | None:
    """An early end decided for one participation by ``day``, if any."""
    ends = [
        d.to_date
        for d in decisions
        if d.kind == "end" and d.kommunenummer == kommunenummer and d.known_on(day)
    ]
    return min((e for e in ends if e is not None), default=None)


def _fields(milestones: Milestones) -> dict[str, Any]:
    return {name: getattr(milestones, name) for name in Milestones.model_fields}


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    return str(first["msg"]).removeprefix("Value error, ")


def _months_between(old: date, new: date) -> int:
    return (new.year - old.year) * 12 + new.month - old.month


def _shift_month(label: str, months: int) -> str:
    year, month = (int(part) for part in label.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _shift_with_go_live(
    round_def: RoundDefinition, old_go_live: date, months: int
) -> RoundDefinition:
    """Participation/ABF starts that began with go-live, and the meeting cadence, move with it."""
    new_go_live = round_def.milestones.go_live
    models = {}
    for name, plan in round_def.models.items():
        update: dict[str, Any] = {}
        for field in ("participation_start", "abf_start"):
            fact = getattr(plan, field)
            if fact is not None and fact.date == old_go_live:
                update[field] = fact.model_copy(update={"date": new_go_live.date})
        if plan.status_meetings is not None:
            phases = tuple(
                phase.model_copy(
                    update={
                        "first": _shift_month(phase.first, months) if phase.first else None,
                        "last": _shift_month(phase.last, months) if phase.last else None,
                        "months": tuple(_shift_month(m, months) for m in phase.months),
                    }
                )
                for phase in plan.status_meetings.phases
            )
            update["status_meetings"] = plan.status_meetings.model_copy(update={"phases": phases})
        models[name] = plan.model_copy(update=update)
    return round_def.model_copy(update={"models": models})
