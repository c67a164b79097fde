"""Recording what happened outside sio: replies, signatures, activities done, meetings, attendance.

Each function validates against the round and the state (a signature for a municipality not
selected is refused, naming it), writes one row and its audit entry in the caller's transaction,
and is idempotent: recording the same fact again changes nothing; a conflicting fact is refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from sio_domain.norwegian_calendar import OSLO
from sio_domain.recorded_facts import (
    FactRefused,
    check_signature,
    meeting_move,
    reply_is_late,
    signature_is_late,
)
from sio_domain.trial_state import TrialState
from tasks.storage.audit import record_audit
from tasks.storage.tables import (
    ActivityStatus,
    AttendanceRecord,
    MeetingRecord,
    ReplyRecord,
    SelectionDecisionRecord,
    SignatureRecord,
)

RecordRefused = FactRefused
"""A fact that cannot be recorded; the message names the field and value."""


def _selected(session: Session, round_id: str, numbers: list[str]) -> SelectionDecisionRecord:
    decision = session.exec(
        select(SelectionDecisionRecord).where(
            SelectionDecisionRecord.round_id == round_id,
            SelectionDecisionRecord.kommunenummer.in_(numbers),  # type: ignore[attr-defined]
        )
    ).first()
    if decision is None or decision.decision != "selected":
        raise RecordRefused(
            f"kommunenummer {numbers[0]}: not selected in round {round_id}"
            + ("" if decision is None else f" (decision: {decision.decision})")
        )
    return decision


def _find(session: Session, table: type[Any], **equals: object) -> Any:
    """The row of ``table`` with these column values (a natural key), or None."""
    query = select(table)
    for column, value in equals.items():
        query = query.where(getattr(table, column) == value)
    return session.exec(query).first()


def _numbers(view: TrialState, kommunenummer: str) -> list[str]:
    if kommunenummer not in view.registry:
        raise RecordRefused(f"kommunenummer {kommunenummer!r}: unknown municipality")
    return [*view.registry.lineage(kommunenummer)]


def record_reply(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    accepted: bool,
    on: date,
    now: datetime,
    actor: str,
) -> bool:
    """The municipality's reply to an offer (seed 002: «Svarfrist ... innen 31. desember»)."""
    round_def = view.round_def
    late = reply_is_late(round_def, on)
    numbers = _numbers(view, kommunenummer)
    decision = _selected(session, round_def.id, numbers)
    existing = _find(
        session, ReplyRecord, round_id=round_def.id, kommunenummer=decision.kommunenummer
    )
    if existing is not None:
        if (existing.accepted, existing.replied_on) == (accepted, on):
            return False
        raise RecordRefused(
            f"kommunenummer {kommunenummer}: a reply is already recorded "
            f"({'accept' if existing.accepted else 'decline'} on {existing.replied_on})"
        )
    session.add(
        ReplyRecord(
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            accepted=accepted,
            replied_on=on,
            late=late,
            recorded_at=now,
        )
    )
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        what="reply recorded",
        detail={"accepted": accepted, "on": on, "late": late},
    )
    return True


def record_signature(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    party: str,
    signed_on: date,
    place: str,
    signatory: str,
    received_on: date | None,
    now: datetime,
    actor: str,
) -> bool:
    """One signature on the cooperation agreement (seed 000: «utferdiget i 2 ... eksemplarer»).

    ``received_on`` (default: the signing date) is when the directorate received the
    municipality's signed copy; the agreement deadline is judged on it (a return date).
    """
    round_def = view.round_def
    received = received_on or signed_on
    check_signature(
        party,
        signed_on=signed_on,
        received_on=received,
        place=place,
        signatory=signatory,
        today=now.astimezone(OSLO).date(),
    )
    numbers = _numbers(view, kommunenummer)
    decision = _selected(session, round_def.id, numbers)
    existing = _find(
        session,
        SignatureRecord,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        party=party,
    )
    if existing is not None:
        same = (existing.signed_on, existing.place, existing.signatory, existing.received_on)
        if same == (signed_on, place, signatory, received):
            return False
        raise RecordRefused(
            f"kommunenummer {kommunenummer}: the {party}'s signature is already recorded "
            f"(signed {existing.signed_on} in {existing.place} by {existing.signatory})"
        )
    late = signature_is_late(round_def, party, received)
    session.add(
        SignatureRecord(
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            party=party,
            signed_on=signed_on,
            place=place,
            signatory=signatory,
            received_on=received,
            late=late,
            recorded_at=now,
        )
    )
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        what=f"{party} signature recorded",
        detail={
            "signed_on": signed_on,
            "place": place,
            "signatory": signatory,
            "received_on": received,
            "late": late,
        },
    )
    return True


def record_activity_done(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    activity: str,
    on: date,
    now: datetime,
    actor: str,
    note: str | None = None,
) -> bool:
    """A Bilag 1 activity (``activity:<key>``) or annual report (``annual_report:<year>``) done."""
    round_def = view.round_def
    numbers = _numbers(view, kommunenummer)
    decision = _selected(session, round_def.id, numbers)
    known = {
        f"activity:{event.key.split(':')[3]}"
        if event.kind == "activity"
        else f"annual_report:{event.key.split(':')[3]}"
        for event in view.plan_for(view.canonical(decision.kommunenummer), decision.model)
        if event.kind in ("activity", "report_deadline")
    }
    if activity not in known:
        raise RecordRefused(f"--activity: {activity!r} is not one of {', '.join(sorted(known))}")
    existing = _find(
        session,
        ActivityStatus,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        activity_key=activity,
    )
    if existing is not None:
        if existing.done_on == on:
            return False
        raise RecordRefused(
            f"--activity: {activity} is already recorded done on {existing.done_on}"
        )
    session.add(
        ActivityStatus(
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            activity_key=activity,
            done_on=on,
            note=note,
            recorded_at=now,
        )
    )
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        what="activity done",
        detail={"activity": activity, "on": on},
    )
    return True


def record_meeting_time(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    month: str,
    start: datetime,
    now: datetime,
    actor: str,
) -> bool:
    """Move one status meeting for one municipality to an agreed time (seed 000: «avtales»)."""
    round_def = view.round_def
    numbers = _numbers(view, kommunenummer)
    decision = _selected(session, round_def.id, numbers)
    plan = view.plan_for(view.canonical(decision.kommunenummer), decision.model)
    meeting, start, end = meeting_move(plan, month, start, kommunenummer)
    row = _find(
        session,
        MeetingRecord,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        event_key=meeting.key,
    )
    if row is not None and row.agreed and row.start == start:
        return False
    if row is None:
        row = MeetingRecord(
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            event_key=meeting.key,
            kind="status_meeting",
            start=start,
            end=end,
            agreed=True,
        )
    row.start, row.end, row.agreed = start, end, True
    row.agreed_on = now.astimezone(OSLO).date()
    session.add(row)
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        what="status meeting moved",
        detail={"month": month, "start": start},
    )
    return True


def record_minutes(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    month: str,
    minutes: str,
    now: datetime,
    actor: str,
) -> None:
    """Minutes (referat) of a held status meeting."""
    round_def = view.round_def
    numbers = _numbers(view, kommunenummer)
    row = session.exec(
        select(MeetingRecord).where(
            MeetingRecord.round_id == round_def.id,
            MeetingRecord.kommunenummer.in_(numbers),  # type: ignore[attr-defined]
            MeetingRecord.event_key.endswith(f":{month}"),
        )
    ).first()
    if row is None:
        raise RecordRefused(f"--month: no status meeting with {kommunenummer} in {month} yet")
    if row.start > now:
        raise RecordRefused(f"--month: the {month} meeting has not been held yet")
    row.minutes = minutes
    session.add(row)
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=round_def.id,
        kommunenummer=row.kommunenummer,
        what="minutes recorded",
        detail={"month": month},
    )


def record_attendance(
    session: Session,
    view: TrialState,
    kommunenummer: str,
    *,
    event_key: str,
    email: str,
    attended: bool,
    now: datetime,
    actor: str,
) -> None:
    """Who attended a gathering or meeting."""
    numbers = _numbers(view, kommunenummer)
    number = numbers[-1] if kommunenummer not in numbers else kommunenummer
    row = _find(
        session,
        AttendanceRecord,
        round_id=view.round_def.id,
        event_key=event_key,
        kommunenummer=number,
        email=email,
    )
    if row is None:
        row = AttendanceRecord(
            round_id=view.round_def.id,
            event_key=event_key,
            kommunenummer=number,
            email=email,
            attended=attended,
            recorded_at=now,
        )
    row.attended = attended
    session.add(row)
    record_audit(
        session,
        at=now,
        actor=actor,
        round_id=view.round_def.id,
        kommunenummer=number,
        what="attendance recorded",
        detail={"event": event_key, "email": email, "attended": attended},
    )
