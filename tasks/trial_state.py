"""Reading a round's state from the database into the pure ``TrialState``.

Municipalities are renumbered and merged (DOMAIN.md), so rows written at different times may carry
different numbers for the same municipality: 1714 on the 2015 application, 5035 on a contact
imported in 2026. Everything is compared under the number in force on the round's reference day
(the application deadline, or go-live), through the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session, select

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.obligations import Participant, TrialState
from sio_domain.plan import PlanEvent, build_plan
from sio_domain.round_definition import RoundDefinition
from tasks.tables import (
    ActivityStatus,
    ApplicationRecord,
    ContactRecord,
    ParticipationRecord,
    ReplyRecord,
    SelectionDecisionRecord,
    SignatureRecord,
)


def reference_day(round_def: RoundDefinition) -> date:
    """The day whose kommunenummer a round's rows are compared under."""
    m = round_def.milestones
    return (m.application_deadline or m.selection_deadline or m.go_live).date


@dataclass(frozen=True)
class RoundView:
    """A round's state plus what the stages need around it: names, standards, contacts."""

    round_def: RoundDefinition
    registry: MunicipalityRegistry
    state: TrialState
    contacts: dict[str, list[ContactRecord]]

    def canonical(self, kommunenummer: str) -> str:
        """The number the municipality had on the round's reference day (or the given one)."""
        return canonical_number(self.registry, kommunenummer, reference_day(self.round_def))

    def name(self, kommunenummer: str) -> str:
        """The municipality's name for letters: without a disambiguation like "(Hordaland)"."""
        if kommunenummer not in self.registry:
            return kommunenummer
        return self.registry.get(kommunenummer).name.split(" (")[0]

    def written_standard(self, kommunenummer: str) -> str:
        """Bokmål or nynorsk: the standard of the number in force now, else the given one."""
        if kommunenummer not in self.registry:
            return "bokmål"
        return self.registry.get(kommunenummer).written_standard

    def recipients(self, kommunenummer: str, roles: Sequence[str]) -> list[str]:
        """E-mail addresses of the municipality's contacts in the given roles, in role order.

        Contacts registered under any number the municipality has held count (Os 1243 is written
        to at the addresses Bjørnafjorden 4624 registered after the merger).
        """
        numbers = [kommunenummer]
        if kommunenummer in self.registry:
            numbers += [n for n in self.registry.lineage(kommunenummer) if n != kommunenummer]
        people = [p for n in numbers for p in self.contacts.get(n, [])]
        addresses: list[str] = []
        for role in roles:
            for person in people:
                if person.role == role and person.email not in addresses:
                    addresses.append(person.email)
        return addresses

    def plan_for(self, kommunenummer: str, model: str | None = None) -> list[PlanEvent]:
        """The municipality's own plan in this round."""
        return build_plan(
            self.round_def,
            model=model,  # type: ignore[arg-type]
            municipality=kommunenummer,
            held_numbers=self.registry.lineage(kommunenummer)
            if kommunenummer in self.registry
            else (),
        )


def canonical_number(registry: MunicipalityRegistry, kommunenummer: str, on: date) -> str:
    """``kommunenummer`` resolved to the number in force on ``on``, when that is unambiguous."""
    if kommunenummer not in registry:
        return kommunenummer
    try:
        return registry.in_force(kommunenummer, on).kommunenummer
    except ValueError:
        return kommunenummer


def _held_on(registry: MunicipalityRegistry, kommunenummer: str, on: date) -> list[str]:
    """The number(s) that stood for this municipality on a day.

    One number when it resolves unambiguously; for a municipality formed by a later merger, every
    predecessor that existed then (Bjørnafjorden 4624 stands for Os 1243 and Fusa 1241 in 2015).
    """
    if kommunenummer not in registry:
        return [kommunenummer]
    try:
        return [registry.in_force(kommunenummer, on).kommunenummer]
    except ValueError:
        return [
            number
            for predecessor in registry.predecessors(kommunenummer)
            for number in _held_on(registry, predecessor.kommunenummer, on)
        ]


def load_round_view(
    session: Session,
    round_def: RoundDefinition,
    registry: MunicipalityRegistry,
    as_of: datetime | None = None,
) -> RoundView:
    """The round's state; with ``as_of``, only what had happened by then counts as done.

    Submissions dated after ``as_of`` (an application, a reply, a returned agreement, an activity)
    are left out, so a run at a past instant sees the trial as it stood then.
    """
    day = reference_day(round_def)
    until = (as_of or datetime(9000, 1, 1, tzinfo=UTC)).astimezone(OSLO)
    until_day = until.date()

    def canon(number: str) -> str:
        return canonical_number(registry, number, day)

    rid = round_def.id
    contacts: dict[str, list[ContactRecord]] = {}
    for contact in session.exec(select(ContactRecord).order_by("id")):
        contacts.setdefault(contact.kommunenummer, []).append(contact)
    if round_def.invited == "all":
        candidates = frozenset(
            number
            for contact_number in contacts
            for number in _held_on(registry, contact_number, day)
        )
    else:
        candidates = frozenset(canon(n) for n in round_def.invited)
    applied = {
        canon(a.kommunenummer): a.submitted_at
        for a in session.exec(select(ApplicationRecord).where(ApplicationRecord.round_id == rid))
        if a.submitted_at <= until
    }
    decisions = list(
        session.exec(select(SelectionDecisionRecord).where(SelectionDecisionRecord.round_id == rid))
    )
    selected = {
        canon(d.kommunenummer): d.model or "" for d in decisions if d.decision == "selected"
    }
    rejected = frozenset(canon(d.kommunenummer) for d in decisions if d.decision == "rejected")
    replies = {
        canon(r.kommunenummer): (r.accepted, r.replied_on)
        for r in session.exec(select(ReplyRecord).where(ReplyRecord.round_id == rid))
        if r.replied_on <= until_day
    }
    returned = {
        canon(s.kommunenummer): s.received_on
        for s in session.exec(
            select(SignatureRecord).where(
                SignatureRecord.round_id == rid, SignatureRecord.party == "municipality"
            )
        )
        if s.received_on <= until_day
    }
    done = {
        (canon(a.kommunenummer), a.activity_key): a.done_on
        for a in session.exec(select(ActivityStatus).where(ActivityStatus.round_id == rid))
        if a.done_on <= until_day
    }
    view = RoundView(round_def, registry, TrialState(frozenset()), contacts)
    participants = {}
    for p in session.exec(select(ParticipationRecord).where(ParticipationRecord.round_id == rid)):
        number = canon(p.kommunenummer)
        participants[number] = Participant(number, p.model, tuple(view.plan_for(number, p.model)))
    state = TrialState(
        candidates=candidates | frozenset(applied),
        applied=applied,
        selected=selected,
        rejected=rejected,
        replies=replies,
        returned_agreements=returned,
        done=done,
        participants=participants,
    )
    return RoundView(round_def, registry, state, contacts)
