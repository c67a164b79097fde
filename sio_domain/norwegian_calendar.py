"""Norwegian working days and Europe/Oslo time — the trial's calendar.

Why a module of its own: every reminder, meeting and payout date in the trial is computed from
these few rules, so they live in one place, on a maintained holiday table (the ``holidays``
package) rather than a hand-written list, and with pendulum for Europe/Oslo offsets across DST.

Rules ("Deadlines, days and people"):
- a working day (virkedag) is Monday–Friday and not a public holiday (helligdag/høytidsdag):
  1 Jan, Maundy Thursday, Good Friday, Easter Sunday and Monday, 1 May, 17 May, Ascension Day,
  Whit Sunday and Monday, 25 and 26 Dec; 24 and 31 Dec are working days;
- a deadline for submitting something to the directorate that falls on a non-working day moves to
  the next working day (domstolloven § 149, applied through forvaltningsloven § 30);
- effective dates (go-live, participation start and end) and the end dates of plan activities do
  not move;
- meetings, gatherings and payout runs never land on a non-working day.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from functools import lru_cache

import pendulum

from sio_domain.norwegian_holidays import HOLIDAYS

OSLO = pendulum.timezone("Europe/Oslo")
"""The trial's one time zone (Europe/Oslo): CET in winter, CEST in summer."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """The year's public holidays, from the table precomputed from the ``holidays`` package.

    Loading the package itself loads every country's rules (about 0.1 s); the table holds Norway's
    for 2000–2050, checked against the package by a unit test. Other years ask the package.
    """
    listed = HOLIDAYS.get(year)
    if listed is None:
        import holidays  # outside the table's years only

        # include_sundays=False: Sundays are weekend days; the table keeps the named holidays.
        return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False))
    return frozenset(
        date(year, int(month_day[:2]), int(month_day[3:])) for month_day in listed.split()
    )


def is_public_holiday(day: date) -> bool:
    """True on a Norwegian public holiday (offentlig høytidsdag), whatever the weekday."""
    return day in _holidays_of(day.year)


def is_working_day(day: date) -> bool:
    """True on Monday–Friday that is not a public holiday (virkedag)."""
    return day.weekday() < 5 and not is_public_holiday(day)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, otherwise the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def effective_deadline(nominal: date) -> date:
    """The day a submission deadline actually falls on (fristforlengelse).

    A deadline for submitting something to the directorate that ends on a Saturday, Sunday or
    public holiday is extended to the next working day (domstolloven § 149 second paragraph,
    applied through forvaltningsloven § 30). The nominal date is kept alongside, never replaced.
    """
    return next_working_day(nominal)


@lru_cache(maxsize=16384)
def working_days_before(day: date, count: int) -> date:
    """The working day that lies ``count`` working days before ``day`` (``day`` not counted).

    Reminders count backwards in working days (design decision **D**: 14, 7 and 1 working days
    before a deadline), so a reminder never lands on a weekend or holiday. Memoised, and counted
    on a plain ``date`` (pendulum's date arithmetic is slow): every agenda asks it for every rung.
    """
    if count < 0:
        raise ValueError(f"count must be zero or more, got {count}")
    if count == 0:
        return day
    current = date(day.year, day.month, day.day)
    remaining = count
    while remaining:
        current -= timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def nth_working_day_of_month(year: int, month: int, n: int) -> date:
    """The n-th working day of a month (payout runs: 5th working day of the quarter's month)."""
    if n < 1:
        raise ValueError(f"n must be 1 or more, got {n}")
    day = date(year, month, 1)
    seen = 0
    while True:
        if is_working_day(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)


def nth_weekday_of_month(year: int, month: int, weekday: str, n: int) -> date:
    """The n-th given weekday of a month (e.g. the second Tuesday)."""
    index = WEEKDAYS.index(weekday)
    first = date(year, month, 1)
    offset = (index - first.weekday()) % 7
    result = first + timedelta(days=offset + 7 * (n - 1))
    if result.month != month:
        raise ValueError(f"{year}-{month:02d} has no {n}. {weekday}")
    return result


def meeting_day(year: int, month: int, weekday: str, n: int) -> date:
    """The proposed day of a monthly meeting: the n-th weekday, moved off a non-working day.

    Status meetings default to the second Tuesday (design decision **D**); a holiday on that day
    (for
    example 17 May) moves the meeting to the next working day.
    """
    return next_working_day(nth_weekday_of_month(year, month, weekday, n))


def oslo_datetime(day: date, at: time) -> pendulum.DateTime:
    """Wall-clock time ``at`` on ``day`` in Europe/Oslo, with the offset in force that day."""
    return pendulum.datetime(day.year, day.month, day.day, at.hour, at.minute, tz=OSLO)


def to_oslo(instant: pendulum.DateTime) -> pendulum.DateTime:
    """The same instant seen in Europe/Oslo."""
    return instant.in_timezone(OSLO)


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter 1–4) of a date."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_label(year: int, quarter: int) -> str:
    """The trial's period label, ``YYYYQn`` (the command contract, ledger ``period`` and
    ``run``)."""
    return f"{year}Q{quarter}"


def quarter_first_day(year: int, quarter: int) -> date:
    """The first calendar day of a quarter."""
    return date(year, 3 * (quarter - 1) + 1, 1)
