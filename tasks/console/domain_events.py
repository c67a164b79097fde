"""The trial's state changes as Prefect events (hendelser): an Event Feed per municipality.

Every change — application received, selected or rejected, letter queued or sent, agreement
received, participation live, payout paid or held — is emitted after it was committed, with
the municipality (``sio.kommune.<knr>``, role ``kommune``) and the round (``sio.round.<id>``, role
``round``) as related resources: the feed filtered on one resource shows one municipality's
history. The SQL audit log stays the record (Prefect keeps events for days, not years).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prefect.events import emit_event

from sio_domain.agendas import Agenda
from sio_domain.trial_state import TrialState
from tasks.storage.unit_of_work import AppliedAgenda

if TYPE_CHECKING:
    from tasks.payouts.payout_engine import PayoutResult

LETTER_EVENTS: Mapping[str, str] = {
    "application_received": "sio.application.received",
    "decision_offer": "sio.municipality.selected",
    "decision_rejection": "sio.municipality.rejected",
}
"""Letters that are themselves the visible trace of a change of state."""


def related(round_id: str, kommunenummer: str | None) -> list[dict[str, str]]:
    """The related resources of an event: the round, and the municipality when there is one."""
    result = [
        {
            "prefect.resource.id": f"sio.round.{round_id}",
            "prefect.resource.role": "round",
            "prefect.resource.name": round_id,
        }
    ]
    if kommunenummer:
        result.append(
            {
                "prefect.resource.id": f"sio.kommune.{kommunenummer}",
                "prefect.resource.role": "kommune",
                "prefect.resource.name": kommunenummer,
            }
        )
    return result


def domain_event(
    event: str,
    *,
    round_id: str,
    kommunenummer: str | None,
    subject: str,
    occurred: datetime,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One event as ``emit_event`` takes it: ``subject`` names the resource that changed.

    The event occurs when it is emitted (Prefect trims events by that time); the run's as-of
    instant, which may lie years back in a replayed round, is in the payload.
    """
    return {
        "event": event,
        "resource": {"prefect.resource.id": subject, "prefect.resource.name": subject},
        "related": related(round_id, kommunenummer),
        "payload": {**dict(payload or {}), "as_of": occurred.isoformat()},
    }


def applied_events(
    state: TrialState, agenda: Agenda, applied: AppliedAgenda
) -> list[dict[str, Any]]:
    """The events of one applied agenda: letters queued (and what they mark), facts recorded."""
    round_id = state.round_def.id
    letters = {letter.key: letter for letter in agenda.letters}
    events = []
    for key in applied.queued:
        letter = letters.get(key)
        if letter is None:
            continue
        common: dict[str, Any] = {
            "round_id": round_id,
            "kommunenummer": letter.kommunenummer,
            "occurred": state.as_of,
            "payload": {"key": key, "kind": letter.kind},
        }
        events.append(domain_event("sio.letter.queued", subject=f"sio.letter.{key}", **common))
        if letter.kind in LETTER_EVENTS:
            events.append(
                domain_event(
                    LETTER_EVENTS[letter.kind],
                    subject=f"sio.kommune.{letter.kommunenummer}",
                    **common,
                )
            )
    for recorded in applied.recorded:
        name, _, knr = recorded.partition(":")
        if name == "ParticipationWentLive":
            event, subject = "sio.participation.went-live", f"sio.kommune.{knr}"
        else:
            event, subject = "sio.application-window.closed", f"sio.round.{round_id}"
        events.append(
            domain_event(
                event,
                round_id=round_id,
                kommunenummer=knr or None,
                subject=subject,
                occurred=state.as_of,
            )
        )
    for letter in applied.unaddressed:
        events.append(
            domain_event(
                "sio.letter.unaddressed",
                round_id=round_id,
                kommunenummer=letter.kommunenummer,
                subject=f"sio.letter.{letter.key}",
                occurred=state.as_of,
                payload={"key": letter.key, "kind": letter.kind},
            )
        )
    return events


def emit_all(events: Iterable[Mapping[str, Any]]) -> int:
    """Emit each event; an event that cannot be emitted (no API) is dropped, never fatal."""
    count = 0
    for event in events:
        try:
            if emit_event(**event) is not None:
                count += 1
        except Exception:  # noqa: BLE001 — the audit log is the record; the feed is a view
            continue
    return count


def emit_applied(state: TrialState, agenda: Agenda, applied: AppliedAgenda) -> int:
    """The hook after a unit of work committed an agenda: its changes into the Event Feed."""
    return emit_all(applied_events(state, agenda, applied))


def emit_sent(database_url: str, round_id: str, keys: Iterable[str], at: datetime) -> int:
    """The hook after mail delivery: one ``sio.letter.sent`` per letter the server accepted."""
    from sqlmodel import col, select

    from tasks.storage.database import session_for
    from tasks.storage.tables import OutgoingMail

    wanted = list(keys)
    if not wanted:
        return 0
    with session_for(database_url) as session:
        rows = session.exec(
            select(OutgoingMail.key, OutgoingMail.kommunenummer, OutgoingMail.kind).where(
                col(OutgoingMail.key).in_(wanted)
            )
        ).all()
    return emit_all(
        domain_event(
            "sio.letter.sent",
            round_id=round_id,
            kommunenummer=knr,
            subject=f"sio.letter.{key}",
            occurred=at,
            payload={"key": key, "kind": kind},
        )
        for key, knr, kind in rows
    )


def payout_events(result: PayoutResult, at: datetime) -> list[dict[str, Any]]:
    """A paid run's events: ``sio.payout.paid`` per municipality paid, ``sio.payout.held`` per
    municipality held back (with the reasons), each about that municipality's payout of the quarter.

    Only a run that paid has them: a proposal awaiting approval has changed nothing yet.
    """
    if result.status != "paid":
        return []
    totals: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for line in result.lines:
        totals[line.kommunenummer] = totals.get(line.kommunenummer, Decimal("0.00")) + line.amount
        counts[line.kommunenummer] = counts.get(line.kommunenummer, 0) + 1
    events = [
        domain_event(
            "sio.payout.paid",
            round_id=result.round_id,
            kommunenummer=knr,
            subject=f"sio.payout.{result.round_id}.{result.run}.{knr}".lower(),
            occurred=at,
            payload={"run": result.run, "amount": f"{totals[knr]:.2f}", "lines": counts[knr]},
        )
        for knr in sorted(totals)
    ]
    events += [
        domain_event(
            "sio.payout.held",
            round_id=result.round_id,
            kommunenummer=held.kommunenummer,
            subject=f"sio.payout.{result.round_id}.{result.run}.{held.kommunenummer}".lower(),
            occurred=at,
            payload={"run": result.run, "reasons": list(held.reasons)},
        )
        for held in sorted(result.held, key=lambda h: h.kommunenummer)
    ]
    return events
