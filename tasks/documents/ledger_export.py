"""Ledger lines as files people open: CSV and Excel (xlsx, openpyxl).

- ``ledger_csv``: the contract's CSV (UTF-8, comma, the JSON keys as header, ``1234.50``), for
  scripts; the JSON form is the ledger line of ``LedgerLine.as_json``.
- ``ledger_csv_norwegian``: the same lines for a Norwegian-locale spreadsheet: semicolon
  separated, a UTF-8 byte-order mark (so Excel reads ``ø`` right), decimal comma, Norwegian headers
  and component names in the reader's written standard.
- ``ledger_xlsx``: header in row 1 (the title is the page header of the printout), amounts as
  numbers, the Sum a ``SUM`` formula, printed landscape on A4, fitted to the page width with the
  header row repeated, so a statement prints on one page with the names beside the amounts.

Every text cell is formula-injection safe (``tasks.documents.spreadsheet_cells``). Amounts are
never rounded
again: they are the ledger's øre.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from sio_domain.money import format_amount
from sio_domain.statement_wording import SUM_LABEL, column_header, component_name
from sio_domain.written_standard import WrittenStandard
from tasks.documents.spreadsheet_cells import csv_safe
from tasks.payouts.ledger import LEDGER_COLUMNS, LedgerLine

FILE_COLUMNS = (*LEDGER_COLUMNS, "line_key", "basis")
"""The staff ledger's columns: the JSON keys plus the line's key and how it was computed."""

STATEMENT_COLUMNS = tuple(column for column in LEDGER_COLUMNS if column != "corrects")
"""A municipality's statement: no internal keys or computation text (a correction shows as
``korreksjon`` with the quarter it is for)."""

_AMOUNT_FORMAT = "#,##0.00"
_WIDTHS = {
    "kommunenummer": 17,
    "municipality": 18,
    "model": 8,
    "run": 11,
    "period": 11,
    "component": 28,
    "amount": 16,
    "corrects": 30,
    "line_key": 30,
    "basis": 48,
}


def _values(line: LedgerLine, columns: Sequence[str]) -> dict[str, str]:
    data = {key: "" if value is None else str(value) for key, value in line.as_json().items()}
    data["line_key"], data["basis"] = line.line_key, line.basis
    return {column: data[column] for column in columns}


def ledger_csv(lines: Sequence[LedgerLine], columns: Sequence[str] = FILE_COLUMNS) -> str:
    """The lines as the contract's CSV text: comma, header row of JSON keys, ``1234.50``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180; also quotes a bare CR
    writer.writerow(columns)
    for line in lines:
        values = _values(line, columns)
        writer.writerow(
            value if column == "amount" else csv_safe(value) for column, value in values.items()
        )
    return buffer.getvalue()


def ledger_csv_norwegian(
    lines: Sequence[LedgerLine],
    standard: WrittenStandard = "bokmål",
    columns: Sequence[str] = FILE_COLUMNS,
) -> bytes:
    """The lines for a Norwegian-locale spreadsheet: ``;``, UTF-8 with BOM, ``1234,50``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(column_header(column, standard) for column in columns)
    for line in lines:
        row = []
        for column, value in _values(line, columns).items():
            if column == "amount":
                row.append(format_amount(line.amount).replace(".", ","))
            elif column == "component":
                row.append(csv_safe(component_name(value, standard)))
            else:
                row.append(csv_safe(value))
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


def ledger_xlsx(
    lines: Sequence[LedgerLine],
    *,
    title: str,
    sheet: str = "Utbetalinger",
    standard: WrittenStandard = "bokmål",
    columns: Sequence[str] = FILE_COLUMNS,
) -> bytes:
    """The lines as a printable workbook: header row 1, one row per line, a Sum formula."""
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append([column_header(column, standard) for column in columns])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    amount_column = columns.index("amount") + 1
    for line in lines:
        _append_line(worksheet, line, columns, standard)
    _append_sum(worksheet, len(lines), amount_column, standard)
    for index, column in enumerate(columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column, 16)
    worksheet.freeze_panes = "A2"
    _print_setup(worksheet, title)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append_line(
    worksheet: Worksheet, line: LedgerLine, columns: Sequence[str], standard: WrittenStandard
) -> None:
    values = _values(line, columns)
    row: list[object] = [
        Decimal(format_amount(line.amount))
        if column == "amount"
        else component_name(value, standard)
        if column == "component"
        else value
        for column, value in values.items()
    ]
    worksheet.append(row)
    for cell, column in zip(worksheet[worksheet.max_row], columns, strict=True):
        if column == "amount":
            cell.number_format = _AMOUNT_FORMAT
        elif isinstance(cell.value, str):
            cell.data_type = "s"  # text stays text: openpyxl would store "=…" as a formula


def _append_sum(
    worksheet: Worksheet, count: int, amount_column: int, standard: WrittenStandard
) -> None:
    letter = get_column_letter(amount_column)
    total: object = f"=SUM({letter}2:{letter}{count + 1})" if count else Decimal("0.00")
    row: list[object] = [SUM_LABEL[standard]] + [None] * (amount_column - 2) + [total]
    worksheet.append(row)
    worksheet.cell(worksheet.max_row, 1).font = Font(bold=True)
    total_cell = worksheet.cell(worksheet.max_row, amount_column)
    total_cell.font = Font(bold=True)
    total_cell.number_format = _AMOUNT_FORMAT


def _print_setup(worksheet: Worksheet, title: str) -> None:
    """A4 landscape, fitted to one page wide, header row on every page, title as page header."""
    worksheet.page_setup.orientation = "landscape"
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    worksheet.print_title_rows = "1:1"
    worksheet.print_options.gridLines = True
    header, footer = worksheet.oddHeader, worksheet.oddFooter
    assert header is not None and footer is not None
    header.center.text = title.replace("&", "&&")  # "&" starts a code in header text
    header.center.size = 12
    footer.right.text = "Side &P av &N"
