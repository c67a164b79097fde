"""Norwegian date wording in the municipality's written standard (målform: bokmål or nynorsk).

Why: a state body writes to a municipality in the written standard it has chosen (språklova), and
dates are written the Norwegian way ("1. desember 2015") —, "Deadlines, days and people".
Month names are the same in both standards; weekday names differ.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sio_domain.norwegian_calendar import OSLO

WrittenStandard = Literal["bokmål", "nynorsk"]

MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)
WEEKDAYS: dict[WrittenStandard, tuple[str, ...]] = {
    "bokmål": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "nynorsk": ("måndag", "tysdag", "onsdag", "torsdag", "fredag", "laurdag", "sundag"),
}


def long_date(day: date) -> str:
    """``1. desember 2015``."""
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def long_date_with_weekday(day: date, standard: WrittenStandard) -> str:
    """``tirsdag 1. desember 2015`` (bokmål) / ``tysdag 1. desember 2015`` (nynorsk)."""
    return f"{WEEKDAYS[standard][day.weekday()]} {long_date(day)}"


def short_date(day: date) -> str:
    """``01.12.2015``, the numeric form used in tables and in the seeds."""
    return day.strftime("%d.%m.%Y")


def clock(instant: datetime) -> str:
    """``kl. 10.00`` in Europe/Oslo (Norwegian clock times use a full stop)."""
    local = instant.astimezone(OSLO)
    return f"kl. {local.hour:02d}.{local.minute:02d}"


def format_period(start: date | datetime, end: date | datetime, all_day: bool) -> tuple[str, str]:
    """(date text, time text) for a table row: ``08.03.2016–09.03.2016`` and ``10.00–11.30``."""
    if all_day or not isinstance(start, datetime) or not isinstance(end, datetime):
        first = start.date() if isinstance(start, datetime) else start
        last = end.date() if isinstance(end, datetime) else end
        text = short_date(first) if first == last else f"{short_date(first)}–{short_date(last)}"
        return text, ""
    local_start, local_end = start.astimezone(OSLO), end.astimezone(OSLO)
    times = (
        f"{local_start:%H.%M}"
        if local_start == local_end
        else f"{local_start:%H.%M}–{local_end:%H.%M}"
    )
    return short_date(local_start.date()), times
