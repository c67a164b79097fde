"""Statements per run and municipality: files that open, a table for the UI, mail in målform."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from deployments.settings import load_settings
from sio_domain.statement_wording import column_header
from tasks.documents.ledger_export import FILE_COLUMNS, STATEMENT_COLUMNS, ledger_csv, ledger_xlsx
from tasks.documents.statements import statement_table_rows
from tasks.mail.outbox import attachments_of
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import ContactRecord, OutgoingMail
from tests.integration.test_payout import R2016_END, Trial, total
from tests.support.document_clients import (
    pdf_pages,
    pdf_text,
    require_document_clients,
    spreadsheets_to_pdf,
)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trial]:
    request.getfixturevalue("sio_home")
    url = load_settings().resolved_database_url
    yield Trial(url, tmp_path)
    dispose_engine(url)


def finance_officer(db: Trial, number: str, email: str) -> None:
    with session_for(db.url) as session:
        session.add(
            ContactRecord(
                kommunenummer=number,
                name="Kari Nordmann",
                role="finance_officer",
                email=email,
                imported_at=datetime(2016, 1, 2, tzinfo=UTC),
            )
        )
        session.commit()


def two_municipalities(db: Trial) -> None:
    """Os (Hordaland, nynorsk) in model A and Selbu (bokmål) in model B, round 2016."""
    db.participate("sio-2016", "1243", "A", date(2016, 5, 1), R2016_END, date(2016, 5, 1))
    db.participate("sio-2016", "1664", "B", date(2016, 5, 1), R2016_END)
    db.expenditure(2015, {"1243": "250000000", "1664": "90000000"})


def test_each_municipality_gets_a_statement_that_opens(db: Trial) -> None:
    two_municipalities(db)
    exports = db.folder / "exports"
    result = db.run("sio-2016", "2016Q3", exports_dir=exports)
    folder = exports / "statements" / "sio-2016" / "2016Q3"
    assert sorted(path.name for path in folder.iterdir()) == [
        "utbetaling-sio-2016-2016Q3-1243.csv",
        "utbetaling-sio-2016-2016Q3-1243.xlsx",
        "utbetaling-sio-2016-2016Q3-1664.csv",
        "utbetaling-sio-2016-2016Q3-1664.xlsx",
    ]
    sheet = load_workbook(folder / "utbetaling-sio-2016-2016Q3-1243.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(column_header(c, "nynorsk") for c in STATEMENT_COLUMNS)  # Os: nn
    os_lines = [line for line in result.lines if line.kommunenummer == "1243"]
    assert len(rows) == 1 + len(os_lines) + 1  # header, lines, sum
    assert rows[-1][0] == "Sum" and rows[-1][6] == f"=SUM(G2:G{1 + len(os_lines)})"
    assert sum(Decimal(str(row[6])) for row in rows[1:-1]) == total(os_lines)
    text = (folder / "utbetaling-sio-2016-2016Q3-1664.csv").read_text(encoding="utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {r["Tilskuddsdel"] for r in records} == {"øremerket tilskudd (ramme)", "inntektspåslag"}
    assert {record["Kommunenummer"] for record in records} == {"1664"}


def test_a_statement_prints_on_one_page_in_libreoffice_with_the_sum_it_computes(
    db: Trial, tmp_path: Path
) -> None:
    """LibreOffice opens the statement, computes the Sum formula and prints one A4 page."""
    require_document_clients()
    two_municipalities(db)
    exports = db.folder / "exports"
    result = db.run("sio-2016", "2016Q3", exports_dir=exports)
    folder = exports / "statements" / "sio-2016" / "2016Q3"
    many = tmp_path / "many-lines.xlsx"  # 24 lines, the six pages of old
    many.write_bytes(
        ledger_xlsx(
            (result.lines * 3)[:24], title="24 linjer", standard="bokmål",
            columns=STATEMENT_COLUMNS,
        )
    )  # fmt: skip
    files = [folder / "utbetaling-sio-2016-2016Q3-1243.xlsx", many]
    pdfs = spreadsheets_to_pdf(files, tmp_path)
    os_text = pdf_text(pdfs[0], tmp_path)
    assert pdf_pages(pdfs[0], tmp_path) == 1 and pdf_pages(pdfs[1], tmp_path) == 1
    assert "rundsumtilskot" in os_text and "Tilskotsdel" in os_text  # model A: lump sum
    assert "3. kvartal 2016" in os_text  # the page header
    assert "rammetilskudd" not in os_text and "income_supplement" not in os_text
    sum_line = next(line for line in os_text.splitlines() if line.strip().startswith("Sum"))
    os_lines = [line for line in result.lines if line.kommunenummer == "1243"]
    assert _digits(sum_line) == _digits(f"{total(os_lines):.2f}")
    many_text = pdf_text(pdfs[1], tmp_path)
    many_sum = next(line for line in many_text.splitlines() if line.strip().startswith("Sum"))
    assert _digits(many_sum) == _digits(f"{total((result.lines * 3)[:24]):.2f}")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def test_the_table_artifact_has_one_row_per_municipality_and_a_column_per_component(
    db: Trial,
) -> None:
    two_municipalities(db)
    db.participate(
        "sio-2016", "0926", "A", date(2016, 5, 1), R2016_END, date(2016, 5, 1), signed=False
    )
    db.expenditure(2015, {"0926": "80000000"})
    result = db.run("sio-2016", "2016Q2")
    rows = {row["kommunenummer"]: row for row in statement_table_rows(result)}
    assert set(rows) == {"1243", "1664", "0926"}
    assert rows["1664"]["frame"] != "0.00" and rows["1664"]["lump_sum"] == "0.00"
    assert rows["1243"]["status"] == "paid"
    assert rows["0926"]["status"].startswith(
        "holdt tilbake: Helsedirektoratet har ikke mottatt samarbeidsavtalen"
    )
    paid_total = sum(Decimal(row["total"]) for row in rows.values() if row["status"] == "paid")
    assert paid_total == result.total


def test_the_statement_is_mailed_to_the_finance_officer_in_the_municipalitys_standard(
    db: Trial,
) -> None:
    """Os writes nynorsk, Selbu bokmål (språklova): one mail each, once."""
    two_municipalities(db)
    finance_officer(db, "1243", "okonomi@os.kommune.no")
    finance_officer(db, "1664", "okonomi@selbu.kommune.no")
    result = db.run("sio-2016", "2016Q2")
    db.run("sio-2016", "2016Q2")  # a re-run sends nothing again
    with session_for(db.url) as session:
        mails = session.exec(select(OutgoingMail).order_by(OutgoingMail.kommunenummer)).all()
        files = [[a.filename for a in attachments_of(session, mail)] for mail in mails]
    assert [(m.kommunenummer, m.kind, m.recipients) for m in mails] == [
        ("1243", "payout_statement", "okonomi@os.kommune.no"),
        ("1664", "payout_statement", "okonomi@selbu.kommune.no"),
    ]
    assert "utbetalinga" in mails[0].body and "2. kvartal 2016" in mails[0].body  # nynorsk
    assert "utbetalingen" in mails[1].body  # bokmål
    assert files[0] == [
        "utbetalingsbrev-sio-2016-2016Q2-1243.pdf",
        "utbetaling-sio-2016-2016Q2-1243.xlsx",
        "utbetaling-sio-2016-2016Q2-1243.csv",
    ]
    assert result.flags == []


def test_a_municipality_without_a_finance_officer_is_flagged(db: Trial) -> None:
    two_municipalities(db)
    result = db.run("sio-2016", "2016Q2")
    assert sorted(flag.kommunenummer for flag in result.flags) == ["1243", "1664"]
    assert "no finance officer" in result.flags[0].reason


def test_the_ledger_exports_open_as_csv_and_spreadsheet(db: Trial, tmp_path: Path) -> None:
    two_municipalities(db)
    db.run("sio-2016", "2016Q3")
    lines = db.ledger("sio-2016")
    records = list(csv.DictReader(io.StringIO(ledger_csv(lines), newline="")))
    assert len(records) == len(lines) == 8
    assert records[0]["amount"] == f"{lines[0].amount:.2f}"
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(ledger_xlsx(lines, title="Utbetalinger sio-2016"))
    sheet = load_workbook(path).active
    assert sheet is not None
    assert "Utbetalinger sio-2016" in (sheet.oddHeader.center.text or "")
    assert [cell.value for cell in sheet[1]] == [column_header(c, "bokmål") for c in FILE_COLUMNS]
    assert sheet.max_row == 1 + len(lines) + 1


def test_a_ledger_line_as_json_is_exactly_the_interface_shape(db: Trial) -> None:
    db.participate("sio-2016", "1714", "A", date(2016, 5, 1), R2016_END, date(2016, 5, 1))
    db.expenditure(2015, {"1714": "900000000"})
    db.run("sio-2016", "2017Q2")
    line = next(
        line.as_json()
        for line in db.ledger("sio-2016")
        if line.component == "income_supplement" and line.period == "2017Q2"
    )
    assert line == {
        "kommunenummer": "1714",
        "municipality": "Stjørdal",
        "model": "A",
        "run": "2017Q2",
        "period": "2017Q2",
        "component": "income_supplement",
        "amount": "6250000.00",
        "corrects": None,
    }
