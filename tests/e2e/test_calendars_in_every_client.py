"""Every calendar sio produces reads the same in icalendar, recurring-ical-events and vobject.

The calendars are the ones a user gets: ``sio plan … --format ics`` for every round and model
(and for a nynorsk municipality), and invitations as the invitation sweep builds them. Each
event's start, as each client reads it, is compared in UTC with ``sio plan … --format json``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import vobject
from icalendar import Calendar
from typer.testing import CliRunner

from sio_cli.main import app
from sio_domain.plan import PlanEvent, build_plan
from tasks.documents.calendar_files import plan_calendar
from tasks.documents.oslo_timezone import oslo_vtimezone
from tasks.intake.round_files import load_round

runner = CliRunner()
PLANS = [
    ("sio-2016", "A", None),
    ("sio-2016", "B", None),
    ("sio-2016", "A", "1243"),  # Os (Hordaland), nynorsk
    ("sio-2019", "A", None),
    ("sio-2019", None, "1241"),  # Fusa, nynorsk
    ("sio-2021", "A", None),
]
INTERNAL = ("seed", "Kilde", "D:", "design", "not in the seeds", "agreed with")


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _args(round_id: str, model: str | None, kommune: str | None) -> list[str]:
    args = ["plan", round_id]
    if model:
        args += ["--model", model]
    if kommune:
        args += ["--kommune", kommune]
    return args


def _instant(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime):
        assert value.tzinfo is not None, "floating time"
        return value.astimezone(UTC)
    return value


def _expected(events: list[dict[str, Any]]) -> dict[str, date | datetime]:
    from tasks.documents.calendar_files import event_uid

    found = {}
    for event in events:
        start = event["start"]
        value = date.fromisoformat(start) if event["all_day"] else datetime.fromisoformat(start)
        found[event_uid(event["key"])] = _instant(value)
    return found


def _by_icalendar(ics: bytes) -> dict[str, date | datetime]:
    events = Calendar.from_ical(ics).walk("VEVENT")
    return {str(e["UID"]): _instant(e["DTSTART"].dt) for e in events}


def _by_recurring_ical_events(ics: bytes) -> dict[str, date | datetime]:
    calendar = Calendar.from_ical(ics)
    events = recurring_ical_events.of(calendar).between(date(2010, 1, 1), date(2030, 1, 1))
    return {str(e["UID"]): _instant(e["DTSTART"].dt) for e in events}


def _by_vobject(ics: bytes) -> dict[str, date | datetime]:
    calendar = vobject.readOne(ics.decode("utf-8"))
    return {str(e.uid.value): _instant(e.dtstart.value) for e in calendar.vevent_list}


CLIENTS = [_by_icalendar, _by_recurring_ical_events, _by_vobject]


def _plan_json(round_id: str, model: str | None, kommune: str | None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(
        _cli(*_args(round_id, model, kommune), "--format", "json").stdout
    )
    return events


def _with_keys(round_id: str, model: str | None, kommune: str | None) -> list[dict[str, Any]]:
    """The JSON plan with each event's key (the basis of its UID), in the same order."""
    events = _plan_json(round_id, model, kommune)
    if kommune:
        from tasks.records.municipality_lookup import held_numbers, in_force

        number = in_force(kommune, load_round(round_id).milestones.go_live.date).kommunenummer
        plan = build_plan(
            load_round(round_id),
            model=model,  # type: ignore[arg-type]
            municipality=number,
            held_numbers=held_numbers(number),
        )
    else:
        plan = build_plan(load_round(round_id), model=model)  # type: ignore[arg-type]
    assert [e.model_dump(mode="json") for e in plan] == events
    return [{**e, "key": p.key} for e, p in zip(events, plan, strict=True)]


@pytest.mark.parametrize(("round_id", "model", "kommune"), PLANS)
@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.__name__.removeprefix("_by_"))
def test_every_plan_calendar_has_the_json_plans_instants_in_every_client(
    round_id: str, model: str | None, kommune: str | None, client: Any
) -> None:
    ics = _cli(*_args(round_id, model, kommune), "--format", "ics").stdout_bytes
    expected = _expected(_with_keys(round_id, model, kommune))
    assert client(ics) == expected


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.__name__.removeprefix("_by_"))
def test_invitations_have_the_plans_instants_in_every_client(client: Any) -> None:
    """One invitation per meeting and gathering (method REQUEST), summer and winter time."""
    events = [
        e
        for e in build_plan(load_round("sio-2016"), model="A")
        if e.kind in ("status_meeting", "gathering", "network_gathering", "info_meeting")
    ]
    assert any(e.start.month in (6, 7, 8) for e in events if isinstance(e.start, datetime))
    for event in events:
        ics = _invitation(event)
        expected = _instant(event.start)
        assert list(client(ics).values()) == [expected], event.key


def _invitation(event: PlanEvent) -> bytes:
    return plan_calendar(
        [event],
        name=event.title,
        stamp=datetime(2016, 1, 20, 9, tzinfo=UTC),
        method="REQUEST",
        organizer="sio@helsedir.no",
        attendees=["kontakt@os.kommune.no"],
        standard="nynorsk",
    )


@pytest.mark.parametrize(("round_id", "model", "kommune"), PLANS)
def test_no_calendar_has_a_zero_length_dtend_or_internal_notes(
    round_id: str, model: str | None, kommune: str | None
) -> None:
    ics = _cli(*_args(round_id, model, kommune), "--format", "ics").stdout_bytes
    vevents = Calendar.from_ical(ics).walk("VEVENT")
    for vevent in vevents:
        if "DTEND" in vevent:
            assert vevent["DTEND"].dt > vevent["DTSTART"].dt, vevent["SUMMARY"]
        text = str(vevent.get("DESCRIPTION", ""))
        assert not [word for word in INTERNAL if word in text], text
    payouts = [v for v in vevents if "payout_run" in v["CATEGORIES"].to_ical().decode()]
    assert payouts and all("DTEND" not in v for v in payouts)


def test_the_timezone_rules_give_the_tz_databases_offset_at_every_hour_of_the_trial() -> None:
    """vobject reads the VTIMEZONE's RRULEs; its offsets must be Europe/Oslo's, 2015–2030."""
    calendar = Calendar()
    calendar.add("prodid", "-//test//")
    calendar.add("version", "2.0")
    calendar.add_component(oslo_vtimezone())
    zone = vobject.readOne(calendar.to_ical().decode()).vtimezone.gettzinfo()
    oslo = ZoneInfo("Europe/Oslo")
    instant = datetime(2015, 1, 1, tzinfo=UTC)
    while instant < datetime(2031, 1, 1, tzinfo=UTC):
        assert instant.astimezone(zone).utcoffset() == instant.astimezone(oslo).utcoffset()
        instant += timedelta(hours=1)
