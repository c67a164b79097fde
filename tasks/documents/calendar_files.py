"""Calendar files (iCalendar, RFC 5545) for plans, invitations and reminders.

Why icalendar and not hand-written text: line folding, escaping and UID rules are easy to get
subtly wrong, and a calendar program silently drops what it cannot read. One VEVENT per plan
event, with a UID derived from the event's stable key, so re-sending a moved meeting updates the
entry in the recipient's calendar instead of adding a second one.

What every client must read the same (checked with icalendar, recurring-ical-events and vobject):

- the Europe/Oslo VTIMEZONE is written with yearly RRULEs (last Sunday of March and of October,
  ``tasks.documents.oslo_timezone``): a list of RDATEs is read by some clients (vobject) as its
  first date
  only, which puts every summer-time event an hour late;
- a zero-length event (a payout run) has no DTEND: RFC 5545 forbids DTEND equal to DTSTART, and
  without it the event ends when it starts (§ 3.6.1);
- descriptions are for the municipality, in its written standard (målform): never the plan's
  internal ``source`` or ``note`` (seed references, design remarks).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from sio_domain.plan import PlanEvent
from sio_domain.written_standard import WrittenStandard, short_date
from tasks.documents.oslo_timezone import oslo_vtimezone

OSLO_ZONE = ZoneInfo("Europe/Oslo")
PRODID = "-//Helsedirektoratet//sio//NO"
UID_DOMAIN = "sio.helsedir.no"
LANGUAGE: dict[WrittenStandard, str] = {"bokmål": "nb", "nynorsk": "nn"}

_RESPONSIBLE: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "municipality": "kommunen",
        "directorate": "Helsedirektoratet",
        "both": "kommunen og Helsedirektoratet i samarbeid",
    },
    "nynorsk": {
        "municipality": "kommunen",
        "directorate": "Helsedirektoratet",
        "both": "kommunen og Helsedirektoratet i samarbeid",
    },
}
_KIND_TEXT: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "status_meeting": "Statusmøte med rapportering om forsøket, på video.",
        "payout_run": "Kvartalsvis utbetaling fra Helsedirektoratet.",
        "report_deadline": "Årsrapporten for forsøket sendes til Helsedirektoratet.",
    },
    "nynorsk": {
        "status_meeting": "Statusmøte med rapportering om forsøket, på video.",
        "payout_run": "Kvartalsvis utbetaling frå Helsedirektoratet.",
        "report_deadline": "Årsrapporten for forsøket skal sendast til Helsedirektoratet.",
    },
}
_TEXT: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "moved": "Fristen står som {nominal}. Den faller på en helge- eller helligdag og "
        "flyttes til neste virkedag.",
        "responsible": "Ansvar: {who}.",
        "tentative": "Tidspunktet er foreløpig og avtales med den enkelte kommune.",
        "month_only": "Datoen avtales nærmere; planen angir bare måneden.",
    },
    "nynorsk": {
        "moved": "Fristen står som {nominal}. Han fell på ein helge- eller heilagdag og "
        "blir flytt til neste vyrkedag.",
        "responsible": "Ansvar: {who}.",
        "tentative": "Tidspunktet er førebels og blir avtalt med kvar enkelt kommune.",
        "month_only": "Datoen blir avtalt nærare; planen seier berre kva månad.",
    },
}


def event_uid(key: str) -> str:
    """A stable, opaque UID for an event key (same key → same UID, across runs and machines)."""
    return f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{UID_DOMAIN}"


def event_title(plan_event: PlanEvent, standard: WrittenStandard = "bokmål") -> str:
    """The event's title in the written standard (nynorsk form when the plan has one)."""
    if standard == "nynorsk":
        return plan_event.title_nn or plan_event.title
    return plan_event.title


def plan_calendar(
    events: Iterable[PlanEvent],
    *,
    name: str,
    stamp: datetime,
    method: str | None = None,
    organizer: str | None = None,
    attendees: Iterable[str] = (),
    sequence: int = 0,
    standard: WrittenStandard = "bokmål",
) -> bytes:
    """An iCalendar file with one VEVENT per event, times in Europe/Oslo.

    ``method="REQUEST"`` with an organizer and attendees makes it an invitation (iTIP, RFC 5546);
    ``stamp`` is DTSTAMP, passed in so output is reproducible; ``standard`` is the recipient
    municipality's written standard (titles and descriptions).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Oslo")
    if method:
        calendar.add("method", method)
    calendar.add_component(oslo_vtimezone())
    attendee_list = list(attendees)
    for plan_event in events:
        calendar.add_component(
            _vevent(plan_event, stamp, organizer, attendee_list, sequence, standard, method)
        )
    return bytes(calendar.to_ical())


def _vevent(
    plan_event: PlanEvent,
    stamp: datetime,
    organizer: str | None,
    attendees: list[str],
    sequence: int,
    standard: WrittenStandard,
    method: str | None = None,
) -> Event:
    event = Event()
    event.add("uid", event_uid(plan_event.key))
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add(
        "summary", event_title(plan_event, standard), parameters={"language": LANGUAGE[standard]}
    )
    if plan_event.all_day:
        start, end = _as_date(plan_event.start), _as_date(plan_event.end)
        event.add("dtstart", start)
        event.add("dtend", end + timedelta(days=1))  # DTEND is exclusive for all-day events
    else:
        assert isinstance(plan_event.start, datetime) and isinstance(plan_event.end, datetime)
        event.add("dtstart", plan_event.start.astimezone(OSLO_ZONE))
        if plan_event.end > plan_event.start:
            event.add("dtend", plan_event.end.astimezone(OSLO_ZONE))
    status = "CONFIRMED" if plan_event.firm else "TENTATIVE"
    event.add("status", "CANCELLED" if method == "CANCEL" else status)
    event.add("transp", "TRANSPARENT" if plan_event.all_day else "OPAQUE")
    event.add("categories", [plan_event.kind])
    text = description(plan_event, standard)
    if text:
        event.add("description", text, parameters={"language": LANGUAGE[standard]})
    event.add("sequence", sequence)
    if organizer:
        event.add("organizer", _address(organizer, "Helsedirektoratet"))
    for attendee in attendees:
        event.add("attendee", _address(attendee, None, rsvp=True), encode=False)
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


def description(plan_event: PlanEvent, standard: WrittenStandard = "bokmål") -> str:
    """What the municipality reads under the title: Norwegian, nothing internal.

    The plan's ``source`` (seed references) and ``note`` (remarks for staff) stay out: they are
    the directorate's working notes, not part of the letter.
    """
    text = _TEXT[standard]
    lines = []
    if plan_event.kind in _KIND_TEXT[standard]:
        lines.append(_KIND_TEXT[standard][plan_event.kind])
    if plan_event.nominal is not None and plan_event.nominal != _as_date(plan_event.start):
        lines.append(text["moved"].format(nominal=short_date(plan_event.nominal)))
    if plan_event.responsible:
        lines.append(text["responsible"].format(who=_RESPONSIBLE[standard][plan_event.responsible]))
    if plan_event.month_only:
        lines.append(text["month_only"])
    elif not plan_event.firm:
        lines.append(text["tentative"])
    return "\n".join(lines)
