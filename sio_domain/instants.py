"""Reading the instant a run acts at (``--as-of``): ISO 8601, Europe/Oslo when no offset is given.

the command contract: "DATETIME is ISO 8601; without an offset it is read as Europe/Oslo". A bare
date
means the start of that day in Oslo.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sio_domain.norwegian_calendar import OSLO


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
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=OSLO)  # a wall-clock time skipped by DST moves forward
    return parsed.astimezone(OSLO)
