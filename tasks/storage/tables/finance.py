"""Financing data and the append-only payout ledger.

Money is stored as whole øre (integers): exact on SQLite and PostgreSQL alike, and summable in SQL.
Activity units are stored in hundredths for the same reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class ExpenditureRecord(SQLModel, table=True):
    """Net operating expenditure (netto driftsutgifter) on one KOSTRA function in one year."""

    __tablename__ = "expenditure"
    __table_args__ = (UniqueConstraint("kommunenummer", "year", "function"),)

    id: int | None = Field(default=None, primary_key=True)
    kommunenummer: str = Field(max_length=4)
    year: int
    function: str
    amount_ore: int = Field(sa_column=Column(BigInteger, nullable=False))
    imported_at: datetime = Field(sa_type=UtcDateTime)


class ActivityReport(SQLModel, table=True):
    """Reported activity: units of one service in one month, as reported at ``reported_at``.

    Append-only: a later report for the same month and service supersedes the earlier one from
    its ``reported_at`` on, so a payout run can settle from "the activity reported by then".
    """

    __tablename__ = "activity_report"

    id: int | None = Field(default=None, primary_key=True)
    kommunenummer: str = Field(max_length=4, index=True)
    month: str = Field(index=True)  # YYYY-MM
    service_code: str
    units_hundredths: int = Field(sa_column=Column(BigInteger, nullable=False))
    reported_at: datetime = Field(sa_type=UtcDateTime, index=True)
    batch: str


class AdjustmentRecord(SQLModel, table=True):
    """An extraordinary payment or claw-back decided outside the model (``sio adjust``)."""

    __tablename__ = "adjustment"

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    period: str
    amount_ore: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str
    entered_at: datetime = Field(sa_type=UtcDateTime)
    entered_by: str


class SystemAdaptationClaim(SQLModel, table=True):
    """Documented cost of adapting the case system (fagsystem) for price coding (seed 000 §1.4)."""

    __tablename__ = "system_adaptation_claim"

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4)
    amount_ore: int = Field(sa_column=Column(BigInteger, nullable=False))
    documentation: str
    entered_at: datetime = Field(sa_type=UtcDateTime)


class PayoutRunRecord(SQLModel, table=True):
    """A quarterly payout run (utbetalingskjøring) and when it finished."""

    __tablename__ = "payout_run"
    __table_args__ = (UniqueConstraint("round_id", "run"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str
    run: str  # YYYYQn
    as_of: datetime = Field(sa_type=UtcDateTime)
    started_at: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lines: int = 0
    total_ore: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class LedgerLineRecord(SQLModel, table=True):
    """One payout line. Append-only: never updated or deleted once written.

    ``line_key`` is unique over (round, municipality, period, component, run, corrected line or
    adjustment): a re-run, retry or crash-and-rerun cannot pay the same thing twice.
    """

    __tablename__ = "ledger_line"

    id: int | None = Field(default=None, primary_key=True)
    line_key: str = Field(unique=True)
    round_id: str = Field(index=True)
    kommunenummer: str = Field(max_length=4, index=True)
    municipality: str
    model: str
    run: str = Field(index=True)
    period: str
    component: str
    amount_ore: int = Field(sa_column=Column(BigInteger, nullable=False))
    corrects: int | None = None
    basis: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)


class PayoutProposalRecord(SQLModel, table=True):
    """The current proposal of a payout run awaiting approval (one per round and quarter).

    Replaced when a new computation of the run gives another fingerprint; ``proposed_at`` is
    the run's as-of instant, the one its lines and statements are dated at once approved.
    """

    __tablename__ = "payout_proposal"
    __table_args__ = (UniqueConstraint("round_id", "run"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str
    run: str  # YYYYQn
    fingerprint: str
    as_of: datetime = Field(sa_type=UtcDateTime)
    computed_at: datetime = Field(sa_type=UtcDateTime)
    lines: int = 0
    total_ore: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    held: str = Field(default="[]", sa_type=Text)  # JSON list of held-back kommunenummer


class PayoutApprovalRecord(SQLModel, table=True):
    """One approval (budsjettdisponering or attestasjon) of one proposal fingerprint.

    Append-only: an approval of an older fingerprint stays as history but no longer counts.
    """

    __tablename__ = "payout_approval"
    __table_args__ = (UniqueConstraint("round_id", "run", "role", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: str = Field(index=True)
    run: str
    role: str  # disponent | attestant
    name: str
    fingerprint: str
    approved_at: datetime = Field(sa_type=UtcDateTime)
    via: str  # cli | prefect-ui


class BankAccountRecord(SQLModel, table=True):
    """A municipality's bank account (kontonummer) for payment files; the latest recorded counts."""

    __tablename__ = "bank_account"

    id: int | None = Field(default=None, primary_key=True)
    round_id: str
    kommunenummer: str = Field(max_length=4, index=True)
    account: str = Field(max_length=11)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    recorded_by: str
