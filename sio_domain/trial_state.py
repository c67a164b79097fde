"""The trial's state as of one instant (tilstanden i forsøket): one typed value, no database.

Why one value: every stage decides *what is due* from the same facts, and a run at instant T may
use only what was known at T (design decision D, "as-of truth"): an application counts from its
``submitted_at``, a returned agreement from the day the directorate received it, a decision from
the day it was taken, an activity from the day it was done. The loader in ``tasks`` filters the
rows by those times; everything here is pure, so every rule that reads the state is tested without
a database.

Numbers: a round's rows are kept under the number the municipality had on the round's reference
day (the application deadline, else the selection, else go-live), so 1714 is Stjørdal throughout
round 2016 although it became 5035 in 2018. Letters are addressed by the number in force on the
letter's date (:meth:`TrialState.recipients`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.plan import PlanEvent, PlanOverrides, build_plan
from sio_domain.recipients import ContactPerson, Recipient, recipients_on
from sio_domain.replanning import ReplanDecision, event_moves
from sio_domain.round_definition import Model, RoundDefinition


@dataclass(frozen=True)
class ApplicationFact:
    """An application (søknad) as received: when, whether late, and the criteria findings."""

    kommunenummer: str
    submitted_at: datetime
    late: bool
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecisionFact:
    """The decision on one application: selected with a model, or rejected (with a reason)."""

    kommunenummer: str
    decision: str
    model: Model | None
    decided_by: str
    decided_on: date
    reason: str | None = None

    @property
    def selected(self) -> bool:
        return self.decision == "selected"


@dataclass(frozen=True)
class SignatureFact:
    """One party's signature on the cooperation agreement (seed 000: two signed copies)."""

    kommunenummer: str
    party: str
    signed_on: date
    received_on: date
    late: bool


@dataclass(frozen=True)
class ParticipationFact:
    """A selected municipality's participation (deltakelse) and its dated values."""

    kommunenummer: str
    model: Model
    start: date
    end: date
    abf_start: date | None
    live_since: datetime | None = None


@dataclass(frozen=True)
class Announcement:
    """An invitation (or cancellation) already sent for one event to one municipality.

    ``sequence`` is the iCalendar SEQUENCE it carried: every later change of the event is sent with
    a higher one and the same UID, so calendars update the entry (RFC 5546).
    """

    kommunenummer: str
    event_key: str
    sequence: int
    start: datetime
    end: datetime
    method: str  # REQUEST | CANCEL
    mail_key: str


@dataclass(frozen=True)
class TrialState:
    """What was known about one round at ``as_of``."""

    round_def: RoundDefinition
    registry: MunicipalityRegistry
    as_of: datetime
    contacts: tuple[ContactPerson, ...] = ()
    applications: Mapping[str, ApplicationFact] = field(default_factory=dict)
    decisions: Mapping[str, DecisionFact] = field(default_factory=dict)
    replies: Mapping[str, tuple[bool, date]] = field(default_factory=dict)
    signatures: Mapping[tuple[str, str], SignatureFact] = field(default_factory=dict)
    done: Mapping[tuple[str, str], date] = field(default_factory=dict)
    participations: Mapping[str, ParticipationFact] = field(default_factory=dict)
    meeting_times: Mapping[tuple[str, str], tuple[datetime, datetime]] = field(default_factory=dict)
    announcements: Mapping[tuple[str, str], tuple[Announcement, ...]] = field(default_factory=dict)
    sent_keys: frozenset[str] = frozenset()
    announced_at: Mapping[str, datetime] = field(default_factory=dict)
    """Outbox key of an announcement → when it was queued."""
    marks: frozenset[str] = frozenset()
    original_round: RoundDefinition | None = None
    """The round as its file has it, before replanning: to find what was announced earlier."""
    replans: tuple[ReplanDecision, ...] = ()
    """Replanning decisions known at ``as_of`` (the round definition already has the round-wide
    ones applied; event moves and cancellations apply through :meth:`planned_event`)."""
    _plans: dict[str, tuple[PlanEvent, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def today(self) -> date:
        """The run's calendar day in Europe/Oslo."""
        return self.as_of.astimezone(OSLO).date()

    @property
    def reference_day(self) -> date:
        """The day whose kommunenummer the round's rows are kept under."""
        m = self.round_def.milestones
        return (m.application_deadline or m.selection_deadline or m.go_live).date

    def canonical(self, kommunenummer: str) -> str:
        """``kommunenummer`` as the number it was on the round's reference day, when unambiguous."""
        return number_on(self.registry, kommunenummer, self.reference_day)

    def number_on(self, kommunenummer: str, day: date) -> str:
        """The number in force on ``day`` for this municipality (itself when it cannot move)."""
        return number_on(self.registry, kommunenummer, day)

    def name(self, kommunenummer: str) -> str:
        """The registry name, e.g. ``Os (Hordaland)``: letters drop the bracket when writing it."""
        if kommunenummer not in self.registry:
            return kommunenummer
        return self.registry.get(kommunenummer).name

    def written_standard(self, kommunenummer: str, on: date | None = None) -> str:
        """Bokmål or nynorsk: the standard of the number in force on ``on`` (default: today)."""
        number = self.number_on(kommunenummer, on or self.today)
        if number not in self.registry:
            return "bokmål"
        return self.registry.get(number).written_standard

    def recipients(
        self, kommunenummer: str, roles: Sequence[str], on: date | None = None
    ) -> list[Recipient]:
        """Who receives a letter to this municipality on ``on`` (default today), role by role.

        The contacts of the number in force that day; a successor without such contacts of its own
        uses its predecessors' (design decision D, "recipients across mergers"). Nobody else.
        """
        return recipients_on(self.contacts, self.registry, kommunenummer, on or self.today, roles)

    @property
    def applied(self) -> Mapping[str, datetime]:
        """Municipality → when it applied, for the applications known at ``as_of``."""
        return {number: a.submitted_at for number, a in self.applications.items()}

    @property
    def selected(self) -> dict[str, Model]:
        """Selected municipalities and their model."""
        return {
            number: d.model
            for number, d in self.decisions.items()
            if d.selected and d.model is not None
        }

    @property
    def rejected(self) -> frozenset[str]:
        return frozenset(number for number, d in self.decisions.items() if not d.selected)

    def returned_agreement(self, kommunenummer: str) -> date | None:
        """When the directorate received the municipality's signed copy, if it has."""
        signature = self.signatures.get((kommunenummer, "municipality"))
        return signature.received_on if signature else None

    def candidates(self) -> frozenset[str]:
        """Municipalities that may apply: the invited list, or (invited = all) those with contacts.

        With ``invited = "all"`` a municipality is a candidate when a contact is registered under
        the number it had on the reference day: contacts registered only under a later merged
        number (Bjørnafjorden 4624) do not make its predecessors (Os, Fusa) candidates in 2015.
        """
        if self.round_def.invited != "all":
            invited = frozenset(self.canonical(n) for n in self.round_def.invited)
        else:
            invited = frozenset(
                self.canonical(contact.kommunenummer)
                for contact in self.contacts
                if _held_then(self.registry, contact.kommunenummer, self.reference_day)
            )
        return invited | frozenset(self.applications)

    def plan_for(self, kommunenummer: str, model: str | None = None) -> tuple[PlanEvent, ...]:
        """The municipality's own plan in this round (built once per state)."""
        found = self._plans.get(kommunenummer)
        if found is None:
            participation = self.participations.get(kommunenummer)
            chosen = model or (participation.model if participation else None)
            held = self.registry.lineage(kommunenummer) if kommunenummer in self.registry else ()
            found = tuple(
                build_plan(
                    self.round_def,
                    model=chosen,  # type: ignore[arg-type]
                    municipality=kommunenummer,
                    held_numbers=held,
                    overrides=PlanOverrides(),
                )
            )
            self._plans[kommunenummer] = found
        return found

    def round_plan(self) -> tuple[PlanEvent, ...]:
        """The round's plan for every model (milestones, deadlines, gatherings)."""
        found = self._plans.get("")
        if found is None:
            found = self._plans[""] = tuple(build_plan(self.round_def))
        return found

    def announced_event(self, kommunenummer: str, event_key: str) -> PlanEvent | None:
        """An event as planned before any replanning (a cancelled or dropped event included)."""
        plans = [self.plan_for(kommunenummer), self.round_plan()]
        if self.original_round is not None:
            milestones = self.original_round.milestones.model_copy(update={"early_end": None})
            original = self.original_round.model_copy(update={"milestones": milestones})
            participation = self.participations.get(kommunenummer)
            held = self.registry.lineage(kommunenummer) if kommunenummer in self.registry else ()
            plans.append(
                tuple(
                    build_plan(
                        original,
                        model=participation.model if participation else None,
                        municipality=kommunenummer if participation else None,
                        held_numbers=held if participation else (),
                    )
                )
            )
        return next((e for plan in plans for e in plan if e.key == event_key), None)

    def planned_event(self, kommunenummer: str, event: PlanEvent) -> PlanEvent | None:
        """The event as it now stands for one municipality: agreed or replanned time; None when
        cancelled (seed 000: «Tidspunkt avtales med den enkelte kommune»)."""
        moves = event_moves(self.replans, kommunenummer, self.today)
        if event.key in moves:
            start = moves[event.key]
            if start is None:
                return None
            return moved_event(event, start)
        agreed = self.meeting_times.get((kommunenummer, event.key))
        if agreed is not None:
            return event.model_copy(
                update={
                    "start": agreed[0].astimezone(OSLO),
                    "end": agreed[1].astimezone(OSLO),
                    "firm": True,
                }
            )
        return event

    def end_known_on(self, day: date) -> date:
        """The trial's last day as a letter dated ``day`` may state it.

        An early end (seed 000 §1.3: «Stortinget ensidig kan bestemme om forsøket skal opphøre
        tidligere») is stated only from the day it was decided; before, letters state the end
        agreed (seed 001: «ut 2022»).
        """
        m = self.round_def.milestones
        if m.early_end is not None and (m.early_end.decided_on or m.early_end.date) <= day:
            return m.early_end.date
        return m.end.date


def moved_event(event: PlanEvent, start: datetime) -> PlanEvent:
    """The event at a new start, keeping its length (an all-day event becomes that day)."""
    local = start.astimezone(OSLO)
    if isinstance(event.start, datetime) and isinstance(event.end, datetime):
        return event.model_copy(
            update={"start": local, "end": local + (event.end - event.start), "firm": True}
        )
    length = _day(event.end) - _day(event.start)
    return event.model_copy(
        update={"start": local.date(), "end": local.date() + length, "firm": True}
    )


def _day(value: date | datetime) -> date:
    return value.astimezone(OSLO).date() if isinstance(value, datetime) else value


def number_on(registry: MunicipalityRegistry, kommunenummer: str, day: date) -> str:
    """The number in force on ``day``; the number itself when the registry cannot place it."""
    if kommunenummer not in registry:
        return kommunenummer
    try:
        return registry.in_force(kommunenummer, day).kommunenummer
    except ValueError:
        return kommunenummer


def _held_then(registry: MunicipalityRegistry, kommunenummer: str, day: date) -> bool:
    """Whether the number a contact is registered under is one municipality on ``day``."""
    if kommunenummer not in registry:
        return False
    try:
        registry.in_force(kommunenummer, day)
    except ValueError:
        return False
    return True
