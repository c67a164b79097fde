"""``sio import expenditure|activity FILE``: finance data in, streamed and all-or-nothing.

- Streamed: the file is read row by row with ``csv.reader`` and written in chunks, so memory stays
  flat however large the file is.
- All-or-nothing: every chunk is written inside one transaction that is committed only after the
  last row passed; the first bad row rolls everything back (the command contract, File formats).
- Municipalities are resolved through the registry to the number in force on the date that
  matters: the last day of an expenditure year, the first day of an activity month.
- Expenditure for the same municipality, year and function replaces the earlier figure (KOSTRA
  publishes preliminary figures in March and final ones in June). Activity is append-only: each
  import is stamped ``reported_at = now`` and supersedes earlier reports of the same month and
  service from then on, so a payout run can settle from "the activity reported by" its as-of.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from sio_domain.finance_files import (
    ACTIVITY_COLUMNS,
    EXPENDITURE_COLUMNS,
    FinanceFileError,
    header_index,
    parse_activity_row,
    parse_expenditure_row,
    refuse_personal_data,
)
from sio_domain.personal_data import find_personal_number, mask
from sio_domain.text_fields import MAX_AMOUNT_ORE, text_problem
from tasks.storage.audit import record_audit
from tasks.storage.tables import ActivityReport, ExpenditureRecord

if TYPE_CHECKING:
    from deployments.settings import Settings

CHUNK_ROWS = 5000
FINANCE_KINDS = ("expenditure", "activity")


def import_finance_file(
    kind: str, path: Path, settings: Settings, *, now: datetime | None = None
) -> int:
    """Entry point for ``sio import expenditure|activity FILE``; returns the rows stored."""
    url = settings.resolved_database_url
    instant = now or datetime.now(UTC)
    if kind == "expenditure":
        return import_expenditure(path, database_url=url, now=instant)
    if kind == "activity":
        return import_activity(path, database_url=url, now=instant)
    raise ValueError(f"{kind!r} is not a finance file kind ({', '.join(FINANCE_KINDS)})")


def import_expenditure(path: Path, *, database_url: str, now: datetime) -> int:
    """Import net operating expenditure per municipality, year and KOSTRA function."""
    from tasks.storage.database import session_for

    resolve = _resolver(database_url)
    table = ExpenditureRecord.__table__  # type: ignore[attr-defined]
    seen: dict[tuple[str, int, str], int] = {}  # small: municipalities × years × 4 functions
    count = 0
    with session_for(database_url) as session:
        upsert = _upsert_statement(session, table)
        for chunk in _chunks(_rows(path, EXPENDITURE_COLUMNS)):
            values = []
            for line, row, index in chunk:
                parsed = parse_expenditure_row(row, index, resolve, str(path), line)
                _refuse_out_of_range(str(path), line, "amount", parsed.amount_ore)
                key = (parsed.kommunenummer, parsed.year, parsed.function)
                if key in seen:
                    raise FinanceFileError(
                        str(path),
                        line,
                        "function",
                        parsed.function,
                        f"repeats municipality {parsed.kommunenummer}, year {parsed.year} and"
                        f" function of line {seen[key]}",
                    )
                seen[key] = line
                values.append(
                    {
                        "kommunenummer": parsed.kommunenummer,
                        "year": parsed.year,
                        "function": parsed.function,
                        "amount_ore": parsed.amount_ore,
                        "imported_at": now,
                    }
                )
            session.execute(upsert, values)
            count += len(values)
        _audit(session, "expenditure_imported", path, count, now)
        session.commit()
    return count


def import_activity(path: Path, *, database_url: str, now: datetime) -> int:
    """Append reported activity (units per municipality, month and service code)."""
    from tasks.storage.database import session_for

    resolve = _resolver(database_url)
    table = ActivityReport.__table__  # type: ignore[attr-defined]
    batch = f"{path.name}#{uuid.uuid4().hex[:12]}"
    count = 0
    with session_for(database_url) as session:
        for chunk in _chunks(_rows(path, ACTIVITY_COLUMNS)):
            values = []
            for line, row, index in chunk:
                parsed = parse_activity_row(row, index, resolve, str(path), line)
                _refuse_out_of_range(str(path), line, "units", parsed.units_hundredths)
                values.append(
                    {
                        "kommunenummer": parsed.kommunenummer,
                        "month": parsed.month.label,
                        "service_code": parsed.service_code,
                        "units_hundredths": parsed.units_hundredths,
                        "reported_at": now,
                        "batch": batch,
                    }
                )
            session.execute(insert(table), values)
            count += len(values)
        _refuse_repeats(session, path, batch, now, resolve)
        _audit(session, "activity_imported", path, count, now, batch=batch)
        session.commit()
    return count


def _refuse_repeats(
    session: Session,
    path: Path,
    batch: str,
    now: datetime,
    resolve: Callable[[str, date], str],
) -> None:
    """A file reports each municipality, month and service once; find a repeat in the database.

    Checked in SQL over the rows just written (not with a set in memory, which would grow with
    the file); only when there is a repeat is the file read again to name its lines.
    """
    repeat = session.execute(
        select(
            col(ActivityReport.kommunenummer),
            col(ActivityReport.month),
            col(ActivityReport.service_code),
        )
        .where(col(ActivityReport.reported_at) == now, col(ActivityReport.batch) == batch)
        .group_by(
            col(ActivityReport.kommunenummer),
            col(ActivityReport.month),
            col(ActivityReport.service_code),
        )
        .having(func.count() > 1)
        .limit(1)
    ).first()
    if repeat is None:
        return
    first_line = None
    for line, row, index in _rows(path, ACTIVITY_COLUMNS):
        parsed = parse_activity_row(row, index, resolve, str(path), line)
        if (parsed.kommunenummer, parsed.month.label, parsed.service_code) == tuple(repeat):
            if first_line is not None:
                raise FinanceFileError(
                    str(path),
                    line,
                    "service_code",
                    parsed.service_code,
                    f"repeats municipality {parsed.kommunenummer}, month {parsed.month.label}"
                    f" and service of line {first_line}",
                )
            first_line = line
    raise AssertionError("a repeated row found in the database was not found in the file")


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str], dict[str, int]]]:
    """(line, cells, column index) per non-blank data row; the personal-data check included."""
    origin = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header_row = next(reader, None)
            if header_row is None:
                raise FinanceFileError(
                    origin, 1, None, None, f"the file is empty; expected {','.join(columns)}"
                )
            index = header_index(header_row, columns, origin)
            header = [cell.strip() for cell in header_row]
            consumed = reader.line_num
            for row in reader:
                line, consumed = consumed + 1, reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                refuse_personal_data(row, header, origin, line)
                _refuse_unsafe_text(row, header, origin, line)
                yield line, row, index
        except csv.Error as error:
            raise FinanceFileError(
                origin, reader.line_num or 1, None, None, f"not valid CSV: {error}"
            ) from None
        except UnicodeDecodeError as error:
            raise FinanceFileError(
                origin, reader.line_num + 1, None, None, f"not UTF-8 text (byte {error.start})"
            ) from None


def _refuse_unsafe_text(row: Sequence[str], header: Sequence[str], origin: str, line: int) -> None:
    """Control characters, NUL and personal identity numbers are refused in every cell (masked)."""
    for position, cell in enumerate(row):
        problem = text_problem(cell)
        if problem is not None:
            column = header[position] if position < len(header) else f"#{position + 1}"
            number = find_personal_number(cell)
            shown = mask(number) if number is not None else cell[:60]
            raise FinanceFileError(origin, line, column, shown, problem)


def _refuse_out_of_range(origin: str, line: int, column: str, hundredths: int) -> None:
    """Amounts beyond any municipality's budget are a broken file, not a figure to pay from.

    Bounded well below the database's 64-bit integers (9.2 × 10¹⁸), so an absurd figure is
    refused in one line rather than overflowing on insert.
    """
    if hundredths > MAX_AMOUNT_ORE:
        raise FinanceFileError(
            origin,
            line,
            column,
            f"{hundredths // 100}",
            f"is out of range (at most {MAX_AMOUNT_ORE // 100})",
        )


def _chunks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _resolver(database_url: str) -> Callable[[str, date], str]:
    """Any number a municipality has held → the number in force on a date (cached per month)."""
    from tasks.records.municipality_lookup import registry

    known = registry(database_url)
    cache: dict[tuple[str, date], str | Exception] = {}

    def resolve(number: str, on: date) -> str:
        key = (number, on)
        if key not in cache:
            try:
                cache[key] = known.in_force(number, on).kommunenummer
            except (KeyError, ValueError) as error:
                cache[key] = error
        found = cache[key]
        if isinstance(found, Exception):
            raise found
        return found

    return resolve


def _upsert_statement(session: Session, table: Any) -> Any:
    """INSERT … ON CONFLICT (kommunenummer, year, function) DO UPDATE, on SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_for(table)
    return statement.on_conflict_do_update(
        index_elements=["kommunenummer", "year", "function"],
        set_={
            "amount_ore": statement.excluded.amount_ore,
            "imported_at": statement.excluded.imported_at,
        },
    )


def _audit(
    session: Session, what: str, path: Path, count: int, now: datetime, **detail: Any
) -> None:
    record_audit(
        session,
        at=now,
        actor="sio import",
        what=what,
        detail={"file": str(path), "rows": count, **detail},
    )


__all__: Sequence[str] = (
    "FinanceFileError",
    "import_activity",
    "import_expenditure",
    "import_finance_file",
)
