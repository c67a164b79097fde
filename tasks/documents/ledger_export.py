"""Ledger lines as files people open: CSV (UTF-8, comma-separated) and Excel (xlsx, openpyxl).

The JSON form is INTERFACE.md's ledger line (``LedgerLine.as_json``); the files carry the same
columns plus the line's key and basis (how it was computed), so a reader can follow a correction
to the line it corrects. Amounts are numbers with two decimals in the spreadsheet and
``1234.50`` in CSV, never rounded again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from sio_domain.money import format_amount
from tasks.payouts.ledger import LEDGER_COLUMNS, LedgerLine

FILE_COLUMNS = (*LEDGER_COLUMNS, "line_key", "basis")
_AMOUNT_FORMAT = "#,##0.00"


def _cells(line: LedgerLine) -> list[str]:
    data = line.as_json()
    return [
        *(str(data[column]) if data[column] is not None else "" for column in LEDGER_COLUMNS),
        line.line_key,
        line.basis,
    ]


def ledger_csv(lines: Sequence[LedgerLine]) -> str:
    """The lines as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FILE_COLUMNS)
    for line in lines:
        writer.writerow(_cells(line))
    return buffer.getvalue()


def ledger_xlsx(lines: Sequence[LedgerLine], *, title: str, sheet: str = "Utbetalinger") -> bytes:
    """The lines as an Excel workbook: a title row, a header row, one row per line and a total."""
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet[:31]
    worksheet.append([title])
    worksheet["A1"].font = Font(bold=True)
    worksheet.append(list(FILE_COLUMNS))
    for cell in worksheet[2]:
        cell.font = Font(bold=True)
    amount_column = FILE_COLUMNS.index("amount") + 1
    for line in lines:
        row = _cells(line)
        row_values: list[object] = list(row)
        row_values[amount_column - 1] = Decimal(format_amount(line.amount))
        worksheet.append(row_values)
        worksheet.cell(worksheet.max_row, amount_column).number_format = _AMOUNT_FORMAT
    total = sum((line.amount for line in lines), Decimal("0.00"))
    worksheet.append([])
    worksheet.append(["Sum", *([""] * (amount_column - 2)), Decimal(format_amount(total))])
    worksheet.cell(worksheet.max_row, 1).font = Font(bold=True)
    worksheet.cell(worksheet.max_row, amount_column).number_format = _AMOUNT_FORMAT
    worksheet.freeze_panes = "A3"
    for column, width in zip("ABCDEFGHIJ", (14, 22, 7, 9, 9, 18, 16, 36, 36, 60), strict=True):
        worksheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
