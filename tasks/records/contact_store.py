"""The people at each municipality who receive the trial's mail, in the application database.

A contact is one person in one role at one municipality; the person is known by e-mail address
(the table's key is municipality, role and address). Importing the same person in the same role
again updates the name and telephone number instead of adding a second row, so a corrected
contacts file can simply be imported again. Roles ("Contact roles"): contact person
(kontaktperson), project leader (prosjektleder), chief executive (rådmann/kommunedirektør — one
role, two titles), finance officer (økonomiansvarlig), allocation officer (tildelingskontor),
service manager (virksomhetsleder); gatherings name their audience by role (seed 000, rows 6–7).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import func
from sqlmodel import Session, col, select

from sio_domain.round_definition import Role
from tasks.storage.audit import record_audit
from tasks.storage.tables import ContactRecord

ROLES: tuple[Role, ...] = get_args(Role)

ContactChange = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True)
class ContactEntry:
    """One contact as read from a file, its municipality resolved to the number in force."""

    kommunenummer: str
    name: str
    role: Role
    email: str
    phone: str | None


def contact_of(session: Session, kommunenummer: str, role: str, email: str) -> ContactRecord | None:
    """The stored contact with this municipality, role and address (address case ignored)."""
    statement = select(ContactRecord).where(
        ContactRecord.kommunenummer == kommunenummer,
        ContactRecord.role == role,
        func.lower(ContactRecord.email) == email.lower(),
    )
    return session.exec(statement).first()


def save_contact(
    session: Session, entry: ContactEntry, *, now: datetime, actor: str, source: str
) -> ContactChange:
    """Add the contact, or update the name and phone of the same person in the same role."""
    record = contact_of(session, entry.kommunenummer, entry.role, entry.email)
    if record is not None and (record.name, record.phone) == (entry.name, entry.phone):
        return "unchanged"
    change: ContactChange = "added" if record is None else "updated"
    if record is None:
        record = ContactRecord(
            kommunenummer=entry.kommunenummer,
            name=entry.name,
            role=entry.role,
            email=entry.email,
            phone=entry.phone,
            imported_at=now,
        )
    else:
        record.name, record.phone, record.imported_at = entry.name, entry.phone, now
    session.add(record)
    record_audit(
        session,
        at=now,
        actor=actor,
        what=f"contact_{change}",
        kommunenummer=entry.kommunenummer,
        detail={"role": entry.role, "email": entry.email, "name": entry.name, "source": source},
    )
    return change


def contacts_of(
    session: Session, numbers: Sequence[str], roles: Collection[str] | None = None
) -> list[ContactRecord]:
    """Contacts stored under any of ``numbers`` (e.g. a municipality's held numbers), by role."""
    statement = select(ContactRecord).where(col(ContactRecord.kommunenummer).in_(list(numbers)))
    if roles is not None:
        statement = statement.where(col(ContactRecord.role).in_(list(roles)))
    ordered = statement.order_by(col(ContactRecord.role), col(ContactRecord.email))
    return list(session.exec(ordered).all())
