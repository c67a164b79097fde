"""``sio forecast ROUND|all --year YYYY``: expected payments of a budget year, paid beside it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sio_cli.errors import reported_errors


class ForecastFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


def forecast(
    round_ref: Annotated[
        str, typer.Argument(metavar="ROUND|all", help="round id, round file, or all")
    ],
    year: Annotated[int, typer.Option("--year", metavar="YYYY", help="the budget year")],
    output_format: Annotated[
        ForecastFormat, typer.Option("--format", help="table, json or xlsx")
    ] = ForecastFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", help="write to this file instead of stdout")
    ] = None,
) -> None:
    """Per municipality and component: the year's expected payments and what is paid so far."""
    from deployments.settings import load_settings
    from tasks.intake.round_files import load_round, shipped_round_ids
    from tasks.payouts.forecast import as_rows, forecast_xlsx
    from tasks.payouts.forecast import forecast as make_forecast

    with reported_errors():
        if not 2000 <= year <= 2100:
            raise ValueError(f"--year: {year} is not a budget year (2000–2100)")
        if output is not None and output_format is ForecastFormat.table:
            raise ValueError("--output: a table is printed; use --format json or xlsx for a file")
        settings = load_settings()
        ids = shipped_round_ids() if round_ref == "all" else [round_ref]
        rounds = [load_round(ref) for ref in ids]
        lines = make_forecast(
            rounds, year, database_url=settings.resolved_database_url, now=datetime.now(UTC)
        )
        label = "all" if round_ref == "all" else rounds[0].id
        if output_format is ForecastFormat.xlsx:
            path = output or settings.exports_dir / f"forecast-{label}-{year}.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(forecast_xlsx(lines, title=f"Prognose {year}, {label}"))
            typer.echo(f"{len(lines)} forecast lines written to {path}", err=True)
            return
        rows = as_rows(lines)
        if output_format is ForecastFormat.json:
            text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
            if output is None:
                sys.stdout.write(text)
            else:
                output.parent.mkdir(parents=True, exist_ok=True)
                output.write_text(text, encoding="utf-8")
            return
    _print(rows, title=f"Forecast {year} ({label})")


def _print(rows: list[dict[str, str]], *, title: str) -> None:
    from decimal import Decimal

    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("round", "kommune", "municipality", "component"):
        table.add_column(column, no_wrap=column != "municipality")
    table.add_column("forecast", justify="right", no_wrap=True)
    table.add_column("paid to date", justify="right", no_wrap=True)
    table.add_column("assumption", overflow="fold")
    for row in rows:
        table.add_row(
            row["round"],
            row["kommunenummer"],
            row["municipality"],
            row["component"],
            row["forecast"],
            row["paid_to_date"],
            row["assumption"],
        )
    total = sum((Decimal(row["forecast"]) for row in rows), Decimal("0.00"))
    paid = sum((Decimal(row["paid_to_date"]) for row in rows), Decimal("0.00"))
    table.add_row("", "", "total", "", f"{total:.2f}", f"{paid:.2f}", "")
    Console(width=200).print(table)
