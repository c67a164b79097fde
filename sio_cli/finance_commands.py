"""``sio payout``, ``sio ledger`` and ``sio adjust``: the trial's money.

``payout`` is the default command of the ``sio payout`` group (sio_cli/payout_commands.py);
``ledger`` and ``adjust`` are registered by sio_cli/main.py. Errors go through
:func:`sio_cli.errors.reported_errors` (one line on stderr, exit 1); only the requested output
goes to stdout.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sio_cli.errors import reported_errors

if TYPE_CHECKING:
    from tasks.payouts.ledger import LedgerLine
    from tasks.payouts.payout_engine import PayoutResult


class PayoutFormat(StrEnum):
    table = "table"
    json = "json"


class LedgerFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    csv_no = "csv-no"  # Norwegian-locale spreadsheet: ";", UTF-8 BOM, decimal comma
    xlsx = "xlsx"


RoundArgument = Annotated[str, typer.Argument(metavar="ROUND", help="round id or round file")]


def payout(
    round_ref: RoundArgument,
    run: Annotated[str, typer.Option("--run", metavar="YYYYQn", help="the quarter of the run")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="compute and show, write nothing")
    ] = False,
    output_format: Annotated[
        PayoutFormat, typer.Option("--format", help="table or json")
    ] = PayoutFormat.table,
) -> None:
    """Hold the quarterly payout run YYYYQn: the quarter's advance and the ABF settlement."""
    from deployments.settings import load_settings
    from sio_domain.payout_periods import Quarter
    from tasks.payouts.payout_engine import run_payout

    with reported_errors():
        settings = load_settings()
        _option("--run", Quarter.parse, run)
        result = run_payout(
            round_ref,
            run,
            database_url=settings.resolved_database_url,
            as_of=datetime.now(UTC),
            dry_run=dry_run,
            exports_dir=settings.exports_dir,
        )
        if result.status == "paid":
            deliver_statements(result)
    if result.status == "paid":  # approved already: this command paid it, as the flow would
        from sio_cli.payout_events import send_payout_events

        send_payout_events(result, settings)
    if output_format is PayoutFormat.json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_payout(result)
    if result.status == "awaiting_approval":
        print_awaiting(result)


def deliver_statements(result: PayoutResult) -> None:
    """Send the statements a paid run queued, dated at the run's as-of instant."""
    from deployments.settings import load_settings
    from tasks.mail.mail_delivery import deliver_pending

    settings = load_settings()
    deliver_pending(
        settings.resolved_database_url, settings, now=result.as_of, round_id=result.round_id
    )


def print_awaiting(result: PayoutResult) -> None:
    """On stderr: which approvals the run still needs, and the command that gives one."""
    done = ", ".join(f"{a.role} {a.name}" for a in result.approvals) or "none"
    typer.echo(
        f"sio: run {result.run} of {result.round_id} awaits approval (proposal"
        f" {result.fingerprint[:12]}; approved so far: {done}); nothing is paid until"
        f" {' and '.join(result.awaiting)} approve: sio payout approve {result.round_id}"
        f" --run {result.run} --as {result.awaiting[0]} --name NAME",
        err=True,
    )


def ledger(
    round_ref: RoundArgument,
    kommune: Annotated[
        str | None, typer.Option("--kommune", metavar="KNR", help="one municipality")
    ] = None,
    output_format: Annotated[
        LedgerFormat, typer.Option("--format", help="table, json, csv, csv-no or xlsx")
    ] = LedgerFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", help="write to this file instead of stdout")
    ] = None,
) -> None:
    """Every payout line of a round (append-only ledger), printed or exported."""
    from deployments.settings import load_settings
    from tasks.documents.ledger_export import ledger_csv, ledger_csv_norwegian, ledger_xlsx
    from tasks.intake.round_files import load_round
    from tasks.payouts.ledger import ledger_lines
    from tasks.records.municipality_lookup import registry
    from tasks.storage.database import session_for

    with reported_errors():
        settings = load_settings()
        url = settings.resolved_database_url
        round_def = load_round(round_ref)
        numbers = None
        if kommune is not None:
            numbers = registry(url).lineage(kommune)
        with session_for(url) as session:
            lines = ledger_lines(session, round_def.id, kommunenummer=numbers)
        if output_format is LedgerFormat.xlsx:
            path = output or settings.exports_dir / f"ledger-{round_def.id}.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(ledger_xlsx(lines, title=f"Utbetalinger {round_def.id}"))
            typer.echo(f"{len(lines)} lines written to {path}", err=True)
            return
        if output_format is LedgerFormat.csv_no:
            data = ledger_csv_norwegian(lines)
            if output is None:
                sys.stdout.buffer.write(data)
                return
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(data)
            typer.echo(f"{len(lines)} lines written to {output}", err=True)
            return
        if output_format is LedgerFormat.table and output is None:
            _print_lines(lines, title=f"Ledger {round_def.id}")
            return
        if output_format is LedgerFormat.csv:
            text = ledger_csv(lines)
        else:
            text = json.dumps([line.as_json() for line in lines], ensure_ascii=False, indent=2)
            text += "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            typer.echo(f"{len(lines)} lines written to {output}", err=True)


def adjust(
    round_ref: RoundArgument,
    kommune: Annotated[str, typer.Argument(metavar="KNR", help="kommunenummer")],
    period: Annotated[str, typer.Option("--period", metavar="YYYYQn", help="quarter it is for")],
    amount: Annotated[str, typer.Option("--amount", help="NOK, e.g. 150000.00 or -2500")],
    reason: Annotated[str, typer.Option("--reason", help="why (shown on the statement)")],
    override_reason: Annotated[
        str | None,
        typer.Option(
            "--override-reason",
            help="allow a quarter the municipality does not take part in, and say why",
        ),
    ] = None,
) -> None:
    """Record an extraordinary payment or claw-back; the next payout run pays it."""
    from deployments.settings import load_settings
    from sio_domain.money import format_amount, parse_amount
    from sio_domain.payout_periods import Quarter
    from tasks.intake.round_files import load_round
    from tasks.payouts.ledger import record_adjustment
    from tasks.payouts.payout_queries import participations
    from tasks.records.municipality_lookup import registry
    from tasks.storage.database import session_for

    with reported_errors():
        from sio_domain.text_fields import checked_text

        checked_text("--reason", reason)  # shown on the statement mailed to the municipality
        if override_reason is not None:
            checked_text("--override-reason", override_reason)
        settings = load_settings()
        url = settings.resolved_database_url
        round_def = load_round(round_ref)
        quarter = _option("--period", Quarter.parse, period)
        value = _option("--amount", parse_amount, amount)
        known = registry(url)
        payee = known.in_force(kommune, quarter.first_day).kommunenummer
        lineage = set(known.lineage(payee))
        with session_for(url) as session:
            taking_part = [
                p
                for p in participations(session)
                if p.round_id == round_def.id and p.kommunenummer in lineage
            ]
            if not taking_part:
                raise ValueError(f"{kommune}: the municipality takes no part in {round_def.id}")
            in_quarter = [
                p for p in taking_part if p.start <= quarter.last_day and p.end >= quarter.first_day
            ]
            if not in_quarter and not (override_reason or "").strip():
                spans = ", ".join(f"{p.start} to {p.end}" for p in taking_part)
                raise ValueError(
                    f"--period {quarter.label}: {kommune} takes part in {round_def.id} only"
                    f" {spans}; give --override-reason to record it anyway"
                )
            if not in_quarter:
                reason = f"{reason.strip()} (outside participation: {override_reason})"
            record_adjustment(
                session,
                round_id=round_def.id,
                kommunenummer=payee,
                period=quarter.label,
                amount=value,
                reason=reason,
                now=datetime.now(UTC),
                entered_by=f"staff:{getpass.getuser()}",
            )
            session.commit()
    typer.echo(
        f"adjustment of {format_amount(value)} NOK for {payee} ({quarter.label}) recorded;"
        " the next payout run pays it",
        err=True,
    )


def _print_payout(result: PayoutResult) -> None:
    from rich.console import Console

    from sio_domain.money import format_amount

    console = Console()
    titles = {
        "paid": "paid",
        "dry_run": "dry run, nothing written",
        "already_run": "already run",
        "awaiting_approval": "proposal awaiting approval, nothing written",
    }
    _print_lines(
        result.lines,
        title=f"Payout {result.round_id} {result.run} ({titles[result.status]}):"
        f" {format_amount(result.total)} NOK",
    )
    for held in result.held:
        console.print(
            f"[yellow]held back[/] {held.kommunenummer} {held.municipality}:"
            f" {'; '.join(held.reasons)}"
        )
    for flag in result.flags:
        console.print(f"[yellow]flag[/] {flag.kommunenummer}: {flag.reason}")


def _print_lines(lines: list[LedgerLine], *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from sio_domain.money import format_amount

    table = Table(title=title)
    table.add_column("kommune", no_wrap=True)
    table.add_column("municipality", overflow="fold")
    for column in ("model", "run", "period", "component"):
        table.add_column(column, no_wrap=True)
    table.add_column("amount", justify="right", no_wrap=True)  # never cut an amount short
    table.add_column("corrects", overflow="fold")
    for line in lines:
        table.add_row(
            line.kommunenummer,
            line.municipality,
            line.model,
            line.run,
            line.period,
            line.component,
            format_amount(line.amount),
            line.corrects or "",
        )
    Console().print(table)


def _option(name: str, parse: Any, text: str) -> Any:
    """``parse(text)``, with a refusal naming the option: ``--run: '2016Q5' is not a quarter``."""
    try:
        return parse(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
