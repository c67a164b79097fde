"""Exported text never becomes a formula in a spreadsheet; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tasks.documents.ledger_export import ledger_csv, ledger_csv_norwegian, ledger_xlsx
from tasks.documents.spreadsheet_cells import FORMULA_TRIGGERS, csv_safe, is_formula_like
from tasks.payouts.ledger import LedgerLine

HOSTILE = ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")


def line(municipality: str, amount: str = "-2500.00", basis: str = "") -> LedgerLine:
    return LedgerLine(
        "1714", municipality, "A", "2016Q3", "2016Q3", "adjustment", Decimal(amount), None,
        "sio-2016:1714:2016Q3:adjustment:2016Q3", basis,
    )  # fmt: skip


def test_every_formula_trigger_is_neutralised_in_csv() -> None:
    for text in HOSTILE:
        assert csv_safe(text) == "'" + text
    assert csv_safe("Stjørdal") == "Stjørdal"


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_numbers_are_never_prefixed(amount: Decimal) -> None:
    text = f"{amount:.2f}"
    assert csv_safe(text) == text and csv_safe(text.replace(".", ",")) == text.replace(".", ",")


@given(st.text(min_size=1))
def test_a_neutralised_cell_never_starts_a_formula(text: str) -> None:
    safe = csv_safe(text)
    assert not safe.startswith(FORMULA_TRIGGERS) or not is_formula_like(safe)
    assert safe.removeprefix("'") == text or safe == text


def test_hostile_names_stay_text_in_both_csvs_and_the_amount_stays_a_number() -> None:
    lines = [line(name, basis=name) for name in HOSTILE]
    records = list(csv.DictReader(io.StringIO(ledger_csv(lines), newline="")))
    assert [r["municipality"] for r in records] == ["'" + name for name in HOSTILE]
    assert [r["basis"] for r in records] == ["'" + name for name in HOSTILE]
    assert {r["amount"] for r in records} == {"-2500.00"}
    text = ledger_csv_norwegian(lines).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert [row[1] for row in rows[1:]] == ["'" + name for name in HOSTILE]
    assert {row[6] for row in rows[1:]} == {"-2500,00"}


def test_hostile_names_are_string_cells_in_xlsx() -> None:
    lines = [line(name) for name in HOSTILE]
    book = load_workbook(io.BytesIO(ledger_xlsx(lines, title="t")))
    sheet = book.active
    assert sheet is not None
    cells = [sheet.cell(row, 2) for row in range(2, 2 + len(HOSTILE))]
    # A bare CR survives when openpyxl writes with lxml (&#13;), and reads back as LF without it.
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)
    assert [c.value.replace("\r", "\n") for c in cells] == [
        name.replace("\r", "\n") for name in HOSTILE
    ]
    amounts = [sheet.cell(row, 7) for row in range(2, 2 + len(HOSTILE))]
    assert {(c.value, c.data_type) for c in amounts} == {(-2500, "n")}
    total = sheet.cell(2 + len(HOSTILE), 7)
    assert total.data_type == "f" and total.value == f"=SUM(G2:G{1 + len(HOSTILE)})"
