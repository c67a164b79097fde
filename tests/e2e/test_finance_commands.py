"""``sio payout``, ``sio ledger``, ``sio adjust`` as a user types them (the command contract,
Commands).

The commands are run through a Typer app holding exactly the functions sio_cli/main.py registers,
so these tests do not depend on the rest of the CLI being wired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sepaxml
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from deployments.settings import load_settings
from sio_cli import finance_commands, forecast_commands, payment_records, payout_commands
from tasks.intake.finance_imports import import_finance_file
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import ParticipationRecord, SignatureRecord
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
    assert load_workbook(target).active.max_row == 1 + 2 + 1  # type: ignore[union-attr]
    code, out, _ = invoke("ledger", "sio-2016", "--format", "csv-no")
    assert code == 0 and out.startswith("\ufeffKommunenummer;Kommune;Modell;")
    assert ";inntektspåslag;4166666,67;" in out


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


@pytest.mark.usefixtures("stjordal")
def test_the_run_pays_only_after_two_different_people_approved() -> None:
    code, out, err = invoke("payout", "sio-2016", "--run", "2016Q3")
    assert code == 0 and "awaiting approval" in out and "awaits approval" in err
    code, _, err = invoke(
        "payout", "approve", "sio-2016", "--run", "2016Q3", "--as", "disponent", "--name", "Kari"
    )
    assert code == 0 and "attestant" in err
    code, _, err = invoke(
        "payout", "approve", "sio-2016", "--run", "2016Q3", "--as", "attestant", "--name", "kari"
    )
    assert code == 1 and "role separation" in err and err.count("\n") == 1
    assert json.loads(invoke("ledger", "sio-2016", "--format", "json")[1]) == []
    code, _, err = invoke(
        "payout", "approve", "sio-2016", "--run", "2016Q3", "--as", "attestant", "--name", "Ola"
    )
    assert code == 0 and "approved (disponent: Kari; attestant: Ola) and paid" in err
    assert json.loads(invoke("ledger", "sio-2016", "--format", "json")[1])


PAIN_001_XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"


@pytest.mark.usefixtures("stjordal")
def test_the_payment_file_validates_against_pain_001_and_sums_to_the_run(tmp_path: Path) -> None:
    from decimal import Decimal

    from lxml import etree

    paid = pay("2016Q3")
    target = tmp_path / "pain.xml"
    code, _, err = invoke(
        "payout", "file", "sio-2016", "--run", "2016Q3", "--output", str(target),
        "--debtor-account", "7694 05 12340",
    )  # fmt: skip
    assert code == 0, err
    document = etree.parse(str(target))
    etree.XMLSchema(etree.parse(str(PAIN_001_XSD))).assertValid(document)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    amounts = [
        Decimal(a) for a in document.xpath("//p:CdtTrfTxInf/p:Amt/p:InstdAmt/text()", namespaces=ns)
    ]  # noqa: E501
    assert (
        sum(amounts)
        == Decimal(str(paid["total"]))
        == Decimal(document.xpath("string(//p:GrpHdr/p:CtrlSum)", namespaces=ns))
    )
    assert document.xpath("string(//p:CdtrAcct/p:Id/p:IBAN)", namespaces=ns) == "NO9386011117947"
    assert document.xpath("//p:InstdAmt/@Ccy", namespaces=ns) == ["NOK"]
    text = document.xpath("string(//p:RmtInf/p:Ustrd)", namespaces=ns)
    assert "2016Q3" in text and "2016Q2-2016Q3" in text


@pytest.mark.usefixtures("stjordal")
def test_no_payment_file_before_the_run_is_approved(tmp_path: Path) -> None:
    invoke("payout", "sio-2016", "--run", "2016Q3")
    code, _, err = invoke(
        "payout", "file", "sio-2016", "--run", "2016Q3", "--output", str(tmp_path / "p.xml"),
        "--debtor-account", "76940512340",
    )  # fmt: skip
    assert code == 1 and "not approved and paid yet" in err
    assert not (tmp_path / "p.xml").exists()


@pytest.mark.usefixtures("stjordal")
def test_record_account_checks_the_kontonummer() -> None:
    code, _, err = invoke("record", "account", "sio-2016", "1714", "--account", "86011117948")
    assert code == 1 and "--account" in err and "not a valid kontonummer" in err
    code, _, err = invoke("record", "account", "sio-2016", "1714", "--account", "8601.11.17947")
    assert code == 0 and "86011117947 recorded" in err


@pytest.mark.usefixtures("stjordal")
def test_a_system_adaptation_claim_is_paid_up_to_the_maximum() -> None:
    code, _, err = invoke("record", "claim", "sio-2016", "1714", "--amount", "30000",
                          "--on", "2016-06-01", "--reason", "Faktura 2016-117")  # fmt: skip
    assert code == 0, err
    code, _, err = invoke("record", "claim", "sio-2016", "1714", "--amount", "10000.01",
                          "--on", "2016-06-02", "--reason", "Faktura 2016-118")  # fmt: skip
    assert code == 1 and "above the round's maximum of 40000.00" in err
    lines: list[dict[str, str]] = pay("2016Q3")["lines"]  # type: ignore[assignment]
    claims = [line for line in lines if line["component"] == "system_adaptation"]
    assert [line["amount"] for line in claims] == ["30000.00"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("payout", "sio-2016", "--run", "2016Q5"), "'2016Q5' is not a quarter"),
        (("payout", "sio-2016", "--run", "2010Q1"), "sio-2016 holds payout runs from"),
        (("payout", "sio-2016", "--run", "9999Q4", "--dry-run"), "holds payout runs from"),
        (("payout", "approve", "sio-2016", "--run", "2016Q3", "--as", "disponent", "--name",
          "Kari"), "no proposal to approve yet"),
        (("adjust", "sio-2016", "1714", "--period", "2016Q1", "--amount", "1", "--reason", "x"),
         "takes part in sio-2016 only 2016-05-01 to 2019-04-30"),
        (("record", "claim", "sio-2016", "1714", "--amount", "-5", "--on", "2016-06-01",
          "--reason", "x"), "--amount: a system-adaptation claim must be a positive amount"),
        (("record", "claim", "sio-2016", "1714", "--amount", "5", "--on", "1. juni",
          "--reason", "x"), "--on"),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("stjordal")
def test_finance_mistakes_are_one_line(arguments: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*arguments)
    assert code == 1 and out == ""
    assert err.startswith("sio: error:") and message in err and err.count("\n") == 1


@pytest.mark.usefixtures("stjordal")
def test_an_adjustment_outside_participation_needs_a_stated_reason() -> None:
    code, _, err = invoke(
        "adjust", "sio-2016", "1714", "--period", "2016Q1", "--amount", "500",
        "--reason", "Forskudd", "--override-reason", "Vedtak 2016/12: forskudd før oppstart",
    )  # fmt: skip
    assert code == 0, err


def import_activity(sio_home: Path, rows: list[str]) -> None:
    path = sio_home / "activity.csv"
    path.write_text("kommunenummer,month,service_code,units\n" + "\n".join(rows) + "\n")
    import_finance_file("activity", path, load_settings())


@pytest.mark.usefixtures("stjordal")
def test_the_forecast_converges_on_what_is_paid(sio_home: Path, tmp_path: Path) -> None:
    forecast_app = typer.Typer()
    forecast_app.command("forecast")(forecast_commands.forecast)
    forecast_app.command("ledger")(finance_commands.ledger)  # two commands: a group, as in sio

    def forecast_json(year: int) -> dict[str, dict[str, str]]:
        result = CliRunner().invoke(
            forecast_app, ["forecast", "sio-2016", "--year", str(year), "--format", "json"]
        )
        assert result.exit_code == 0, result.stderr
        return {row["component"]: row for row in json.loads(result.stdout)}

    import_activity(sio_home, ["1714,2016-05,home_nursing,100", "1714,2016-06,home_nursing,100"])
    early = forecast_json(2016)
    assert set(early) == {"lump_sum", "income_supplement", "abf"}
    assert early["income_supplement"]["forecast"] == "16666666.67"  # May–Dec, capped
    # 2 months reported at 750 NOK/hour, 6 projected at the average of 100 hours a month
    assert early["abf"]["forecast"] == f"{8 * 100 * 750}.00"
    assert "2 months reported" in early["abf"]["assumption"]
    assert early["abf"]["paid_to_date"] == "0.00"
    months = [f"1714,2016-{m:02d},home_nursing,{40 * m}" for m in range(7, 13)]
    import_activity(sio_home, months)
    for run in ("2016Q3", "2016Q4", "2017Q1"):
        pay(run)
    late = forecast_json(2016)
    for component in ("lump_sum", "income_supplement", "abf"):
        assert late[component]["forecast"] == late[component]["paid_to_date"], component
    expected = (200 + sum(40 * m for m in range(7, 13))) * 750
    assert late["abf"]["forecast"] == f"{expected}.00"
    target = tmp_path / "forecast.xlsx"
    result = CliRunner().invoke(
        forecast_app,
        ["forecast", "sio-2016", "--year", "2016", "--format", "xlsx", "--output", str(target)],
    )
    assert result.exit_code == 0 and load_workbook(target).active.max_row == 2 + 3  # type: ignore[union-attr]


@pytest.mark.parametrize("label", ["2016Q5", "2010Q1", "9999Q4"])
@pytest.mark.usefixtures("sio_home")
def test_sio_run_payout_refuses_a_bad_run_in_one_line(label: str) -> None:
    from sio_cli import run_commands

    run_app = typer.Typer(pretty_exceptions_enable=False)
    run_app.command("run")(run_commands.run)
    run_app.command("ledger")(finance_commands.ledger)
    result = CliRunner().invoke(run_app, ["run", "payout", "--round", "sio-2016", "--run", label])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("sio: error: --run") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
