"""Calendar files (iCalendar, RFC 5545) for plans, invitations and reminders.

Why icalendar and not hand-written text: line folding, escaping, VTIMEZONE and UID rules are easy
to get subtly wrong, and a calendar program silently drops what it cannot read. One VEVENT per
plan event, with a UID derived from the event's stable key, so re-sending a moved meeting updates
the entry in the recipient's calendar instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from sio_domain.plan import PlanEvent

OSLO_ZONE = ZoneInfo("Europe/Oslo")
PRODID = "-//Helsedirektoratet//sio//NO"
UID_DOMAIN = "sio.helsedir.no"

_RESPONSIBLE = {
    "municipality": "kommunen",
    "directorate": "Helsedirektoratet",
    "both": "begge parter",
}


def event_uid(key: str) -> str:
    """A stable, opaque UID for an event key (same key → same UID, across runs and machines)."""
    return f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{UID_DOMAIN}"


def plan_calendar(
    events: Iterable[PlanEvent],
    *,
    name: str,
    stamp: datetime,
    method: str | None = None,
    organizer: str | None = None,
    attendees: Iterable[str] = (),
    sequence: int = 0,
) -> bytes:
    """An iCalendar file with one VEVENT per event, times in Europe/Oslo.

    ``method="REQUEST"`` with an organizer and attendees makes it an invitation (iTIP, RFC 5546);
    ``stamp`` is DTSTAMP, passed in so output is reproducible.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Oslo")
    if method:
        calendar.add("method", method)
    attendee_list = list(attendees)
    for plan_event in events:
        calendar.add_component(_vevent(plan_event, stamp, organizer, attendee_list, sequence))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _vevent(
    plan_event: PlanEvent,
    stamp: datetime,
    organizer: str | None,
    attendees: list[str],
    sequence: int,
) -> Event:
    event = Event()
    event.add("uid", event_uid(plan_event.key))
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add("summary", plan_event.title)
    if plan_event.all_day:
        start, end = _as_date(plan_event.start), _as_date(plan_event.end)
        event.add("dtstart", start)
        event.add("dtend", end + timedelta(days=1))  # DTEND is exclusive for all-day events
    else:
        assert isinstance(plan_event.start, datetime) and isinstance(plan_event.end, datetime)
        event.add("dtstart", plan_event.start.astimezone(OSLO_ZONE))
        event.add("dtend", plan_event.end.astimezone(OSLO_ZONE))
    event.add("status", "CONFIRMED" if plan_event.firm else "TENTATIVE")
    event.add("transp", "TRANSPARENT" if plan_event.all_day else "OPAQUE")
    event.add("categories", [plan_event.kind])
    event.add("description", _description(plan_event))
    event.add("sequence", sequence)
    if organizer:
        event.add("organizer", _address(organizer, "Helsedirektoratet"))
    for attendee in attendees:
        event.add("attendee", _address(attendee, None, rsvp=True), encode=0)
    return event


def _address(email: str, name: str | None, *, rsvp: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    if rsvp:
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["rsvp"] = vText("TRUE")
    return address


def _as_date(value: date | datetime) -> date:
    return value.astimezone(OSLO_ZONE).date() if isinstance(value, datetime) else value


def _description(plan_event: PlanEvent) -> str:
    lines = [f"Kilde: {plan_event.source}"]
    if plan_event.nominal is not None and plan_event.nominal != _as_date(plan_event.start):
        lines.append(
            f"Fristen står som {plan_event.nominal.strftime('%d.%m.%Y')}; den faller på en "
            "helg- eller helligdag og forskyves til neste virkedag."
        )
    if plan_event.responsible:
        lines.append(f"Ansvar: {_RESPONSIBLE[plan_event.responsible]}")
    if not plan_event.firm:
        lines.append("Tidspunktet er foreløpig og avtales nærmere.")
    if plan_event.note:
        lines.append(plan_event.note)
    return "\n".join(lines)
