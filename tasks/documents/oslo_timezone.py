"""The Europe/Oslo VTIMEZONE with yearly rules, as every calendar client reads it.

Why not the library's generated VTIMEZONE: icalendar's ``Timezone.from_tzinfo`` (and
``Calendar.add_missing_timezones``) list each summer-time change as one long RDATE list; vobject,
and the servers built on it, read only the first date of such a list, so every event in summer time
after the first year lands an hour late there. Norway has followed the EU rule since 1996 (summer
time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October), which
RFC 5545 writes as two yearly RRULEs. A test compares every offset with the tz database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

TZID = "Europe/Oslo"


def oslo_vtimezone() -> Timezone:
    """A new VTIMEZONE component for Europe/Oslo (CET/CEST, the EU rule since 1996)."""
    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add("x-lic-location", TZID)
    daylight = TimezoneDaylight()
    daylight.add("tzname", "CEST")
    daylight.add("tzoffsetfrom", timedelta(hours=1))
    daylight.add("tzoffsetto", timedelta(hours=2))
    daylight.add("dtstart", datetime(1996, 3, 31, 2, 0, 0))
    daylight.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    standard = TimezoneStandard()
    standard.add("tzname", "CET")
    standard.add("tzoffsetfrom", timedelta(hours=2))
    standard.add("tzoffsetto", timedelta(hours=1))
    standard.add("dtstart", datetime(1996, 10, 27, 3, 0, 0))
    standard.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    timezone.add_component(daylight)
    timezone.add_component(standard)
    return timezone
