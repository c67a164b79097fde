"""Who the trial deals with: municipalities under their dated numbers, and their contacts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class MunicipalityRecord(SQLModel, table=True):
    """A municipality (kommune) under one number, from the `municipalities` import.

    Municipalities merge and are renumbered; `valid_to` and `successor` let any number a
    municipality has held be resolved to the one in force on a given date (the command contract).
    `imported_at` is passed in by the importer (simulated time in `sio simulate`), never defaulted.
    """

    __tablename__ = "municipality"
    __table_args__ = (
        CheckConstraint("length(kommunenummer) = 4", name="kommunenummer_length"),
        CheckConstraint("written_standard IN ('bokmål', 'nynorsk')", name="written_standard"),
    )

    kommunenummer: str = Field(primary_key=True, max_length=4)
    name: str
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = Field(default=None, max_length=4)
    written_standard: str = Field(description="målform: 'bokmål' or 'nynorsk'")
    imported_at: datetime = Field(sa_type=UtcDateTime)
    source_file: str


class ContactRecord(SQLModel, table=True):
    """A person at a municipality who receives the trial's mail, in one role.

    Roles : contact person (kontaktperson), project leader (prosjektleder), chief
    executive (rådmann/kommunedirektør), finance officer (økonomiansvarlig), allocation officer
    (tildelingskontor), service manager (virksomhetsleder).
    """

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("kommunenummer", "role", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    kommunenummer: str = Field(max_length=4, index=True)
    name: str
    role: str
    email: str
    phone: str | None = None
    imported_at: datetime = Field(sa_type=UtcDateTime)
