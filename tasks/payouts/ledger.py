"""The payout ledger (utbetalingsreskontro): reading it, exporting it, and staff entries into it.

The ledger is append-only (design decision **D**): lines are only ever inserted, by a payout run
(tasks/payouts/payout_engine.py); nothing here updates or deletes one. Staff add *decisions* that
the next run turns into lines: an adjustment (``sio adjust``: an extraordinary payment or
claw-back decided outside the model) and a documented system-adaptation cost (seed 000 §1.4).

A line's JSON is exactly the command contract's ledger line. ``corrects`` is the ``line_key`` of
the line a
correction corrects (a key is self-describing and unique; database ids mean nothing outside).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from sio_domain.money import format_amount, from_ore, to_ore
from sio_domain.payout_periods import Quarter
from tasks.storage.audit import record_audit
from tasks.storage.tables import AdjustmentRecord, LedgerLineRecord, SystemAdaptationClaim

LEDGER_COLUMNS = (
    "kommunenummer",
    "municipality",
    "model",
    "run",
    "period",
    "component",
    "amount",
    "corrects",
)


@dataclass(slots=True, unsafe_hash=True)
class LedgerLine:
    """One payout line as shown to people and scripts.

    Hashed and compared by value like a frozen one, but not frozen: a catch-up run builds
    thousands, and a frozen dataclass's ``__init__`` costs about ten times as much. Nothing
    assigns to a line once built.
    """

    kommunenummer: str
    municipality: str
    model: str
    run: str
    period: str
    component: str
    amount: Decimal
    corrects: str | None
    line_key: str
    basis: str = ""

    def as_json(self) -> dict[str, Any]:
        """the command contract's ledger / payout line, amount as a two-decimal string."""
        return {
            "kommunenummer": self.kommunenummer,
            "municipality": self.municipality,
            "model": self.model,
            "run": self.run,
            "period": self.period,
            "component": self.component,
            "amount": format_amount(self.amount),
            "corrects": self.corrects,
        }


def ledger_lines(
    session: Session,
    round_id: str,
    *,
    kommunenummer: Sequence[str] | None = None,
    run: str | None = None,
) -> list[LedgerLine]:
    """The round's lines in the order they were written, optionally for some numbers or one run."""
    line, corrected = LedgerLineRecord, aliased(LedgerLineRecord)
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types up to 4 columns
            col(line.kommunenummer),
            col(line.municipality),
            col(line.model),
            col(line.run),
            col(line.period),
            col(line.component),
            col(line.amount_ore),
            col(corrected.line_key),
            col(line.line_key),
            col(line.basis),
        )
        .outerjoin(corrected, col(corrected.id) == col(line.corrects))
        .where(col(line.round_id) == round_id)
    )
    if kommunenummer is not None:
        query = query.where(col(line.kommunenummer).in_(list(kommunenummer)))
    if run is not None:
        query = query.where(col(line.run) == run)
    rows = session.exec(query.order_by(col(line.id))).all()
    return [
        LedgerLine(*row[:6], from_ore(row[6]), *row[7:])  # type: ignore[call-arg]
        for row in rows
    ]


LINE_ROW_COLUMNS = (
    "line_key",
    "round_id",
    "kommunenummer",
    "municipality",
    "model",
    "run",
    "period",
    "component",
    "amount_ore",
    "corrects",
    "basis",
    "created_at",
)


def append_line_rows(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ledger rows (values in :data:`LINE_ROW_COLUMNS` order) in the session's transaction.

    Only a payout run appends, and it may write thousands of lines in one run, so this is the
    driver's bulk path rather than one statement per line: PostgreSQL ``COPY … FROM STDIN`` on
    the session's own connection, SQLite one prepared ``INSERT`` executed for every row. Both
    stay inside the run's transaction (all or nothing). Values go through each column's own
    bind conversion (stored times in UTC), so a line reads back as an ORM insert would store it.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table: Table = LedgerLineRecord.__table__  # type: ignore[attr-defined]
    if dialect.name not in ("postgresql", "sqlite"):
        named = [dict(zip(LINE_ROW_COLUMNS, row, strict=True)) for row in rows]
        connection.execute(insert(table), named)
        return
    converters: list[tuple[int, Any, dict[Any, Any]]] = [  # one created_at: converted once
        (index, processor, {})
        for index, name in enumerate(LINE_ROW_COLUMNS)
        if (processor := table.c[name].type.bind_processor(dialect)) is not None
    ]
    if converters:
        rows = [_converted(row, converters) for row in rows]
    names = ", ".join(f'"{name}"' for name in LINE_ROW_COLUMNS)
    if dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection  # psycopg's own Connection
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY ledger_line ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in LINE_ROW_COLUMNS)
    connection.exec_driver_sql(f"INSERT INTO ledger_line ({names}) VALUES ({marks})", list(rows))


def _converted(
    row: tuple[Any, ...], converters: list[tuple[int, Any, dict[Any, Any]]]
) -> tuple[Any, ...]:
    values = list(row)
    for index, processor, seen in converters:
        value = values[index]
        converted = seen.get(value, _UNSEEN)
        if converted is _UNSEEN:
            converted = seen[value] = processor(value)
        values[index] = converted
    return tuple(values)


_UNSEEN = object()


def record_adjustment(
    session: Session,
    *,
    round_id: str,
    kommunenummer: str,
    period: str,
    amount: Decimal,
    reason: str,
    now: datetime,
    entered_by: str,
) -> AdjustmentRecord:
    """Record an adjustment for the next payout run; never commits.

    ``kommunenummer`` must already be the number in force in ``period`` (the caller resolves it).
    """
    label = Quarter.parse(period).label
    if not reason.strip():
        raise ValueError("--reason: an adjustment needs a reason (it is shown on the statement)")
    if amount == 0:
        raise ValueError("--amount: an adjustment of 0.00 pays nothing")
    record = AdjustmentRecord(
        round_id=round_id,
        kommunenummer=kommunenummer,
        period=label,
        amount_ore=to_ore(amount),
        reason=reason.strip(),
        entered_at=now,
        entered_by=entered_by,
    )
    session.add(record)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=entered_by,
        what="adjustment_recorded",
        round_id=round_id,
        kommunenummer=kommunenummer,
        detail={"period": label, "amount": format_amount(amount), "reason": record.reason},
    )
    return record


def record_system_adaptation_claim(
    session: Session,
    *,
    round_id: str,
    kommunenummer: str,
    amount: Decimal,
    documentation: str,
    now: datetime,
    entered_by: str,
    maximum: Decimal | None = None,
    lineage: Sequence[str] | None = None,
) -> SystemAdaptationClaim:
    """Record a documented system-adaptation cost (seed 000 §1.4); the next run pays up to the
    round's maximum. Never commits.

    With ``maximum``, a claim that would bring the municipality's claims (under any number of
    ``lineage``) above the round's maximum is refused rather than silently cut by the run.
    """
    if amount <= 0:
        raise ValueError("--amount: a system-adaptation claim must be a positive amount")
    if not documentation.strip():
        raise ValueError("--reason: a claim needs its documentation (invoice, reference)")
    if maximum is not None:
        claimed = from_ore(
            sum(
                session.exec(
                    select(SystemAdaptationClaim.amount_ore).where(
                        col(SystemAdaptationClaim.round_id) == round_id,
                        col(SystemAdaptationClaim.kommunenummer).in_(list(lineage or [])),
                    )
                ).all()
            )
        )
        if claimed + amount > maximum:
            raise ValueError(
                f"--amount: {format_amount(amount)} NOK would bring {kommunenummer}'s claims to"
                f" {format_amount(claimed + amount)} NOK, above the round's maximum of"
                f" {format_amount(maximum)} NOK (already claimed: {format_amount(claimed)})"
            )
    record = SystemAdaptationClaim(
        round_id=round_id,
        kommunenummer=kommunenummer,
        amount_ore=to_ore(amount),
        documentation=documentation.strip(),
        entered_at=now,
    )
    session.add(record)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=entered_by,
        what="system_adaptation_claim_recorded",
        round_id=round_id,
        kommunenummer=kommunenummer,
        detail={"amount": format_amount(amount), "documentation": record.documentation},
    )
    return record
