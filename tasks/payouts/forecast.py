"""``sio forecast``: load what a budget forecast needs, and write it as a table, JSON or xlsx.

The arithmetic is sio_domain/forecast.py's; here are the reads (a handful of bulk queries per
round) and the files. ``now`` is the instant the forecast is made: activity reported and lines
paid by then are what it knows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from sqlmodel import Session, col, select

from sio_domain.financing import baseline_year
from sio_domain.forecast import ForecastInputs, ForecastLine, forecast_year
from sio_domain.money import format_amount
from sio_domain.norwegian_calendar import OSLO
from sio_domain.payout_periods import Month
from sio_domain.round_definition import RoundDefinition
from tasks.payouts import payout_queries as queries
from tasks.records.municipality_lookup import registry as load_registry
from tasks.storage.database import session_for
from tasks.storage.tables import LedgerLineRecord

COLUMNS = (
    "round",
    "kommunenummer",
    "municipality",
    "component",
    "forecast",
    "paid_to_date",
    "assumption",
)


def forecast(
    rounds: list[RoundDefinition], year: int, *, database_url: str, now: datetime
) -> list[ForecastLine]:
    """The forecast of ``year`` for each round, payees in kommunenummer order."""
    registry = load_registry(database_url)
    lines: list[ForecastLine] = []
    with session_for(database_url) as session:
        participations = queries.participations(session)
        for round_def in rounds:
            inputs = ForecastInputs(
                participations=participations,
                expenditure=queries.expenditure_by_number(
                    session, baseline_year(round_def), round_def.financing.kostra_functions
                ),
                units=_units(session, round_def, now),
                paid=_paid(session, round_def.id, year),
            )
            lines += forecast_year(round_def, year, registry=registry, inputs=inputs)
    return lines


def _units(
    session: Session, round_def: RoundDefinition, now: datetime
) -> dict[tuple[str, Month], dict[str, Decimal]]:
    first = Month.of(round_def.milestones.go_live.date.replace(day=1))
    if round_def.milestones.collaboration_start is not None:
        first = min(first, Month.of(round_def.milestones.collaboration_start.date))
    last = Month.of(now.astimezone(OSLO).date())
    latest = queries.latest_activity(first=first, last=last, as_of=now)
    rows = session.exec(
        select(
            latest.c.kommunenummer,
            latest.c.month,
            latest.c.service_code,
            latest.c.units_hundredths,
        )
    ).all()
    units: dict[tuple[str, Month], dict[str, Decimal]] = {}
    for number, label, code, hundredths in rows:
        units.setdefault((number, Month.parse(label)), {})[code] = Decimal(hundredths).scaleb(-2)
    return units


def _paid(session: Session, round_id: str, year: int) -> dict[tuple[str, str], Decimal]:
    rows = session.exec(
        select(LedgerLineRecord).where(
            col(LedgerLineRecord.round_id) == round_id,
            col(LedgerLineRecord.period).startswith(str(year)),
        )
    ).all()
    paid: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        component = "abf" if row.component == "correction" else row.component
        key = (row.kommunenummer, component)
        paid[key] = paid.get(key, Decimal("0.00")) + Decimal(row.amount_ore).scaleb(-2)
    return paid


def as_rows(lines: list[ForecastLine]) -> list[dict[str, Any]]:
    """Each line with amounts as two-decimal strings (JSON, tables, the flow's artifact)."""
    return [
        {
            "round": line.round_id,
            "kommunenummer": line.kommunenummer,
            "municipality": line.municipality,
            "component": line.component,
            "forecast": format_amount(line.forecast),
            "paid_to_date": format_amount(line.paid_to_date),
            "assumption": line.assumption,
        }
        for line in lines
    ]


def forecast_xlsx(lines: list[ForecastLine], *, title: str) -> bytes:
    """The forecast as a workbook: one row per payee and component, amounts as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Prognose"
    sheet.append([title])
    sheet.append(list(COLUMNS))
    for line in lines:
        sheet.append(
            [
                line.round_id,
                line.kommunenummer,
                line.municipality,
                line.component,
                float(line.forecast),
                float(line.paid_to_date),
                line.assumption,
            ]
        )
    for cells in sheet.iter_rows(min_row=3, min_col=5, max_col=6):
        for cell in cells:
            cell.number_format = "#,##0.00"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
