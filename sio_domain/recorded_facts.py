"""Rules for facts recorded from outside sio: replies, signatures, agreed meeting times.

Why pure: whether a returned agreement is late, or a meeting may be moved to a day, are rules of the
trial (seed 000, seed 002, the deadline rule of domstolloven § 149) — decided here, tested without a
database; ``tasks.records.lifecycle_records`` only stores what these functions allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sio_domain.norwegian_calendar import OSLO, effective_deadline, is_working_day
from sio_domain.plan import PlanEvent
from sio_domain.round_definition import RoundDefinition

PARTIES = ("municipality", "directorate")


class FactRefused(ValueError):
    """A fact that cannot be recorded; the message names the option and the value."""


def reply_is_late(round_def: RoundDefinition, on: date) -> bool:
    """A reply after the (rolled) reply deadline is accepted and flagged late (seed 002)."""
    deadline = round_def.milestones.reply_deadline
    if deadline is None:
        raise FactRefused(f"round {round_def.id}: has no reply deadline (no offer to reply to)")
    return on > effective_deadline(deadline.date)


def check_signature(
    party: str, *, signed_on: date, received_on: date, place: str, signatory: str, today: date
) -> None:
    """Refuse a signature that cannot be: unknown party, empty fields, received before signed."""
    if party not in PARTIES:
        raise FactRefused(f"--party: {party!r} is not municipality or directorate")
    if not place.strip():
        raise FactRefused("--place: must not be empty")
    if not signatory.strip():
        raise FactRefused("--signatory: must not be empty")
    if received_on < signed_on:
        raise FactRefused(
            f"--received-on: {received_on.isoformat()} is before"
            f" --signed-on {signed_on.isoformat()}"
        )
    if signed_on > today:
        raise FactRefused(f"--signed-on: {signed_on.isoformat()} is in the future")


def signature_is_late(round_def: RoundDefinition, party: str, received_on: date) -> bool:
    """The agreement deadline is a return date (seed 000): judged on receipt, municipality only."""
    deadline = round_def.milestones.agreement_deadline
    return (
        party == "municipality"
        and deadline is not None
        and received_on > effective_deadline(deadline.date)
    )


def meeting_move(
    plan: Sequence[PlanEvent], month: str, start: datetime, kommunenummer: str
) -> tuple[PlanEvent, datetime, datetime]:
    """The status meeting of ``month`` moved to ``start``: (meeting, start, end).

    Seed 000: «Tidspunkt avtales med den enkelte kommune» — a meeting keeps its length and its
    month, and is held on a working day.
    """
    meeting = next(
        (e for e in plan if e.kind == "status_meeting" and e.key.endswith(f":{month}")), None
    )
    if meeting is None:
        raise FactRefused(f"--month: {month} has no status meeting for {kommunenummer}")
    assert isinstance(meeting.start, datetime) and isinstance(meeting.end, datetime)
    local = start.astimezone(OSLO)
    if not is_working_day(local.date()):
        raise FactRefused(
            f"--start: {local.date().isoformat()} is not a working day (meetings are held on "
            "working days)"
        )
    if local.strftime("%Y-%m") != month:
        raise FactRefused(f"--start: {local.date().isoformat()} is not in --month {month}")
    return meeting, start, start + (meeting.end - meeting.start)
