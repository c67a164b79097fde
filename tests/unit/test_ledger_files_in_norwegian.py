"""Ledger and statement files speak Norwegian, keep the contract's CSV, and print on one page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from sio_domain.entitlement import COMPONENTS
from sio_domain.statement_wording import COMPONENT_NAMES, component_name
from tasks.documents.ledger_export import (
    FILE_COLUMNS,
    STATEMENT_COLUMNS,
    ledger_csv,
    ledger_csv_norwegian,
    ledger_xlsx,
)
from tasks.payouts.ledger import LEDGER_COLUMNS, LedgerLine


def lines() -> list[LedgerLine]:
    return [
        LedgerLine("1243", "Os", "A", "2016Q3", "2016Q3", component, Decimal(amount), None,
                   f"sio-2016:1243:2016Q3:{component}", "")
        for component, amount in (("frame", "1234567.89"), ("income_supplement", "1000.11"))
    ]  # fmt: skip


def test_every_component_has_a_name_in_both_standards() -> None:
    assert set(COMPONENT_NAMES) == set(COMPONENTS)
    assert component_name("frame", "bokmål") == "øremerket tilskudd (ramme)"
    assert component_name("frame", "nynorsk") == "øyremerkt tilskot (ramme)"
    assert "rammetilskudd" not in {n for names in COMPONENT_NAMES.values() for n in names.values()}


def test_the_contract_csv_keeps_comma_and_english_keys() -> None:
    text = ledger_csv(lines())
    assert text.splitlines()[0] == ",".join(FILE_COLUMNS)
    assert FILE_COLUMNS[: len(LEDGER_COLUMNS)] == LEDGER_COLUMNS
    assert [r["amount"] for r in csv.DictReader(io.StringIO(text))] == ["1234567.89", "1000.11"]
    assert [r["component"] for r in csv.DictReader(io.StringIO(text))] == [
        "frame",
        "income_supplement",
    ]


def test_the_norwegian_csv_has_bom_semicolons_decimal_comma_and_nynorsk_words() -> None:
    data = ledger_csv_norwegian(lines(), "nynorsk", columns=STATEMENT_COLUMNS)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:7] == [
        "Kommunenummer", "Kommune", "Modell", "Utbetalt i kvartal", "Gjeld kvartal",
        "Tilskotsdel", "Beløp (kr)",
    ]  # fmt: skip
    assert [row[5] for row in rows[1:]] == ["øyremerkt tilskot (ramme)", "inntektspåslag"]
    assert [row[6] for row in rows[1:]] == ["1234567,89", "1000,11"]


def test_the_workbook_has_its_header_in_row_1_a_sum_formula_and_a_one_page_print_setup() -> None:
    book = load_workbook(io.BytesIO(ledger_xlsx(lines(), title="Utbetaling 3. kvartal 2016")))
    sheet = book.active
    assert sheet is not None
    assert sheet["A1"].value == "Kommunenummer" and sheet["F1"].value == "Tilskuddsdel"
    assert sheet["F2"].value == "øremerket tilskudd (ramme)"
    assert sheet["A4"].value == "Sum" and sheet["G4"].value == "=SUM(G2:G3)"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert "Utbetaling 3. kvartal 2016" in (sheet.oddHeader.center.text or "")
