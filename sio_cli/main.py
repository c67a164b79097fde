"""The ``sio`` command: one entry point for staff and scripts (INTERFACE.md, Commands).

Commands import what they need inside their body, so a quick look-up like ``sio plan`` never pays
for Prefect or the database layer.
"""

from __future__ import annotations

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

from sio_cli import import_commands  # noqa: E402

app.command("import")(import_commands.import_file)

from sio_cli import record_commands, run_commands  # noqa: E402

app.command("run")(run_commands.run)
app.command("up")(run_commands.up)
app.add_typer(record_commands.record_app, name="record")

decide_app = typer.Typer(help="Record a decision.", no_args_is_help=True)
decide_app.command("selection")(run_commands.decide_selection)
app.add_typer(decide_app, name="decide")

from sio_cli import finance_commands  # noqa: E402

app.command("payout")(finance_commands.payout)
app.command("ledger")(finance_commands.ledger)
app.command("adjust")(finance_commands.adjust)

from sio_cli.db_commands import db_app  # noqa: E402
from sio_cli.simulate_commands import simulate  # noqa: E402

app.command("simulate")(simulate)

app.add_typer(db_app, name="db")
