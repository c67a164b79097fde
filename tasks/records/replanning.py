"""Recording replanning decisions (``sio replan``) and reading the round as decided by a day.

The rules of what a decision changes are in ``sio_domain.replanning``; here a decision is checked,
stored with its audit entry, and participations that began with a moved go-live (or end early)
are updated in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from sio_domain.norwegian_calendar import OSLO, is_working_day
from sio_domain.replanning import (
    ReplanDecision,
    ReplanRefused,
    refuse_unless_valid,
    round_in_force,
)
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import TrialState
from tasks.storage.audit import record_audit
from tasks.storage.tables import ParticipationRecord, ReplanDecisionRecord

EVENT_KINDS = ("status_meeting", "gathering", "network_gathering", "info_meeting")


def decisions_of(session: Session, round_id: str) -> list[ReplanDecision]:
    """Every replanning decision recorded for a round, in the order recorded."""
    rows = session.exec(
        select(ReplanDecisionRecord)
        .where(ReplanDecisionRecord.round_id == round_id)
        .order_by(col(ReplanDecisionRecord.id))
    )
    return [
        ReplanDecision(
            r.kind,  # type: ignore[arg-type]
            r.decided_on,
            r.reason,
            r.decided_by,
            r.target,
            r.kommunenummer,
            r.to_date,
            r.to_start,
        )
        for r in rows
    ]


def round_as_decided(session: Session, round_def: RoundDefinition, day: date) -> RoundDefinition:
    """The round with every round-wide decision known on ``day`` applied (payouts, plans)."""
    return round_in_force(round_def, decisions_of(session, round_def.id), day)


def record_replan(
    session: Session,
    state: TrialState,
    decision: ReplanDecision,
    *,
    now: datetime,
    actor: str,
) -> ReplanDecisionRecord:
    """Check and store one decision; never commits. ``state`` is the round as known ``now``."""
    today = now.astimezone(OSLO).date()
    if decision.decided_on > today:
        raise ReplanRefused(f"--decided-on: {decision.decided_on.isoformat()} is in the future")
    number = None
    if decision.kommunenummer is not None:
        if decision.kommunenummer not in state.registry:
            raise ReplanRefused(
                f"--kommune: {decision.kommunenummer!r} is not a known kommunenummer"
            )
        number = state.canonical(decision.kommunenummer)
        if number not in state.participations and decision.kind == "end":
            raise ReplanRefused(f"--kommune: {number} does not take part in {state.round_def.id}")
    if decision.kind in ("move_event", "cancel_event"):
        _check_event(state, decision, number)
    decision = ReplanDecision(
        decision.kind,
        decision.decided_on,
        decision.reason.strip(),
        decision.decided_by,
        decision.target,
        number,
        decision.to_date,
        decision.to_start,
    )
    refuse_unless_valid(round_in_force(state.round_def, state.replans, today), decision)
    record = ReplanDecisionRecord(
        round_id=state.round_def.id,
        kind=decision.kind,
        target=decision.target,
        kommunenummer=number,
        to_date=decision.to_date,
        to_start=decision.to_start,
        decided_on=decision.decided_on,
        decided_by=decision.decided_by,
        reason=decision.reason,
        recorded_at=now,
    )
    session.add(record)
    if decision.kind == "move_milestone" and decision.target == "go_live":
        _move_participations(session, state, decision)
    if decision.kind == "end" and number is not None:  # a round-wide end applies as of its date
        _end_participations(session, state, decision, number)
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=state.round_def.id,
        kommunenummer=number,
        what=f"replanned: {decision.kind}",
        detail={
            "target": decision.target,
            "to": decision.to_start or decision.to_date,
            "decided_on": decision.decided_on,
            "decided_by": decision.decided_by,
            "reason": decision.reason,
        },
    )
    session.flush()
    return record


def _check_event(state: TrialState, decision: ReplanDecision, number: str | None) -> None:
    plans = [state.round_plan()] + [
        state.plan_for(k) for k in ([number] if number else state.participations)
    ]
    known = {e.key: e for plan in plans for e in plan if e.kind in EVENT_KINDS}
    if decision.target not in known:
        sample = ", ".join(sorted(known)[:3])
        raise ReplanRefused(
            f"KEY: {decision.target!r} is not a meeting or gathering of {state.round_def.id}"
            f" (keys from `sio plan --format json`, e.g. {sample})"
        )
    if decision.kind == "move_event":
        if decision.to_start is None:
            raise ReplanRefused("--to: give the new start (ISO 8601 date and time)")
        local = decision.to_start.astimezone(OSLO)
        if not is_working_day(local.date()):
            raise ReplanRefused(
                f"--to: {local.date().isoformat()} is not a working day (meetings and gatherings"
                " are held on working days)"
            )


def _move_participations(session: Session, state: TrialState, decision: ReplanDecision) -> None:
    old = state.round_def.milestones.go_live.date
    assert decision.to_date is not None
    for row in session.exec(
        select(ParticipationRecord).where(ParticipationRecord.round_id == state.round_def.id)
    ):
        if row.start == old:
            row.start = decision.to_date
        if row.abf_start == old:
            row.abf_start = decision.to_date
        session.add(row)


def _end_participations(
    session: Session, state: TrialState, decision: ReplanDecision, number: str
) -> None:
    assert decision.to_date is not None
    for row in session.exec(
        select(ParticipationRecord).where(ParticipationRecord.round_id == state.round_def.id)
    ):
        if state.canonical(row.kommunenummer) == number:
            row.end = min(row.end, decision.to_date)
            session.add(row)
