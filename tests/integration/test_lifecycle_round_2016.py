"""Round 2016 through its stages against a real SMTP server, on SQLite and on PostgreSQL.

Issue 3, done when: reminders reach exactly the municipalities with an open obligation, once each,
in Norwegian; decision letters name the model; unsigned municipalities are reminded before
01.02.2016 and signed ones are not; status-meeting invitations carry a valid .ics.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from icalendar import Calendar

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO, working_days_before
from tasks.intake.imports import decide_selection, import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.records.lifecycle_records import record_signature
from tasks.records.municipality_lookup import registry
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.trial_state import load_trial_state

ROUND = load_round("sio-2016")

CONTACTS = """kommunenummer,name,role,email,phone
1714,Kari Kontakt,contact_person,kari@stjordal.kommune.no,
1714,Randi Rådmann,chief_executive,radmann@stjordal.kommune.no,
1714,Per Prosjekt,project_leader,per@stjordal.kommune.no,
1243,Olav Kontakt,contact_person,olav@os.kommune.no,
1243,Rune Rådmann,chief_executive,radmann@os.kommune.no,
0926,Lise Kontakt,contact_person,lise@lillesand.kommune.no,
0926,Lars Rådmann,chief_executive,radmann@lillesand.kommune.no,
"""

APPLICATIONS = (
    "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
    """1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,soknad-1714.pdf
1243,2015-11-25T12:00,rådmann,2015-11-12,Profil,soknad-1243.pdf
"""
)

SELECTION = """kommunenummer,decision,model,decided_by,decided_on
1714,selected,A,ministry,2016-01-14
1243,selected,B,ministry,2016-01-14
"""


def at(day: date, clock: time = time(9, 0)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, sio_home: Path, smtp, tmp_path: Path):
    """A database with contacts and applications, and settings that mail to the test server."""
    if request.param == "sqlite":
        url = f"sqlite:///{sio_home / 'sio.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    settings = Settings(home=sio_home, database_url=url, smtp_host=smtp.host, smtp_port=smtp.port)
    files = {}
    for name, text in (
        ("contacts", CONTACTS),
        ("applications", APPLICATIONS),
        ("selection", SELECTION),
    ):
        files[name] = tmp_path / f"{name}.csv"
        files[name].write_text(text, encoding="utf-8")
    import_contacts(files["contacts"], database_url=url, now=at(date(2015, 7, 1)), actor="test")
    import_applications(
        files["applications"],
        round_def=ROUND,
        database_url=url,
        now=at(date(2015, 11, 26)),
        actor="test",
    )
    yield settings, files, smtp
    dispose_engine(url)


def stage(settings: Settings, when: datetime) -> StageRun:
    return StageRun(round_def=ROUND, as_of=when, settings=settings, actor="test")


def deliver(settings: Settings, when: datetime) -> None:
    deliver_pending(settings.resolved_database_url, settings, now=when)


def test_application_reminders_reach_only_those_who_have_not_applied_once_in_their_standard(world):
    settings, _, smtp = world
    seven_before = at(working_days_before(date(2015, 12, 1), 7))
    assert seven_before.date() == date(2015, 11, 20)
    for _ in range(2):  # a second sweep, as after a crash or a retry, sends nothing more
        run_stage("reminders", stage(settings, seven_before))
        deliver(settings, seven_before)
    by_recipient = {tuple(sorted(m.rcpt_tos)): m for m in smtp.messages}
    assert set(by_recipient) == {
        ("olav@os.kommune.no", "radmann@os.kommune.no"),
        ("lise@lillesand.kommune.no", "radmann@lillesand.kommune.no"),
    }  # Stjørdal applied on 19.11.2015: no reminder
    os_body = by_recipient[("olav@os.kommune.no", "radmann@os.kommune.no")].message
    lillesand = by_recipient[("lise@lillesand.kommune.no", "radmann@lillesand.kommune.no")].message
    assert "1. desember 2015" in os_body.get_body().get_content()
    assert "Venleg helsing" in os_body.get_body().get_content()  # Os writes nynorsk
    assert "Vennlig hilsen" in lillesand.get_body().get_content()
    # the 14-working-day reminder (11.11.2015) was never sent: superseded, not sent late
    assert len(smtp.messages) == 2


def test_no_reminder_on_a_weekend_or_after_the_deadline(world):
    settings, _, smtp = world
    run_stage("reminders", stage(settings, at(date(2015, 11, 21))))  # a Saturday
    run_stage("reminders", stage(settings, at(date(2015, 12, 2))))  # the day after the deadline
    deliver(settings, at(date(2015, 12, 2)))
    assert smtp.messages == []


def test_decision_letters_name_the_model_and_unsigned_municipalities_are_reminded(world):
    settings, files, smtp = world
    url = settings.resolved_database_url
    decide_selection(
        files["selection"],
        round_def=ROUND,
        database_url=url,
        now=at(date(2016, 1, 14), time(10)),
        actor="test",
    )
    decided = at(date(2016, 1, 15), time(8))
    run_stage("selection", stage(settings, decided))
    run_stage("signing", stage(settings, decided))
    deliver(settings, decided)
    letters = {tuple(sorted(m.rcpt_tos)): m.message for m in smtp.messages}
    stjordal = [m for r, m in letters.items() if "radmann@stjordal.kommune.no" in r]
    os_mail = [m for r, m in letters.items() if "radmann@os.kommune.no" in r]
    assert stjordal and os_mail
    texts = [m.get_body().get_content() for m in smtp.messages_for("radmann@stjordal.kommune.no")]
    assert any("modell A" in t for t in texts)
    assert any(
        "modell B" in t
        for t in (m.get_body().get_content() for m in smtp.messages_for("radmann@os.kommune.no"))
    )
    agreements = [
        m
        for m in smtp.messages_for("radmann@stjordal.kommune.no")
        if any(p.get_filename() for p in m.iter_attachments())
    ]
    assert agreements, "the cooperation agreement goes as an attachment"
    smtp.clear()

    received = at(date(2016, 1, 21), time(8))
    with session_for(url) as session:
        view = load_trial_state(session, ROUND, registry(url), received)
        record_signature(
            session,
            view,
            "1714",
            party="municipality",
            signed_on=date(2016, 1, 20),
            place="Stjørdal",
            signatory="Randi Rådmann",
            received_on=date(2016, 1, 21),
            now=received,
            actor="test",
        )
        session.commit()
    seven_before = at(working_days_before(date(2016, 2, 1), 7))
    run_stage("reminders", stage(settings, seven_before))
    run_stage("reminders", stage(settings, seven_before))
    deliver(settings, seven_before)
    reminded = {r for m in smtp.messages for r in m.rcpt_tos}
    assert "radmann@os.kommune.no" in reminded
    assert not any("stjordal" in r for r in reminded)
    assert len(smtp.messages) == 1
    assert "1. februar 2016" in smtp.messages[0].message.get_body().get_content()


def test_status_meeting_invitation_carries_a_valid_ics(world):
    settings, files, smtp = world
    url = settings.resolved_database_url
    decide_selection(
        files["selection"],
        round_def=ROUND,
        database_url=url,
        now=at(date(2016, 1, 14), time(10)),
        actor="test",
    )
    ten_before = at(working_days_before(date(2016, 6, 14), 10))
    run_stage("status-meetings", stage(settings, ten_before))
    run_stage("status-meetings", stage(settings, ten_before))
    deliver(settings, ten_before)
    assert len(smtp.messages) == 1  # Stjørdal (model A) only: model B meets first in November
    mail = smtp.messages[0]
    assert set(mail.rcpt_tos) == {"kari@stjordal.kommune.no", "per@stjordal.kommune.no"}
    ics = [p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(ics) == 1
    calendar = Calendar.from_ical(ics[0].get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event["DTSTART"].dt.isoformat() == "2016-06-14T10:00:00+02:00"
    assert event["DTEND"].dt.isoformat() == "2016-06-14T11:30:00+02:00"
    assert {str(a) for a in event.get("ATTENDEE")} == {
        "mailto:kari@stjordal.kommune.no",
        "mailto:per@stjordal.kommune.no",
    }
