"""``sio payout``, ``sio ledger``, ``sio adjust`` as a user types them (INTERFACE.md, Commands).

The commands are run through a Typer app holding exactly the functions sio_cli/main.py registers,
so these tests do not depend on the rest of the CLI being wired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from deployments.settings import load_settings
from sio_cli import finance_commands, payment_records, payout_commands
from tasks.database import dispose_engine, session_for
from tasks.finance_imports import import_finance_file
from tasks.tables import ParticipationRecord, SignatureRecord
from tests.support.payout_approval import ATTESTANT, DISPONENT, record_payable

app = typer.Typer(pretty_exceptions_enable=False)
app.add_typer(payout_commands.payout_app, name="payout")
app.command("ledger")(finance_commands.ledger)
app.command("adjust")(finance_commands.adjust)
record_app = typer.Typer()
record_app.command("account")(payment_records.record_account)
record_app.command("claim")(payment_records.record_claim)
app.add_typer(record_app, name="record")
INTERFACE_KEYS = [
    "kommunenummer",
    "municipality",
    "model",
    "run",
    "period",
    "component",
    "amount",
    "corrects",
]


@pytest.fixture
def stjordal(sio_home: Path) -> Iterator[None]:
    """Stjørdal in round 2016 model A, signed, with its 2015 expenditure imported."""
    url = load_settings().resolved_database_url
    with session_for(url) as session:
        session.add(
            ParticipationRecord(
                round_id="sio-2016",
                kommunenummer="1714",
                model="A",
                start=date(2016, 5, 1),
                end=date(2019, 4, 30),
                abf_start=date(2016, 5, 1),
            )
        )
        for party in ("municipality", "directorate"):
            session.add(
                SignatureRecord(
                    round_id="sio-2016",
                    kommunenummer="1714",
                    party=party,
                    signed_on=date(2016, 1, 28),
                    place="Stjørdal",
                    signatory="Rådmann",
                    received_on=date(2016, 1, 29),
                    recorded_at=datetime(2016, 1, 29, tzinfo=UTC),
                )
            )
        record_payable(
            session, "sio-2016", "1714", start=date(2016, 5, 1), end=date(2019, 4, 30),
            at=datetime(2016, 1, 29, tzinfo=UTC),
        )  # fmt: skip
        session.commit()
    kostra = sio_home / "kostra.csv"
    kostra.write_text("kommunenummer,year,function,amount\n1714,2015,254,900000000\n")
    import_finance_file("expenditure", kostra, load_settings())
    yield
    dispose_engine(url)


def invoke(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.stdout, result.stderr


def pay(run: str) -> dict[str, object]:
    """Hold the run, approve it in both roles (which pays it) and return the paid run's JSON."""
    code, out, err = invoke("payout", "sio-2016", "--run", run, "--format", "json")
    assert code == 0 and json.loads(out)["status"] == "awaiting_approval", err
    for role, name in (("disponent", DISPONENT), ("attestant", ATTESTANT)):
        code, _, err = invoke("payout", "approve", "sio-2016", "--run", run, "--as", role,
                              "--name", name)  # fmt: skip
        assert code == 0, err
    code, out, _ = invoke("payout", "sio-2016", "--run", run, "--format", "json")
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.usefixtures("stjordal")
def test_payout_prints_the_runs_lines_as_json_and_writes_the_statement(sio_home: Path) -> None:
    code, out, err = invoke("payout", "sio-2016", "--run", "2016Q3", "--format", "json")
    proposal = json.loads(out)
    assert code == 0 and proposal["status"] == "awaiting_approval" and "awaits approval" in err
    assert [list(line) for line in proposal["lines"]] == [INTERFACE_KEYS] * len(proposal["lines"])
    assert {line["period"] for line in proposal["lines"]} == {"2016Q2", "2016Q3"}
    result = pay("2016Q3")
    assert (result["run"], result["status"], result["total"]) == (
        "2016Q3", "already_run", proposal["total"],
    )  # fmt: skip
    assert result["lines"] == proposal["lines"]
    statement = sio_home / "exports/statements/sio-2016/2016Q3/utbetaling-sio-2016-2016Q3-1714.xlsx"
    assert load_workbook(statement).active is not None


@pytest.mark.usefixtures("stjordal")
def test_dry_run_shows_a_table_and_writes_nothing() -> None:
    code, out, _ = invoke("payout", "sio-2016", "--run", "2016Q2", "--dry-run")
    assert code == 0 and "dry run" in out and "income_supplement" in out
    code, out, _ = invoke("ledger", "sio-2016", "--format", "json")
    assert json.loads(out) == []


@pytest.mark.usefixtures("stjordal")
def test_ledger_exports_json_csv_and_xlsx(tmp_path: Path) -> None:
    pay("2016Q2")
    code, out, _ = invoke("ledger", "sio-2016", "--format", "json", "--kommune", "5035")
    lines = json.loads(out)
    assert code == 0 and len(lines) == 2  # 5035 is Stjørdal's later number: same municipality
    assert lines[0] == {
        "kommunenummer": "1714",
        "municipality": "Stjørdal",
        "model": "A",
        "run": "2016Q2",
        "period": "2016Q2",
        "component": "income_supplement",
        "amount": "4166666.67",
        "corrects": None,
    }
    code, out, _ = invoke("ledger", "sio-2016", "--format", "csv")
    assert out.splitlines()[0].startswith(",".join(INTERFACE_KEYS))
    target = tmp_path / "ledger.xlsx"
    code, _, err = invoke("ledger", "sio-2016", "--format", "xlsx", "--output", str(target))
    assert code == 0 and "2 lines written" in err
    assert load_workbook(target).active.max_row == 2 + 2 + 2  # type: ignore[union-attr]


@pytest.mark.usefixtures("stjordal")
def test_adjust_is_paid_by_the_next_run() -> None:
    pay("2016Q2")
    code, _, err = invoke(
        "adjust", "sio-2016", "1714", "--period", "2016Q2", "--amount", "-1500.50",
        "--reason", "Tilbakebetaling etter revisjon",
    )  # fmt: skip
    assert code == 0 and "-1500.50" in err
    lines: list[dict[str, str]] = pay("2016Q3")["lines"]  # type: ignore[assignment]
    adjustments = [line for line in lines if line["component"] == "adjustment"]
    assert [(a["period"], a["amount"]) for a in adjustments] == [("2016Q2", "-1500.50")]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("adjust", "sio-2016", "1714", "--period", "2016Q5", "--amount", "1", "--reason", "x"),
         "'2016Q5' is not a quarter"),
        (("adjust", "sio-2016", "1714", "--period", "2016Q2", "--amount", "1,5", "--reason", "x"),
         "'1,5' is not an amount"),
        (("adjust", "sio-2016", "1851", "--period", "2016Q2", "--amount", "1", "--reason", "x"),
         "takes no part in sio-2016"),
        (("payout", "sio-2016", "--run", "2016-2"), "'2016-2' is not a quarter"),
        (("payout", "sio-2099", "--run", "2016Q2"), "no such round"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("stjordal")
def test_mistakes_are_one_line_on_stderr(arguments: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*arguments)
    assert code == 1 and out == ""
    assert err.startswith("sio: error:") and message in err
