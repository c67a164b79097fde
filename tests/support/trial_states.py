"""Building a ``TrialState`` by hand for pure tests: the shipped registry and round files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.recipients import ContactPerson
from sio_domain.trial_state import (
    Announcement,
    ApplicationFact,
    DecisionFact,
    ParticipationFact,
    SignatureFact,
    TrialState,
)
from tasks.intake.round_files import load_round
from tasks.records.application_store import participation_dates
from tasks.records.municipality_lookup import shipped_versions


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


def contact(knr: str, role: str = "contact_person", email: str | None = None) -> ContactPerson:
    return ContactPerson(knr, role, email or f"{role}@{knr}.kommune.no", f"{role} {knr}")


def trial_state(
    round_id: str,
    as_of: datetime,
    *,
    contacts: Iterable[ContactPerson] = (),
    applied: Mapping[str, datetime] = (),  # type: ignore[assignment]
    late: Iterable[str] = (),
    findings: Mapping[str, tuple[str, ...]] = (),  # type: ignore[assignment]
    selected: Mapping[str, str] = (),  # type: ignore[assignment]
    rejected: Iterable[str] = (),
    decided_on: date | None = None,
    signed: Mapping[str, date] = (),  # type: ignore[assignment]
    done: Mapping[tuple[str, str], date] = (),  # type: ignore[assignment]
    meeting_times: Mapping[tuple[str, str], tuple[datetime, datetime]] = (),  # type: ignore[assignment]
    announcements: Iterable[Announcement] = (),
    announced_at: Mapping[str, datetime] = (),  # type: ignore[assignment]
    sent_keys: Iterable[str] = (),
) -> TrialState:
    """A state as the loader would give it; participations follow from the selection."""
    round_def = load_round(round_id)
    registry = shipped_registry()
    applied = dict(applied)
    findings = dict(findings)
    late = set(late)
    when = decided_on or as_of.astimezone(OSLO).date()
    decisions = {
        knr: DecisionFact(knr, "selected", model, round_def.selection_decided_by, when)  # type: ignore[arg-type]
        for knr, model in dict(selected).items()
    } | {
        knr: DecisionFact(knr, "rejected", None, round_def.selection_decided_by, when)
        for knr in rejected
    }
    participations = {}
    for knr, model in dict(selected).items():
        start, end, abf = participation_dates(round_def, knr, model, registry)  # type: ignore[arg-type]
        participations[knr] = ParticipationFact(knr, model, start, end, abf)  # type: ignore[arg-type]
    signatures = {
        (knr, "municipality"): SignatureFact(knr, "municipality", day, day, False)
        for knr, day in dict(signed).items()
    }
    grouped: dict[tuple[str, str], list[Announcement]] = {}
    for item in announcements:
        grouped.setdefault((item.kommunenummer, item.event_key), []).append(item)
    return TrialState(
        round_def,
        registry,
        as_of,
        contacts=tuple(contacts),
        applications={
            knr: ApplicationFact(knr, when_, knr in late, tuple(findings.get(knr, ())))
            for knr, when_ in applied.items()
        },
        decisions=decisions,
        signatures=signatures,
        done=dict(done),
        participations=participations,
        meeting_times=dict(meeting_times),
        announcements={key: tuple(items) for key, items in grouped.items()},
        announced_at=dict(announced_at),
        sent_keys=frozenset(sent_keys),
    )


def shipped_registry() -> MunicipalityRegistry:
    """The shipped registry alone: a pure test must not read whatever database SIO_HOME points at
    (``municipality_lookup.registry()`` adds the rows imported there)."""
    return MunicipalityRegistry(list(shipped_versions()))
