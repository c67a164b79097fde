"""The application database's tables: the trial's own state, kept by sio rather than by Prefect.

A trial round lasts years (invitation, selection, agreements, quarterly payouts until the trial
ends); a Prefect flow run lasts seconds. Prefect's database records what ran and when, and may be
reset, pruned or moved to another server. What the directorate must still know in five years —
which municipalities applied, what was decided and signed, every payout line — lives here, in
tables sio owns and migrates itself (tasks/migrations/), so flows can be re-run, replaced or
rescheduled without losing or repeating anything.

How to grow: one `SQLModel` class per table, named `...Record`, with a new Alembic revision in
tasks/migrations/versions/ for every change (README there). When this module passes ~150 lines,
turn it into a package `tasks/tables/` whose `__init__` imports every module, so that
`SQLModel.metadata` still sees all tables after `import tasks.tables`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import CheckConstraint, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Predictable constraint names, so later migrations (batch mode on SQLite) can name what they drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that stores UTC and always gives back aware UTC datetimes.

    SQLite has no time-zone type and would hand back naive values; PostgreSQL hands back the
    session's zone. A naive datetime is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; sio stores aware times")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MunicipalityRecord(SQLModel, table=True):
    """A municipality (kommune) under one number, from the `municipalities` import.

    Municipalities merge and are renumbered; `valid_to` and `successor` let any number a
    municipality has held be resolved to the one in force on a given date (INTERFACE.md).
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
