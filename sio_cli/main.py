"""The ``sio`` command: one entry point for staff and scripts (the command contract, Commands).

Commands import what they need inside their body, so a quick look-up like ``sio plan`` never pays
for Prefect or the database layer.
"""

from __future__ import annotations

import sys

import typer

from sio_cli import plan_commands

app = typer.Typer(
    name="sio",
    help="Forsøk med statlig finansiering av omsorgstjenester (SIO): plan, run and pay the trial.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("rounds")(plan_commands.rounds)
app.command("plan")(plan_commands.plan)


def _look_up_only() -> bool:
    """True for ``sio plan …``/``sio rounds …`` run as a command (not the app imported by a test).

    Such a look-up registers only its own command: typer builds every registered command's
    parameters at start-up, about 25 ms of a look-up that should cost little more than its imports.
    """
    program = sys.argv[0].replace("\\", "/")
    return program.endswith(("sio", "sio_cli/__main__.py")) and sys.argv[1:2] in (
        ["plan"],
        ["rounds"],
    )


if not _look_up_only():
    from sio_cli import import_commands

    app.command("import")(import_commands.import_file)

    from sio_cli import record_commands, run_commands

    app.command("run")(run_commands.run)
    app.command("up")(run_commands.up)
    app.add_typer(record_commands.record_app, name="record")

    decide_app = typer.Typer(help="Record a decision.", no_args_is_help=True)
    decide_app.command("selection")(run_commands.decide_selection)
    app.add_typer(decide_app, name="decide")

    from sio_cli import finance_commands, forecast_commands, payment_records, payout_commands

    app.add_typer(payout_commands.payout_app, name="payout")
    record_commands.record_app.command("account")(payment_records.record_account)
    record_commands.record_app.command("claim")(payment_records.record_claim)
    app.command("ledger")(finance_commands.ledger)
    app.command("adjust")(finance_commands.adjust)
    app.command("forecast")(forecast_commands.forecast)

    from sio_cli.db_commands import db_app

    app.add_typer(db_app, name="db")

    from sio_cli.replan_commands import replan_app

    app.add_typer(replan_app, name="replan")

    from sio_cli.simulate_commands import simulate

    app.command("simulate")(simulate)
