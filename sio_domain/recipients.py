"""Who receives a letter to a municipality (mottakere): the rule that keeps mail in its own house.

Design decision D, "recipients across mergers": a contact belongs to the kommunenummer it was
registered under — the number the contacts file gave, never re-resolved at import. A letter to a
municipality on date D goes to the contacts of the number in force on D. A successor with no
contacts of its own (in the roles the letter is for) uses its predecessors'. Nobody else receives
it: not a merger partner (Hobøl's mail never reaches Spydeberg, though both became Indre Østfold),
not a municipality that only later merged with it (Fusa's 2015 mail never reaches Os). A letter
with no recipient is not sent; staff are told instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sio_domain.municipality_registry import MunicipalityRegistry


@dataclass(frozen=True)
class ContactPerson:
    """A person at a municipality in one role, under the number the contacts file gave."""

    kommunenummer: str
    role: str
    email: str
    name: str = ""


@dataclass(frozen=True)
class Recipient:
    """One address a letter goes to, and the number its contact was registered under."""

    email: str
    kommunenummer: str
    role: str


def recipients_on(
    contacts: Iterable[ContactPerson],
    registry: MunicipalityRegistry,
    kommunenummer: str,
    on: date,
    roles: Sequence[str],
) -> list[Recipient]:
    """The recipients of a letter to ``kommunenummer`` dated ``on``, in ``roles`` order.

    ``kommunenummer`` may be any number the municipality has held; it is resolved to the number in
    force on ``on``. When that number cannot be placed (it did not exist yet and was formed from
    several), nobody receives the letter.
    """
    by_number: dict[str, list[ContactPerson]] = {}
    for contact in contacts:
        by_number.setdefault(contact.kommunenummer, []).append(contact)
    number = _in_force(registry, kommunenummer, on)
    if number is None:
        return []
    found = _in_roles(by_number.get(number, ()), roles)
    if found:
        return found
    predecessors = _ancestors(registry, number)
    return _in_roles([c for n in predecessors for c in by_number.get(n, ())], roles)


def _in_force(registry: MunicipalityRegistry, kommunenummer: str, on: date) -> str | None:
    if kommunenummer not in registry:
        return kommunenummer
    try:
        return registry.in_force(kommunenummer, on).kommunenummer
    except ValueError:
        return None


def _ancestors(registry: MunicipalityRegistry, number: str) -> list[str]:
    """Every predecessor of ``number`` (and theirs), nearest generation first, by number."""
    if number not in registry:
        return []
    result: list[str] = []
    generation = [number]
    while generation:
        generation = sorted(p.kommunenummer for n in generation for p in registry.predecessors(n))
        result += generation
    return result


def _in_roles(people: Sequence[ContactPerson], roles: Sequence[str]) -> list[Recipient]:
    result: list[Recipient] = []
    seen: set[str] = set()
    for role in roles:
        for person in people:
            address = person.email.casefold()
            if person.role == role and address not in seen:
                seen.add(address)
                result.append(Recipient(person.email, person.kommunenummer, role))
    return result
