"""What is due (det som forfaller): per stage, the letters to send and the changes to record.

Each stage of the trial — the application window, the decision letters, signing, gatherings,
status meetings, go-live, the reminder sweep — is one pure function from the trial's state as of an
instant (:class:`sio_domain.trial_state.TrialState`) to an :class:`Agenda`. The rules that decide
*who gets which letter, when* — lateness, audiences, due times, closing the window — live there and
nowhere else; ``tasks`` only loads the state, applies the agenda idempotently and sends the mail.

Facts are named in the past tense (``ApplicationWindowClosed``, ``ParticipationWentLive``): they
say what happened at the run's instant, and applying one twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Literal

from sio_domain.norwegian_calendar import OSLO
from sio_domain.plan import PlanEvent
from sio_domain.round_definition import Model

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class CalendarEntry:
    """The calendar invitation a letter carries: the event as announced, its SEQUENCE and method."""

    event: PlanEvent
    sequence: int
    method: Method = "REQUEST"
    announces: bool = True
    """False for a reminder: it repeats the announced entry and records nothing new."""


@dataclass(frozen=True)
class Letter:
    """One letter due: to a municipality's contacts in ``roles``, or to staff (``to_staff``).

    ``kommunenummer`` is the municipality the letter concerns, under the round's number; the
    recipients are found on the letter's date (:meth:`TrialState.recipients`). ``key`` makes it go
    once, whatever the number of runs.
    """

    key: str
    kind: str
    kommunenummer: str | None
    roles: tuple[str, ...]
    due_at: datetime
    context: Mapping[str, Any]
    obligation: str | None = None
    calendar: CalendarEntry | None = None
    agreement_model: Model | None = None
    to_staff: bool = False


@dataclass(frozen=True)
class ApplicationWindowClosed:
    """The application window closed at ``at`` (the end of the effective deadline day)."""

    at: datetime
    applications: int
    late: int
    not_applied: tuple[str, ...]


@dataclass(frozen=True)
class ParticipationWentLive:
    """A participation went live (oppstart) on its start date, with what was not done by then."""

    kommunenummer: str
    on: date
    not_done: tuple[str, ...] = ()


Fact = ApplicationWindowClosed | ParticipationWentLive


@dataclass(frozen=True)
class Agenda:
    """What one stage has to do at one instant: letters, facts, and rows for the run's summary."""

    stage: str
    letters: tuple[Letter, ...] = ()
    facts: tuple[Fact, ...] = ()
    rows: tuple[Mapping[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())


def only_for(agenda: Agenda, kommunenummer: str | None) -> Agenda:
    """The part of ``agenda`` concerning one municipality (``sio run --kommune``); all if None."""
    if kommunenummer is None:
        return agenda
    return replace(
        agenda,
        letters=tuple(letter for letter in agenda.letters if letter.kommunenummer == kommunenummer),
        facts=tuple(
            fact
            for fact in agenda.facts
            if getattr(fact, "kommunenummer", kommunenummer) == kommunenummer
        ),
        rows=tuple(row for row in agenda.rows if row.get("kommunenummer") == kommunenummer),
    )


def send_instant(day: date, at: time) -> datetime:
    """The instant mail of ``day`` becomes due: ``at`` (the round's send time) Europe/Oslo."""
    return datetime.combine(day, at, tzinfo=OSLO)
