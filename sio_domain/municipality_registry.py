"""The municipalities (kommuner) of the trial, each one identity with dated numbers.

Why a registry and not a plain table of numbers: a municipality is identified by its 4-digit
*kommunenummer*, and that number changes when municipalities merge or a county is renumbered.
 ("Municipalities and mergers") decides that **a municipality is one identity with dated
numbers; payouts after a merger go to the successor, history stays with the predecessors**. So
every number a municipality has held stays in the registry with its validity interval and its
successor, and :meth:`MunicipalityRegistry.in_force` turns any of them into the number in force
on the date that matters (the command contract: "A municipality may be given by any kommunenummer
it has
held"). Names are never used to identify a municipality: Os in Hordaland (1243) and Os in Hedmark
(0441) share a name and end up in different municipalities.

The registry also holds each municipality's written standard (*målform*): a state body writes to a
municipality in the standard it has chosen (the Language Act, språklova, "Written
standard"). **Design decision:** the letters exist only in bokmål and nynorsk, so a municipality
that has declared itself language-neutral (*språknøytral*) is recorded as bokmål; nynorsk is
recorded only where the municipality has chosen nynorsk.

The shipped table is ``sio_domain/registry/municipalities.csv`` (SSB's classification of
municipalities, public record); staff may import a file in the same format to correct or extend
it, and a later version of a number replaces the earlier one. This module is pure: it parses text
it is given and answers questions about dates it is given; reading files is the caller's job.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WrittenStandard = Literal["bokmål", "nynorsk"]
WRITTEN_STANDARDS: tuple[WrittenStandard, ...] = ("bokmål", "nynorsk")

REQUIRED_COLUMNS = ("kommunenummer", "name", "valid_from", "valid_to", "successor")
OPTIONAL_COLUMNS = ("written_standard",)
HEADER_TEXT = "kommunenummer,name,valid_from,valid_to,successor[,written_standard]"

_KOMMUNENUMMER = re.compile(r"[0-9]{4}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Kommunenummer = Annotated[str, Field(pattern=r"^[0-9]{4}$")]


class MunicipalityVersion(BaseModel):
    """One number a municipality has held, with the dates it was valid and where it went next.

    ``valid_from``/``valid_to`` are inclusive; ``None`` means unknown (before) or still valid
    (after). ``successor`` is the number that took over the day after ``valid_to``: the merged
    municipality or the renumbered one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kommunenummer: Kommunenummer
    name: Annotated[str, Field(min_length=1)]
    valid_from: date | None = None
    valid_to: date | None = None
    successor: Kommunenummer | None = None
    written_standard: WrittenStandard = "bokmål"

    @model_validator(mode="after")
    def _consistent(self) -> MunicipalityVersion:
        if not self.name.strip():
            raise ValueError("the name must not be blank")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if self.successor == self.kommunenummer:
            raise ValueError(f"{self.kommunenummer} cannot be its own successor")
        if self.successor is not None and self.valid_to is None:
            raise ValueError("a successor takes over the day after valid_to, so valid_to is needed")
        return self

    @property
    def label(self) -> str:
        """Number and name, e.g. ``0138 Hobøl``: how people recognise a municipality."""
        return f"{self.kommunenummer} {self.name}"

    def valid_on(self, on: date) -> bool:
        """Whether ``on`` lies in the validity interval (an unknown bound does not exclude)."""
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_to is None or on <= self.valid_to


class MunicipalityFileError(ValueError):
    """A municipalities file that cannot be imported: the first bad row, column and value.

    Every import refuses the whole file at the first bad row (the command contract, "File
    formats"), and
    the message is one line a member of staff can act on, e.g.
    ``municipalities.csv: line 4, column valid_to: '2019-02-30' is not a real date (YYYY-MM-DD)``.
    Line numbers count the header as line 1.
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


class UnknownMunicipality(KeyError, ValueError):
    """A kommunenummer the registry does not hold.

    A ``KeyError`` (a failed look-up) and a ``ValueError`` (bad input from a file or the command
    line), with a readable message instead of ``KeyError``'s quoted repr.
    """

    def __init__(self, kommunenummer: str) -> None:
        self.kommunenummer = kommunenummer
        super().__init__(
            f"unknown kommunenummer {kommunenummer!r}: not in the municipality registry"
            " (import a municipalities file that adds it)"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class MunicipalityRegistryError(ValueError):
    """The versions given do not form a consistent registry; the message names the row."""

    def __init__(self, kommunenummer: str, message: str) -> None:
        self.kommunenummer = kommunenummer
        super().__init__(message)


class MunicipalityNotInForce(ValueError):
    """No single number of this municipality was in force on the date asked.

    Either the municipality did not exist yet, was formed by a merger of several (so a date before
    the merger has no single answer), or ceased without a successor in the registry.
    ``candidates`` holds the predecessors' numbers in the merger case.
    """

    def __init__(
        self, kommunenummer: str, on: date, message: str, candidates: tuple[str, ...] = ()
    ) -> None:
        self.kommunenummer = kommunenummer
        self.on = on
        self.candidates = candidates
        super().__init__(message)


def parse_municipalities_csv(text: str, origin: str) -> list[MunicipalityVersion]:
    """Parse a municipalities file (``kommunenummer,name,valid_from,valid_to,successor
    [,written_standard]``) into versions, or raise :class:`MunicipalityFileError` for the first
    bad row.

    Empty ``valid_from``, ``valid_to``, ``successor`` mean unknown or open; an empty
    ``written_standard`` (or a file without that column) means bokmål. Whether every successor
    exists is checked by :class:`MunicipalityRegistry`, since a file may point at numbers the
    shipped table already holds.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = _read_header(reader, origin)
        index = {column: position for position, column in enumerate(header)}
        versions: list[MunicipalityVersion] = []
        first_seen: dict[str, int] = {}
        consumed = reader.line_num
        for row in reader:
            line, consumed = consumed + 1, reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise MunicipalityFileError(
                    origin,
                    line,
                    None,
                    None,
                    f"expected {len(header)} fields ({','.join(header)}), got {len(row)}",
                )
            version = _parse_row(row, index, origin, line)
            if version.kommunenummer in first_seen:
                raise MunicipalityFileError(
                    origin,
                    line,
                    "kommunenummer",
                    version.kommunenummer,
                    f"is already on line {first_seen[version.kommunenummer]}",
                )
            first_seen[version.kommunenummer] = line
            versions.append(version)
    except csv.Error as error:
        raise MunicipalityFileError(
            origin, reader.line_num or 1, None, None, f"not valid CSV: {error}"
        ) from None
    return versions


def _read_header(reader: Iterable[list[str]], origin: str) -> list[str]:
    header_row = next(iter(reader), None)
    if header_row is None:
        raise MunicipalityFileError(
            origin, 1, None, None, f"the file is empty; expected the header {HEADER_TEXT}"
        )
    header = [_nfc(cell).strip() for cell in header_row]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    seen: set[str] = set()
    for column in header:
        if column not in known:
            raise MunicipalityFileError(
                origin, 1, None, column, f"is not a column of a municipalities file ({HEADER_TEXT})"
            )
        if column in seen:
            raise MunicipalityFileError(origin, 1, None, column, "appears twice in the header")
        seen.add(column)
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            raise MunicipalityFileError(
                origin, 1, column, None, f"missing from the header ({HEADER_TEXT})"
            )
    return header


def _parse_row(
    row: list[str], index: dict[str, int], origin: str, line: int
) -> MunicipalityVersion:
    def cell(column: str) -> str:
        return _nfc(row[index[column]]).strip() if column in index else ""

    def fail(column: str, problem: str) -> MunicipalityFileError:
        return MunicipalityFileError(origin, line, column, cell(column), problem)

    kommunenummer = cell("kommunenummer")
    if not _KOMMUNENUMMER.fullmatch(kommunenummer):
        raise fail("kommunenummer", "is not a kommunenummer (4 digits, e.g. 0301)")
    name = cell("name")
    if not name:
        raise fail("name", "is not a name (every municipality needs one)")
    valid_from = _date_cell(cell("valid_from"), lambda problem: fail("valid_from", problem))
    valid_to = _date_cell(cell("valid_to"), lambda problem: fail("valid_to", problem))
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise fail("valid_to", f"is before valid_from {valid_from.isoformat()}")
    successor = cell("successor") or None
    if successor is not None:
        if not _KOMMUNENUMMER.fullmatch(successor):
            raise fail("successor", "is not a kommunenummer (4 digits, e.g. 0301)")
        if successor == kommunenummer:
            raise fail("successor", "is the municipality's own number")
        if valid_to is None:
            raise fail(
                "valid_to",
                f"is empty, but successor {successor} is given: a successor takes over the day"
                " after valid_to",
            )
    standard_text = cell("written_standard").lower()
    written_standard: WrittenStandard = "bokmål"
    if standard_text == "nynorsk":
        written_standard = "nynorsk"
    elif standard_text not in ("", "bokmål"):
        raise fail("written_standard", "is not a written standard (bokmål or nynorsk)")
    return MunicipalityVersion(
        kommunenummer=kommunenummer,
        name=name,
        valid_from=valid_from,
        valid_to=valid_to,
        successor=successor,
        written_standard=written_standard,
    )


def _date_cell(text: str, fail: Callable[[str], MunicipalityFileError]) -> date | None:
    if not text:
        return None
    if not _ISO_DATE.fullmatch(text):
        raise fail("is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail("is not a real date (YYYY-MM-DD)") from None


def _nfc(text: str) -> str:
    """Composed Unicode, so ``bokmål`` typed on a Mac (a + combining ring) matches."""
    return unicodedata.normalize("NFC", text)


class MunicipalityRegistry:
    """Every number the trial's municipalities have held, and how the numbers connect.

    Built from versions in order; a later version with the same number replaces an earlier one, so
    ``MunicipalityRegistry([*shipped, *imported])`` lets an imported file correct the shipped
    table. The registry refuses to exist if a successor is missing, if a successor's
    ``valid_from`` is not the day after its predecessor's ``valid_to`` (when both are known), or
    if successors form a cycle: each of those would make :meth:`in_force` wrong or endless.
    """

    def __init__(self, versions: Iterable[MunicipalityVersion]) -> None:
        by_number: dict[str, MunicipalityVersion] = {}
        for version in versions:
            by_number[version.kommunenummer] = version
        self._by_number = dict(sorted(by_number.items()))
        self._predecessors: dict[str, list[MunicipalityVersion]] = {}
        for version in self._by_number.values():
            if version.successor is not None:
                self._predecessors.setdefault(version.successor, []).append(version)
        self._validate()

    def _validate(self) -> None:
        for version in self._by_number.values():
            if version.successor is None:
                continue
            successor = self._by_number.get(version.successor)
            if successor is None:
                raise MunicipalityRegistryError(
                    version.kommunenummer,
                    f"{version.label}: successor {version.successor} is not in the municipality"
                    " registry",
                )
            if (
                version.valid_to is not None
                and successor.valid_from is not None
                and successor.valid_from != version.valid_to + timedelta(days=1)
            ):
                raise MunicipalityRegistryError(
                    version.kommunenummer,
                    f"{version.label}: valid_to {version.valid_to} must be the day before its"
                    f" successor {successor.label} became valid ({successor.valid_from})",
                )
        for version in self._by_number.values():
            seen = {version.kommunenummer}
            current = version
            while current.successor is not None:
                if current.successor in seen:
                    raise MunicipalityRegistryError(
                        version.kommunenummer,
                        f"{version.label}: its successors lead back to {current.successor}",
                    )
                seen.add(current.successor)
                current = self._by_number[current.successor]

    def __contains__(self, kommunenummer: object) -> bool:
        return isinstance(kommunenummer, str) and kommunenummer in self._by_number

    def __len__(self) -> int:
        return len(self._by_number)

    def get(self, kommunenummer: str) -> MunicipalityVersion:
        """The version with exactly this number, whatever date; :class:`UnknownMunicipality` if
        the registry does not hold it."""
        try:
            return self._by_number[kommunenummer]
        except KeyError:
            raise UnknownMunicipality(kommunenummer) from None

    def all(self) -> list[MunicipalityVersion]:
        """Every version, sorted by number."""
        return list(self._by_number.values())

    def predecessors(self, kommunenummer: str) -> list[MunicipalityVersion]:
        """The versions whose successor is this number (several after a merger), by number."""
        self.get(kommunenummer)
        return list(self._predecessors.get(kommunenummer, []))

    def in_force(self, kommunenummer: str, on: date) -> MunicipalityVersion:
        """The version of this municipality in force on ``on``, from any number it has held.

         Forward while ``on`` is after ``valid_to`` (payouts after a merger go to the successor,
        ); backward while ``on`` is before ``valid_from``, but only through a single
         predecessor: before a merger the merged municipality was several, and choosing one would
         pay the wrong municipality. Raises :class:`MunicipalityNotInForce` then, or when the chain
         ends, and :class:`UnknownMunicipality` for a number the registry does not hold.
        """
        current = self.get(kommunenummer)
        while True:
            reached_from = (
                "" if current.kommunenummer == kommunenummer else f" (reached from {kommunenummer})"
            )
            if current.valid_to is not None and on > current.valid_to:
                if current.successor is None:
                    raise MunicipalityNotInForce(
                        kommunenummer,
                        on,
                        f"{current.label} ceased on {current.valid_to.isoformat()} and the"
                        f" registry holds no successor, so nothing was in force on"
                        f" {on.isoformat()}{reached_from}",
                    )
                current = self._by_number[current.successor]
                continue
            if current.valid_from is not None and on < current.valid_from:
                before = self._predecessors.get(current.kommunenummer, [])
                formed = current.valid_from.isoformat()
                if len(before) == 1:
                    current = before[0]
                    continue
                if not before:
                    raise MunicipalityNotInForce(
                        kommunenummer,
                        on,
                        f"{current.label} did not exist on {on.isoformat()}; it was formed on"
                        f" {formed} and the registry holds no predecessor{reached_from}",
                    )
                names = ", ".join(version.label for version in before)
                raise MunicipalityNotInForce(
                    kommunenummer,
                    on,
                    f"{current.label} did not exist on {on.isoformat()}; it was formed on"
                    f" {formed} from {names}{reached_from}",
                    candidates=tuple(version.kommunenummer for version in before),
                )
            return current

    def lineage(self, kommunenummer: str) -> list[str]:
        """Every number in this municipality's identity chain, oldest first.

        All ancestors (predecessors, their predecessors, ...), the number itself and every later
        successor. Merger partners are not included: Trøgstad is an ancestor of 3014, not of
        Hobøl. Ancestors come further-back generation first, by number within a generation, so
        every number comes after all of its own ancestors.
        """
        self.get(kommunenummer)
        ancestors: list[tuple[int, str]] = []
        generation = [kommunenummer]
        depth = 0
        while generation:
            depth += 1
            generation = [
                version.kommunenummer
                for number in generation
                for version in self._predecessors.get(number, [])
            ]
            ancestors.extend((depth, number) for number in generation)
        ordered = [number for _, number in sorted(ancestors, key=lambda item: (-item[0], item[1]))]
        ordered.append(kommunenummer)
        current = self._by_number[kommunenummer]
        while current.successor is not None:
            ordered.append(current.successor)
            current = self._by_number[current.successor]
        return ordered
