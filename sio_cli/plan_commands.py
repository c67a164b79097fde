"""``sio rounds`` and ``sio plan``: quick look-ups of the rounds and their dated events.

These must stay near the cost of importing their libraries, so they import neither Prefect nor the
database layer: the registry of municipalities is the shipped table plus the rows imported into
the database, read without the ORM where the database is SQLite.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sio_cli.errors import reported_errors

if TYPE_CHECKING:
    from sio_domain.municipality_registry import MunicipalityRegistry


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    ics = "ics"


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def rounds(
    output_format: Annotated[
        ListFormat, typer.Option("--format", help="table or json")
    ] = ListFormat.table,
) -> None:
    """List the shipped round definitions: id, title, file and key dates."""
    with reported_errors(), _without_pydantic_plugins():
        from tasks.intake.round_files import load_round, round_file_path, shipped_round_ids

        rows = []
        for round_id in shipped_round_ids():
            definition = load_round(round_id)
            m = definition.milestones
            rows.append(
                {
                    "id": definition.id,
                    "title": definition.title,
                    "path": str(round_file_path(round_id)),
                    "models": sorted(definition.models),
                    "application_deadline": _iso(
                        m.application_deadline and m.application_deadline.date
                    ),
                    "selection_deadline": _iso(m.selection_deadline and m.selection_deadline.date),
                    "agreement_deadline": _iso(m.agreement_deadline and m.agreement_deadline.date),
                    "go_live": m.go_live.date.isoformat(),
                    "end": m.effective_end.isoformat(),
                }
            )
    if output_format is ListFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Forsøksrunder (rounds)")
    for column in ("id", "title", "application_deadline", "go_live", "end", "path"):
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(
            *(
                str(row[c] or "–")
                for c in ("id", "title", "application_deadline", "go_live", "end", "path")
            )
        )
    Console().print(table)


def plan(
    round_ref: Annotated[
        str, typer.Argument(metavar="ROUND", help="round id (sio-2016, …) or path to a round file")
    ],
    model: Annotated[str | None, typer.Option("--model", help="A or B")] = None,
    kommune: Annotated[
        str | None, typer.Option("--kommune", help="kommunenummer (any number it has held)")
    ] = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="table, json or ics")
    ] = PlanFormat.table,
) -> None:
    """Every dated event of a round, for a model and optionally one municipality."""
    with reported_errors(), _without_pydantic_plugins():
        from sio_domain.plan import build_plan
        from tasks.intake.round_files import load_round

        if model is not None and model not in ("A", "B"):
            raise ValueError(f"--model: {model!r} is not a model (A or B)")
        definition = load_round(round_ref)
        decisions, definition = _plan_in_force(definition)
        numbers: list[str] = []
        standard = "bokmål"
        name = definition.id + (f" modell {model}" if model else "")
        if kommune is not None:
            from tasks.records.municipality_lookup import registry

            known = registry()  # read once: shipped rows plus any imported into the database
            kommune = _number_in_force(known, kommune, definition.milestones.go_live.date)
            numbers = known.lineage(kommune)
            name += f" {kommune} {known.get(kommune).name}"
            standard = known.get(kommune).written_standard
        events = _moved(
            build_plan(
                definition,
                model=model,  # type: ignore[arg-type]
                municipality=kommune,
                held_numbers=numbers,
            ),
            decisions,
            kommune,
        )
    if output_format is PlanFormat.json:
        typer.echo(
            json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False, indent=1)
        )
    elif output_format is PlanFormat.ics:
        from tasks.documents.calendar_files import plan_calendar

        calendar = plan_calendar(events, name=name, stamp=_stamp(), standard=standard)  # type: ignore[arg-type]
        sys.stdout.buffer.write(calendar)
        sys.stdout.flush()
    else:
        _print_table(definition.title, events)
        for decision in decisions:
            typer.echo(
                f"omplanlagt {decision.decided_on.isoformat()} ({decision.decided_by}):"
                f" {decision.kind} {decision.target or ''} {decision.kommunenummer or ''}"
                f" → {decision.to_start or decision.to_date or 'avlyst'} — {decision.reason}"
            )


@contextmanager
def _without_pydantic_plugins() -> Iterator[None]:
    """Build the look-up's models without searching the installed packages for pydantic plugins.

    The search reads every installed distribution's metadata (about 25 ms of a look-up that should
    cost little more than its imports); typer builds its own models the same way.
    """
    previous = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]
        else:
            os.environ["PYDANTIC_DISABLE_PLUGINS"] = previous


def _number_in_force(known: MunicipalityRegistry, kommune: str, on: date) -> str:
    """The number the municipality held on the round's go-live (1664 Selbu → 5032 in 2019).

    A number formed by a later merger (Indre Østfold 3014 in round 2019) stays as given: its plan
    is the successor's. An unknown number is refused by the registry with its own message.
    """
    try:
        return known.in_force(kommune, on).kommunenummer
    except ValueError as error:
        if "did not exist" in str(error):
            return kommune
        raise


def _stamp() -> datetime:
    """DTSTAMP: now, or SOURCE_DATE_EPOCH when set, so the output can be reproduced."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(UTC)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


_RESPONSIBLE = {"municipality": "kommunen", "directorate": "Hdir", "both": "begge"}


def _print_table(title: str, events: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    from sio_domain.written_standard import format_period

    console = Console()
    with_source = console.width >= 140  # the source column only where it fits beside the rest
    table = Table(title=title, show_lines=False, pad_edge=False)
    table.add_column("Dato", no_wrap=True, min_width=10)
    table.add_column("Tid", no_wrap=True)
    table.add_column("Hva", ratio=1, min_width=24)
    table.add_column("Mod.", no_wrap=True)
    table.add_column("Ansvar", no_wrap=True)
    table.add_column("Fast", no_wrap=True)
    if with_source:
        table.add_column("Kilde", ratio=1, overflow="fold", style="dim")
    for event in events:
        when, at = format_period(event.start, event.end, event.all_day)
        title_text = event.title
        if event.nominal is not None and event.nominal != event.start:
            title_text += f" (står som {event.nominal.strftime('%d.%m.%Y')})"
        cells = [
            when.replace("–", "–\n") if len(when) > 10 and not with_source else when,
            at,
            title_text,
            event.model or "",
            _RESPONSIBLE.get(event.responsible or "", ""),
            "ja" if event.firm else "nei",
        ]
        table.add_row(*cells, *([event.source] if with_source else []))
    console.print(table)


def _today_in_oslo() -> date:
    """Today in Europe/Oslo: what is decided by then is known (as every stage run counts it).

    Not the machine's own date, which on a server set to UTC is still yesterday after Oslo's
    midnight (zoneinfo, not the calendar module: this command keeps its imports light).
    """
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Oslo")).date()


def _plan_in_force(definition: Any) -> tuple[list[Any], Any]:
    """The round with the replanning decisions recorded so far (none without a database)."""
    from sio_domain.replanning import round_in_force
    from tasks.records.replanning_lookup import recorded_decisions_if_any

    decisions = recorded_decisions_if_any(definition.id)
    return decisions, round_in_force(definition, decisions, _today_in_oslo())


def _moved(events: list[Any], decisions: list[Any], kommune: str | None) -> list[Any]:
    """Events moved or cancelled by recorded decisions (for one municipality, or for all)."""
    from sio_domain.replanning import event_moves
    from sio_domain.trial_state import moved_event

    moves = event_moves(decisions, kommune or "", _today_in_oslo())
    result = []
    for event in events:
        if event.key in moves:
            start = moves[event.key]
            if start is None:
                continue
            event = moved_event(event, start)
        result.append(event)
    return result
