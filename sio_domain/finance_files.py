"""Rows of the finance files — expenditure and activity (the command contract, File formats) —
checked.

- ``expenditure``: ``kommunenummer,year,function,amount`` — net operating expenditure (netto
  driftsutgifter) on a KOSTRA function (234, 253, 254, 261) in NOK, at most two decimals.
- ``activity``: ``kommunenummer,month,service_code,units`` — units of a service in a month
  (``YYYY-MM``), at most two decimals ("Activity data arrive aggregated per
  municipality, month and service code").

A bad row refuses the whole file with its line (the header is line 1), column and value
(the command contract). A row carrying an 11-digit number anywhere — a personal identity number
(fødselsnummer), also written 6+5 with a space — is refused: the trial's finance needs no personal
data. The number itself is masked in the message so it does not spread to logs.
**D:** the rule is literal, so an expenditure of NOK 10 000 000 000 or more (only Oslo's care
budget is that large) cannot be imported; no participant comes close.

Pure: the caller reads the file and gives a ``resolve`` function for kommunenummer look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sio_domain.financing import KOSTRA_FUNCTIONS
from sio_domain.payout_periods import Month
from sio_domain.services import SERVICE_CATALOGUE

EXPENDITURE_COLUMNS = ("kommunenummer", "year", "function", "amount")
ACTIVITY_COLUMNS = ("kommunenummer", "month", "service_code", "units")
FIRST_YEAR, LAST_YEAR = 2000, 2099

_PERSONAL_NUMBER = re.compile(r"(?<![0-9])[0-9]{6} ?[0-9]{5}(?![0-9])")
_KOMMUNENUMMER = re.compile(r"^[0-9]{4}$")
_YEAR = re.compile(r"^[0-9]{4}$")
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")

Resolver = Callable[[str, date], str]
"""(any kommunenummer the municipality has held, date) → the number in force; ValueError if none."""


class FinanceFileError(ValueError):
    """A finance file refused at its first bad row: ``file: line N, column C: 'value' problem``."""

    def __init__(
        self, origin: str, line: int, column: str | None, value: str | None, problem: str
    ) -> None:
        self.origin, self.line, self.column, self.value = origin, line, column, value
        where = f"{origin}: line {line}" + (f", column {column}" if column else "")
        super().__init__(
            f"{where}: {value!r} {problem}" if value is not None else f"{where}: {problem}"
        )


@dataclass(frozen=True)
class ExpenditureRow:
    """One checked expenditure row; ``kommunenummer`` is the number in force at the year's end."""

    kommunenummer: str
    year: int
    function: str
    amount_ore: int


@dataclass(frozen=True)
class ActivityRow:
    """One checked activity row; ``kommunenummer`` is the number in force in that month."""

    kommunenummer: str
    month: Month
    service_code: str
    units_hundredths: int


def header_index(row: Sequence[str], columns: tuple[str, ...], origin: str) -> dict[str, int]:
    """Column positions from the header row; refuses unknown, repeated or missing columns."""
    header = [cell.strip().removeprefix("\ufeff") for cell in row]
    expected = ",".join(columns)
    for column in header:
        if column not in columns:
            raise FinanceFileError(origin, 1, None, column, f"is not a column ({expected})")
    for column in columns:
        if header.count(column) != 1:
            problem = "is missing from" if column not in header else "appears twice in"
            raise FinanceFileError(origin, 1, column, None, f"{problem} the header ({expected})")
    return {column: header.index(column) for column in columns}


def refuse_personal_data(row: Sequence[str], header: Sequence[str], origin: str, line: int) -> None:
    """Refuse a row in which any cell holds an 11-digit number (a fødselsnummer)."""
    for position, cell in enumerate(row):
        match = _PERSONAL_NUMBER.search(cell)
        if match is not None:
            column = header[position] if position < len(header) else f"#{position + 1}"
            masked = match.group(0)[:4] + "*" * (len(match.group(0)) - 4)
            raise FinanceFileError(
                origin,
                line,
                column,
                masked,
                "looks like a personal identity number (fødselsnummer, 11 digits): personal data"
                " is not accepted — finance needs only totals per municipality",
            )


def parse_expenditure_row(
    row: Sequence[str], index: dict[str, int], resolve: Resolver, origin: str, line: int
) -> ExpenditureRow:
    """Check one expenditure row (after :func:`refuse_personal_data`)."""
    cell = _cells(row, index, origin, line)
    year_text = cell("year")
    if not _YEAR.match(year_text) or not FIRST_YEAR <= int(year_text) <= LAST_YEAR:
        raise FinanceFileError(
            origin, line, "year", year_text, f"is not a year ({FIRST_YEAR}–{LAST_YEAR})"
        )
    year = int(year_text)
    number = _resolved(cell("kommunenummer"), date(year, 12, 31), resolve, origin, line)
    function = cell("function")
    if function not in KOSTRA_FUNCTIONS:
        raise FinanceFileError(
            origin,
            line,
            "function",
            function,
            f"is not a care-service KOSTRA function ({', '.join(KOSTRA_FUNCTIONS)})",
        )
    amount = _hundredths(cell("amount"), "amount", origin, line)
    return ExpenditureRow(number, year, function, amount)


def parse_activity_row(
    row: Sequence[str], index: dict[str, int], resolve: Resolver, origin: str, line: int
) -> ActivityRow:
    """Check one activity row (after :func:`refuse_personal_data`)."""
    cell = _cells(row, index, origin, line)
    month_text = cell("month")
    try:
        month = Month.parse(month_text)
    except ValueError:
        raise FinanceFileError(
            origin, line, "month", month_text, "is not a month (YYYY-MM, e.g. 2016-05)"
        ) from None
    if not FIRST_YEAR <= month.year <= LAST_YEAR:
        raise FinanceFileError(
            origin, line, "month", month_text, f"is not in {FIRST_YEAR}–{LAST_YEAR}"
        )
    number = _resolved(cell("kommunenummer"), month.first_day, resolve, origin, line)
    code = cell("service_code")
    if code not in SERVICE_CATALOGUE:
        raise FinanceFileError(
            origin,
            line,
            "service_code",
            code,
            f"is not a service code ({', '.join(SERVICE_CATALOGUE)})",
        )
    units = _hundredths(cell("units"), "units", origin, line)
    return ActivityRow(number, month, code, units)


def _cells(
    row: Sequence[str], index: dict[str, int], origin: str, line: int
) -> Callable[[str], str]:
    if len(row) != len(index):
        raise FinanceFileError(
            origin,
            line,
            None,
            None,
            f"expected {len(index)} fields ({','.join(index)}), got {len(row)}",
        )

    def cell(column: str) -> str:
        return row[index[column]].strip()

    return cell


def _resolved(text: str, on: date, resolve: Resolver, origin: str, line: int) -> str:
    if not _KOMMUNENUMMER.match(text):
        raise FinanceFileError(
            origin, line, "kommunenummer", text, "is not a kommunenummer (4 digits, e.g. 1714)"
        )
    try:
        return resolve(text, on)
    except (KeyError, ValueError) as error:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        raise FinanceFileError(
            origin, line, "kommunenummer", text, f"cannot be used: {message}"
        ) from None


def _hundredths(text: str, column: str, origin: str, line: int) -> int:
    """A non-negative number with at most two decimals, in hundredths (øre, or 1/100 unit)."""
    if text.startswith("-") and _DECIMAL.match(text[1:]):
        raise FinanceFileError(origin, line, column, text, "is negative")
    if not _DECIMAL.match(text):
        raise FinanceFileError(origin, line, column, text, "is not a number (e.g. 1234.50)")
    whole, _, fraction = text.partition(".")
    if len(fraction) > 2:
        raise FinanceFileError(origin, line, column, text, "has more than two decimals")
    return int(whole) * 100 + int((fraction + "00")[:2])
