"""Reading the instant a run acts at (``--as-of``): ISO 8601, Europe/Oslo when no offset is given.

the command contract: "DATETIME is ISO 8601; without an offset it is read as Europe/Oslo". A bare
date
means the start of that day in Oslo.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sio_domain.norwegian_calendar import OSLO
from sio_domain.text_fields import FIRST_YEAR, LAST_YEAR


def check_year(option: str, text: str, day: date) -> None:
    """Refuse a day outside the years sio can reckon with, naming the option and the value.

    The same years every edge accepts (``sio_domain.text_fields``, FIRST_YEAR–LAST_YEAR): the
    trial's rounds (2015–2023) with a wide margin either side. A year 0001 or 9999 is a typing
    slip, not a date of the trial, and near the ends of the calendar the arithmetic of a
    deadline or a time zone overflows (design decision (D)).
    """
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(
            f"{option}: {text!r} is outside the years sio works with ({FIRST_YEAR}–{LAST_YEAR})"
        )


def parse_day(text: str, *, option: str) -> date:
    """A calendar day given as ``YYYY-MM-DD``; one ValueError line naming ``option`` otherwise."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
    check_year(option, text, day)
    return day


def parse_as_of(text: str | None, *, now: datetime, option: str = "--as-of") -> datetime:
    """The instant ``text`` names, or ``now`` when it is empty; raises ValueError naming it."""
    if text is None or not text.strip():
        return now.astimezone(OSLO)
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), time(0))
        except ValueError:
            raise ValueError(
                f"{option}: {value!r} is not an ISO 8601 date or datetime "
                "(e.g. 2016-01-12T09:00 or 2016-01-12T09:00+01:00)"
            ) from None
    check_year(option, value, parsed.date())  # before any arithmetic: 9999-12-31 +14:00 overflows
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=OSLO)  # a wall-clock time skipped by DST moves forward
    instant = parsed.astimezone(OSLO)
    check_year(option, value, instant.date())  # 2050-12-31T23:59-12:00 is 2051 in Oslo
    return instant
