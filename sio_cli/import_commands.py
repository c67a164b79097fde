"""``sio import KIND FILE``: bring a CSV file in, all or nothing (the command contract, File
formats)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sio_cli.errors import reported_errors


class ImportKind(StrEnum):
    municipalities = "municipalities"
    contacts = "contacts"
    applications = "applications"
    expenditure = "expenditure"
    activity = "activity"


def import_file(
    kind: Annotated[ImportKind, typer.Argument(metavar="KIND", help="what the file holds")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV file, UTF-8, header row")],
    round_ref: Annotated[str | None, typer.Option("--round", help="round id or file")] = None,
) -> None:
    """Import a CSV file; a bad row refuses the whole file, naming line, column and value."""
    from deployments.settings import load_settings

    with reported_errors():
        settings = load_settings()
        if kind is ImportKind.municipalities:
            from tasks.records.municipality_store import import_municipalities

            count = import_municipalities(
                file, database_url=settings.resolved_database_url, now=datetime.now(UTC)
            )
        else:
            from tasks.intake.imports import import_for_round

            count = import_for_round(kind.value, file, round_ref=round_ref, settings=settings)
    typer.echo(f"{count} rows imported from {file} ({kind.value})", err=True)
