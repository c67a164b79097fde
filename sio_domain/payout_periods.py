"""Months and quarters (kvartal): the periods the trial pays for.

Payouts run quarterly (design decision **D**); a ledger line names the quarter its money is for
(``period``, ``YYYYQn``) and the run that paid it (``run``, also ``YYYYQn``, the command contract).
Participation is counted in whole calendar months ("× months of participation / 12").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

_QUARTER = re.compile(r"^([0-9]{4})Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


class _MonthFields(NamedTuple):
    year: int
    month: int


class Month(_MonthFields):
    """A calendar month, ordered in time; ``label`` is ``YYYY-MM`` (activity files).

    A tuple underneath, so hashing and ordering cost what a tuple's do: a payout run handles
    tens of thousands of months.
    """

    __slots__ = ()

    def __new__(cls, year: int, month: int) -> Month:
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1–12, got {month}")
        return super().__new__(cls, year, month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2016-05`` → Month(2016, 5); ValueError naming the text otherwise."""
        match = _MONTH.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a month (YYYY-MM, e.g. 2016-05)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        """The month ``day`` lies in."""
        return cls(day.year, day.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def quarter(self) -> Quarter:
        return _quarter_of(self)

    def next(self) -> Month:
        return _next_month(self)


class _QuarterFields(NamedTuple):
    year: int
    number: int


class Quarter(_QuarterFields):
    """A calendar quarter, ordered in time; ``label`` is ``YYYYQn`` (ledger period and run)."""

    __slots__ = ()

    def __new__(cls, year: int, number: int) -> Quarter:
        if not 1 <= number <= 4:
            raise ValueError(f"quarter must be 1–4, got {number}")
        return super().__new__(cls, year, number)

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2017Q2`` → Quarter(2017, 2); ValueError naming the text otherwise."""
        match = _QUARTER.match(text.strip().upper())
        if match is None:
            raise ValueError(f"{text!r} is not a quarter (YYYYQn, e.g. 2017Q2)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter ``day`` lies in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return _quarter_label(self)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * self.number - 2
        return Month(self.year, first), Month(self.year, first + 1), Month(self.year, first + 2)

    @property
    def last_month(self) -> Month:
        return self.months[2]

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )


@lru_cache(maxsize=4096)
def _quarter_label(quarter: Quarter) -> str:
    return f"{quarter.year:04d}Q{quarter.number}"


@lru_cache(maxsize=4096)
def _quarter_of(month: Month) -> Quarter:
    return Quarter(month.year, (month.month - 1) // 3 + 1)


@lru_cache(maxsize=4096)
def _next_month(month: Month) -> Month:
    return Month(month.year + 1, 1) if month.month == 12 else Month(month.year, month.month + 1)


def months_between(first: Month, last: Month) -> Iterator[Month]:
    """Every month from ``first`` to ``last``, both included (nothing when last < first)."""
    current = first
    while current <= last:
        yield current
        current = current.next()


def months_covered(start: date, end: date) -> Iterator[Month]:
    """The months a participation from ``start`` to ``end`` (inclusive) takes part in.

    **D:** a month counts when the participation covers its first day. Every start and end in the
    seeds falls on the first or last day of a month (01.05.2016–30.04.2019, 01.07.2019, ...), so
    this gives the seeds' whole months; a participation starting mid-month begins to count from the
    next month, one ending mid-month still counts that month.
    """
    return iter(months_spanned(start, end))


@lru_cache(maxsize=1024)
def months_spanned(start: date, end: date) -> tuple[Month, ...]:
    """:func:`months_covered` as a tuple, worked out once per (start, end).

    A payout run asks for every participation's months, and most participations of a round
    share their start and end: the months are the same tuple for all of them.
    """
    first = Month.of(start)
    if start.day != 1:
        first = first.next()
    return tuple(months_between(first, Month.of(end)))
