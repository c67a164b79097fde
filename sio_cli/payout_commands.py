"""``sio payout``: hold a run, approve it in two roles, and write its payment file.

``sio payout ROUND --run YYYYQn`` holds the run (its proposal awaits approval until a disponent
and an attestant approved it); ``sio payout approve`` gives one approval and ``sio payout file``
writes the approved run's ISO 20022 pain.001 credit-transfer file. The group runs the hold
command when its first word is not one of its subcommands, so the old form keeps working.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sio_cli import finance_commands
from sio_cli.errors import reported_errors

_DEFAULT = "hold"


class _RunByDefault(TyperGroup):
    """A group whose first argument, when not a subcommand, is the default command's ROUND."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


payout_app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="The quarterly payout run: `sio payout ROUND --run YYYYQn [--dry-run]` holds it, "
    "`approve` gives one of its two approvals, `file` writes its pain.001 payment file.",
)
payout_app.command(_DEFAULT, hidden=True)(finance_commands.payout)


class Role(StrEnum):
    disponent = "disponent"
    attestant = "attestant"


@payout_app.command("approve")
def approve(
    round_ref: finance_commands.RoundArgument,
    run: Annotated[str, typer.Option("--run", metavar="YYYYQn", help="the quarter of the run")],
    role: Annotated[
        Role, typer.Option("--as", help="disponent (budsjettdisponering) or attestant")
    ],
    name: Annotated[str, typer.Option("--name", help="the approver's full name")],
    fingerprint: Annotated[
        str | None,
        typer.Option("--fingerprint", help="the proposal you reviewed (refused if it changed)"),
    ] = None,
) -> None:
    """Approve the run's current proposal in one role; the second approval pays the run.

    The approval that pays sends the run's paid and held events to Prefect's Event Feed, as an
    approval in the UI does (sio_cli/payout_events.py).
    """
    from datetime import UTC, datetime

    from deployments.settings import load_settings
    from sio_domain.payout_periods import Quarter
    from tasks.payouts.payout_engine import approve_payout

    with reported_errors():
        from sio_domain.text_fields import checked_text

        checked_text("--name", name)  # goes into the audit log and the payment's record
        settings = load_settings()
        finance_commands._option("--run", Quarter.parse, run)
        result = approve_payout(
            round_ref,
            run,
            role=role.value,
            name=name,
            database_url=settings.resolved_database_url,
            now=datetime.now(UTC),
            fingerprint=_prefix(fingerprint),
            exports_dir=settings.exports_dir,
        )
        if result.status == "paid":
            finance_commands.deliver_statements(result)
    if result.status == "paid":
        approvals = "; ".join(f"{a.role}: {a.name}" for a in result.approvals)
        typer.echo(
            f"run {result.run} of {result.round_id} approved ({approvals}) and paid:"
            f" {len(result.lines)} lines, {result.total:.2f} NOK",
            err=True,
        )
        from sio_cli.payout_events import send_payout_events

        send_payout_events(result, settings)  # as the flow does: paid and held, per municipality
    else:
        finance_commands.print_awaiting(result)


def _prefix(fingerprint: str | None) -> Any:
    return fingerprint.strip().lower() if fingerprint else None


@payout_app.command("file")
def payment_file(
    round_ref: finance_commands.RoundArgument,
    run: Annotated[str, typer.Option("--run", metavar="YYYYQn", help="the quarter of the run")],
    output: Annotated[Path, typer.Option("--output", help="the pain.001 XML file to write")],
    debtor_account: Annotated[
        str | None,
        typer.Option(
            "--debtor-account",
            help="the directorate's kontonummer (default: the round file's payout.debtor_account)",
        ),
    ] = None,
) -> None:
    """Write the approved run's ISO 20022 pain.001.001.03 credit-transfer file (NOK)."""
    from datetime import UTC, datetime

    from deployments.settings import load_settings
    from sio_domain.payout_periods import Quarter
    from tasks.payouts.payment_files import write_payment_file

    with reported_errors():
        settings = load_settings()
        finance_commands._option("--run", Quarter.parse, run)
        summary = write_payment_file(
            round_ref,
            run,
            database_url=settings.resolved_database_url,
            output=output,
            debtor_account=debtor_account,
            now=datetime.now(UTC),
        )
    typer.echo(
        f"{summary.transfers} transfers, {summary.total:.2f} NOK written to {output}", err=True
    )
