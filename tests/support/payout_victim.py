"""Payout runs as staff give them with the ``sio`` command, for a test that kills them mid-way.

:func:`prepare` records a trial with many paying municipalities; :func:`pay_quarters` then gives,
for each quarter, the commands staff give (``sio payout ROUND --run Q``, ``sio payout approve``
in both roles, ``sio payout file``) through the real command-line app in this process. Every
step may be repeated: a killed run is finished by giving the same commands again.
"""

from __future__ import annotations

import importlib
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from typer.main import get_command

from deployments.settings import Settings
from sio_cli.main import app
from tasks.intake.finance_imports import import_activity, import_expenditure
from tasks.records.municipality_lookup import registry
from tasks.storage.database import dispose_engine, session_for, upgrade
from tasks.storage.tables import ParticipationRecord, SignatureRecord
from tests.support.payout_approval import ACCOUNT, ATTESTANT, DISPONENT, record_payable

ROUND = "sio-2016"
QUARTERS = ("2016Q3", "2016Q4")
START, END = date(2016, 5, 1), date(2019, 4, 30)
SERVICES = ("home_nursing", "practical_assistance", "long_term_stay")


def payees(count: int) -> list[str]:
    """The first ``count`` kommunenumre in force when the round starts."""
    return [m.kommunenummer for m in registry().all() if m.valid_on(START)][:count]


def prepare(home: Path, count: int) -> None:
    """A trial in ``home`` where ``count`` municipalities on model A are paid every quarter."""
    url = Settings(home=home).resolved_database_url
    upgrade(url)
    numbers = payees(count)
    recorded = datetime(2015, 1, 1, tzinfo=UTC)
    with session_for(url) as session:
        for number in numbers:
            session.add(
                ParticipationRecord(
                    round_id=ROUND, kommunenummer=number, model="A", start=START, end=END,
                    abf_start=START,
                )
            )  # fmt: skip
            record_payable(session, ROUND, number, start=START, end=END, at=recorded)
            for party in ("municipality", "directorate"):
                session.add(
                    SignatureRecord(
                        round_id=ROUND, kommunenummer=number, party=party,
                        signed_on=date(2016, 2, 1), place="Oslo", signatory="Test",
                        received_on=date(2016, 2, 1), recorded_at=recorded,
                    )
                )  # fmt: skip
        session.commit()
    rows = ["kommunenummer,year,function,amount"]
    for index, number in enumerate(numbers):
        amount = Decimal(40_000_000 + 1_000_003 * index)
        for function in ("234", "253", "254", "261"):
            rows.append(f"{number},2015,{function},{amount / 4:.2f}")
    expenditure = home / "expenditure.csv"
    expenditure.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_expenditure(expenditure, database_url=url, now=datetime(2016, 3, 1, tzinfo=UTC))
    rows = ["kommunenummer,month,service_code,units"]
    for index, number in enumerate(numbers):
        for month in range(5, 13):
            for offset, service in enumerate(SERVICES):
                rows.append(f"{number},2016-{month:02d},{service},{10 + index + offset}.5")
    activity = home / "activity.csv"
    activity.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_activity(activity, database_url=url, now=datetime(2017, 1, 10, tzinfo=UTC))
    dispose_engine(url)


COMMAND = get_command(app)  # built once: typer builds every command's parameters
PRELOADED = [  # what the payout commands import inside their bodies, loaded before any kill
    importlib.import_module(name)
    for name in (
        "tasks.payouts.payout_engine",
        "tasks.payouts.payment_files",
        "tasks.documents.statements",
        "tasks.documents.ledger_export",
        "tasks.mail.mail_delivery",
        "tasks.records.replanning",
        "rich.console",
        "rich.table",
    )
]


def sio(*arguments: str) -> int:
    """``sio ARGUMENTS…`` through the real command-line app; its exit code."""
    try:
        code = COMMAND.main(list(arguments), prog_name="sio", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return int(code or 0)


def pay_quarters(home: Path, smtp_port: int) -> None:
    """Hold, approve twice and write the payment file of every quarter, as staff would.

    A refusal of a step already done ("already paid", "already approved") is what a repeat
    gives; any other failure raises.
    """
    os.environ["SIO_HOME"] = str(home)
    os.environ["SIO_SMTP_HOST"] = "127.0.0.1"
    os.environ["SIO_SMTP_PORT"] = str(smtp_port)
    for quarter in QUARTERS:
        if sio("payout", ROUND, "--run", quarter, "--format", "json") != 0:
            raise RuntimeError(f"sio payout {ROUND} --run {quarter} failed")
        for role, name in (("disponent", DISPONENT), ("attestant", ATTESTANT)):
            sio("payout", "approve", ROUND, "--run", quarter, "--as", role, "--name", name)
        output = home / "payments" / f"{quarter}.xml"
        arguments = ("--run", quarter, "--output", str(output), "--debtor-account", ACCOUNT)
        if sio("payout", "file", ROUND, *arguments) != 0:
            raise RuntimeError(f"sio payout file {ROUND} --run {quarter} failed")
    dispose_engine(Settings(home=home).resolved_database_url)
