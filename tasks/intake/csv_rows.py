"""Reading an import file row by row: the one CSV reader every ``sio import`` kind shares.

Why one reader: the command contract ("File formats") promises the same thing for every kind —
UTF-8 with
a header row, comma-separated, ISO dates — and the same refusal: the whole file is refused at the
first bad row, with the file's line number, the column and the value. Putting the header check,
the line counting and the cell parsers in one place keeps that message identical everywhere:

    contacts.csv: line 4, column email: 'kari@' is not an e-mail address

The API, in full:

- :func:`read_rows` (``path``, ``required``, ``optional``) yields a :class:`CsvRow` per non-blank
  data row, streaming: a file is never read into memory whole. The header may name the required
  columns and any of the optional ones, in any order; a column outside both, a repeated column or
  a missing required column refuses the file at line 1. An optional column left out of the
  header reads as the empty string.
- :class:`CsvRow` holds the row's cells (NFC-normalised, stripped) by column and its line. Its
  parsers (``required``, ``optional``, ``kommunenummer``, ``choice``, ``iso_date``,
  ``optional_iso_date``, ``iso_datetime``, ``email``, ``phone``) return a value or raise;
  ``row.refuse(column, problem)`` builds the error for any other check.
- :class:`ImportRefused` is the one error; its message is one line.

Line numbers count the header as line 1 and are the line a row *starts* on (a quoted cell may
span lines). Blank lines are skipped. Nothing here touches the database: the callers check every
row first and only then write, in one transaction, so a refused file stores nothing.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sio_domain.personal_data import find_personal_number, mask
from sio_domain.text_fields import FIRST_YEAR, LAST_YEAR, text_problem

OSLO_ZONE = ZoneInfo("Europe/Oslo")

_KOMMUNENUMMER = re.compile(r"[0-9]{4}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
# E-mail syntax (RFC 5321/5322 "dot-atom" local part, DNS host name). email-validator is not a
# dependency of sio, so this is a deliberate subset: no quoted local parts, no IP-literal domains,
# ASCII local part (few mail systems accept SMTPUTF8); the domain may be an IDN (bø.kommune.no).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")


class ImportRefused(ValueError):
    """A file that cannot be imported: the first bad row, column and value, in one line.

    ``FILE: line N, column C: 'VALUE' problem`` — column and value are left out when the problem
    is not about one cell (``FILE: line 7: expected 5 fields …``).
    """

    def __init__(
        self, origin: str, line: int, column: str | None, value: str | None, problem: str
    ) -> None:
        self.origin = origin
        self.line = line
        self.column = column
        self.value = value
        self.problem = problem
        where = f"{origin}: line {line}"
        if column is not None:
            where += f", column {column}"
        what = f"{value!r} {problem}" if value is not None else problem
        super().__init__(f"{where}: {what}")


@dataclass(frozen=True)
class CsvRow:
    """One data row: its cells by column name, where it came from, and typed cell parsers."""

    origin: str
    line: int
    cells: Mapping[str, str]

    def __getitem__(self, column: str) -> str:
        """The cell's text, stripped; ``""`` for an empty cell or an optional column left out."""
        return self.cells.get(column, "")

    def refuse(self, column: str, problem: str) -> ImportRefused:
        """The error for this row's ``column``, naming the cell's value (raise it)."""
        return ImportRefused(self.origin, self.line, column, self[column], problem)

    def required(self, column: str, what: str) -> str:
        """The cell's text; an empty cell is refused (``what`` names what belongs there)."""
        if not self[column]:
            raise self.refuse(column, f"is empty; {what} is required")
        return self[column]

    def optional(self, column: str) -> str | None:
        """The cell's text, or None when empty."""
        return self[column] or None

    def kommunenummer(self, column: str = "kommunenummer") -> str:
        """A syntactically valid kommunenummer (4 digits); whether it exists is the caller's."""
        value = self[column]
        if not _KOMMUNENUMMER.fullmatch(value):
            raise self.refuse(column, "is not a kommunenummer (4 digits, e.g. 0301)")
        return value

    def choice(self, column: str, options: Sequence[str], *, allow_empty: bool = False) -> str:
        """One of ``options`` (compared case-insensitively, returned as listed); ``""`` if empty
        and ``allow_empty``."""
        value = self[column]
        if not value and allow_empty:
            return ""
        for option in options:
            if value.casefold() == option.casefold():
                return option
        raise self.refuse(column, f"is not one of {', '.join(options)}")

    def iso_date(self, column: str) -> date:
        """An ISO 8601 date (``YYYY-MM-DD``) that exists in the calendar; empty is refused."""
        value = self.optional_iso_date(column)
        if value is None:
            raise self.refuse(column, "is empty; a date (YYYY-MM-DD) is required")
        return value

    def optional_iso_date(self, column: str) -> date | None:
        """An ISO 8601 date that exists in the calendar, or None when the cell is empty."""
        value = self[column]
        if not value:
            return None
        if not _ISO_DATE.fullmatch(value):
            raise self.refuse(column, "is not a date (YYYY-MM-DD)")
        if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            raise self.refuse(column, f"is not a date from {FIRST_YEAR} to {LAST_YEAR}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.refuse(column, "is not a real date (YYYY-MM-DD)") from None

    def iso_datetime(self, column: str) -> datetime:
        """An ISO 8601 date and time; without an offset it is Europe/Oslo wall-clock time.

        A date alone means the start of that day in Oslo. A wall-clock time that does not exist
        in Oslo (skipped when summer time begins) is refused rather than guessed; one that occurs
        twice (when summer time ends) is read as the first. Returned in UTC.
        """
        value = self[column]
        if not value:
            raise self.refuse(column, "is empty; a date and time (YYYY-MM-DDTHH:MM) is required")
        if not _ISO_DATETIME.fullmatch(value):
            raise self.refuse(column, "is not a date and time (YYYY-MM-DDTHH:MM[:SS][+01:00])")
        if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
            raise self.refuse(column, f"is not a date from {FIRST_YEAR} to {LAST_YEAR}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.refuse(column, "is not a real date and time") from None
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        local = parsed.replace(tzinfo=OSLO_ZONE)
        if local.astimezone(UTC).astimezone(OSLO_ZONE).replace(tzinfo=None) != parsed:
            raise self.refuse(column, "does not exist in Europe/Oslo (clocks skip that hour)")
        return local.astimezone(UTC)

    def email(self, column: str = "email") -> str:
        """An e-mail address, with its domain in lower case (local part kept as written)."""
        value = self[column]
        problem = _email_problem(value)
        if problem is not None:
            raise self.refuse(column, problem)
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"

    def phone(self, column: str = "phone") -> str | None:
        """A telephone number (digits, spaces, ``+ ( ) - . /``, 5–15 digits), or None if empty."""
        value = self[column]
        if not value:
            return None
        digits = sum(char.isdigit() for char in value)
        if not _PHONE.fullmatch(value) or not 5 <= digits <= 15:
            raise self.refuse(column, "is not a telephone number (e.g. +47 810 20 050)")
        return value


def read_rows(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    origin: str | None = None,
) -> Iterator[CsvRow]:
    """Yield the data rows of the CSV file at ``path`` after checking its header.

    ``origin`` is how messages name the file (default: the path as given). Raises
    :class:`ImportRefused` for an empty file, a bad header, a row with the wrong number of
    fields, text that is not UTF-8 or is not valid CSV — and ``FileNotFoundError`` with the
    path when there is no such file.
    """
    name = origin or str(path)
    layout = ",".join(required) + "".join(f"[,{column}]" for column in optional)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    with handle:
        reader = csv.reader(_decoded_lines(handle, name), strict=True)
        try:
            header = _header(next(reader, None), name, required, optional, layout)
            consumed = reader.line_num
            for cells in reader:
                line, consumed = consumed + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    raise ImportRefused(
                        name,
                        line,
                        None,
                        None,
                        f"expected {len(header)} fields ({','.join(header)}), got {len(cells)}",
                    )
                row = dict(zip(header, map(_clean, cells), strict=True))
                _refuse_unsafe_text(name, line, row)
                yield CsvRow(name, line, row)
        except csv.Error as error:
            raise ImportRefused(
                name, reader.line_num or 1, None, None, f"is not valid CSV: {error}"
            ) from None


def _decoded_lines(handle: BinaryIO, name: str) -> Iterator[str]:
    """The file's lines as text, so a byte that is not UTF-8 is reported on its own line."""
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportRefused(
                name,
                number,
                None,
                None,
                f"is not UTF-8 text (byte {error.start + 1} of the line; save the file as UTF-8)",
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _header(
    cells: list[str] | None,
    name: str,
    required: Sequence[str],
    optional: Sequence[str],
    layout: str,
) -> list[str]:
    if cells is None:
        raise ImportRefused(name, 1, None, None, f"the file is empty; expected the header {layout}")
    header = [_clean(cell).lower() for cell in cells]
    if len(header) == 1 and ";" in header[0]:
        raise ImportRefused(
            name, 1, None, header[0], f"is separated by semicolons; sio reads commas ({layout})"
        )
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if column not in required and column not in optional:
            raise ImportRefused(
                name, 1, str(position), column, f"is not a column of this file ({layout})"
            )
        if column in seen:
            raise ImportRefused(name, 1, str(position), column, "appears twice in the header")
        seen.add(column)
    for column in required:
        if column not in seen:
            raise ImportRefused(name, 1, column, None, f"is missing from the header ({layout})")
    return header


def _refuse_unsafe_text(name: str, line: int, row: Mapping[str, str]) -> None:
    """Control characters, NUL and personal identity numbers are refused in every cell.

    Shown masked: the refusal must not repeat a fødselsnummer (`sio_domain.personal_data`).
    """
    for column, value in row.items():
        problem = text_problem(value, multiline=True)
        if problem is None:
            continue
        number = find_personal_number(value)
        shown = mask(number) if number is not None else value
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise ImportRefused(name, line, column, shown, problem)


def _clean(cell: str) -> str:
    """Composed Unicode (``rådmann`` typed on a Mac matches), without surrounding spaces."""
    return unicodedata.normalize("NFC", cell).strip()


def _email_problem(value: str) -> str | None:
    if not value:
        return "is empty; an e-mail address is required"
    if value.count("@") != 1:
        return "is not an e-mail address (name@domain)"
    local, domain = value.split("@")
    if len(value) > 254 or len(local) > 64:
        return "is too long for an e-mail address"
    if not _LOCAL_PART.fullmatch(local):
        return "is not an e-mail address (the part before @ is not valid)"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "is not an e-mail address (the domain is not valid)"
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "is not an e-mail address (the domain is not valid)"
    if not _TOP_LEVEL.fullmatch(labels[-1]):
        return "is not an e-mail address (the domain is not valid)"
    return None
