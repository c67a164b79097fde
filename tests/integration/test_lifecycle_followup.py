"""After selection: moved meetings, go-live readiness and Bilag 1 activity reminders (round 2016).

Real SMTP server on localhost, SQLite. The decision is taken from a file, as ``sio decide``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlmodel import select

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO, working_days_before
from tasks.intake.imports import decide_selection, import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.records.lifecycle_records import RecordRefused, record_activity_done, record_meeting_time
from tasks.records.municipality_lookup import registry
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import ParticipationRecord
from tasks.storage.trial_state import load_trial_state

ROUND = load_round("sio-2016")


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


@pytest.fixture
def selected(sio_home: Path, smtp, tmp_path: Path):
    """Stjørdal selected for model A, with a contact person and a project leader."""
    url = f"sqlite:///{sio_home / 'sio.db'}"
    settings = Settings(
        home=sio_home,
        database_url=url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        staff_email="staff@helsedir.no",
    )
    texts = {
        "contacts.csv": "kommunenummer,name,role,email,phone\n"
        "1714,Kari Kontakt,contact_person,kari@stjordal.kommune.no,\n"
        "1714,Per Prosjekt,project_leader,per@stjordal.kommune.no,\n",
        "applications.csv": "kommunenummer,submitted_at,signed_by_title,"
        "council_resolution_date,epj_system,attachment\n"
        "1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n",
        "selection.csv": "kommunenummer,decision,model,decided_by,decided_on\n"
        "1714,selected,A,ministry,2016-01-14\n",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    import_contacts(
        tmp_path / "contacts.csv", database_url=url, now=at(date(2015, 7, 1)), actor="test"
    )
    import_applications(
        tmp_path / "applications.csv",
        round_def=ROUND,
        database_url=url,
        now=at(date(2015, 11, 26)),
        actor="test",
    )
    decide_selection(
        tmp_path / "selection.csv",
        round_def=ROUND,
        database_url=url,
        now=at(date(2016, 1, 14), time(10)),
        actor="test",
    )
    yield settings, smtp
    dispose_engine(url)


def run(settings: Settings, when: datetime) -> StageRun:
    return StageRun(round_def=ROUND, as_of=when, settings=settings, actor="test")


def record(settings: Settings, when: datetime, write) -> None:
    url = settings.resolved_database_url
    with session_for(url) as session:
        write(session, load_trial_state(session, ROUND, registry(url), when))
        session.commit()


def test_a_moved_meeting_is_invited_again_with_the_same_uid_and_a_higher_sequence(selected):
    settings, smtp = selected
    ten_before = at(working_days_before(date(2016, 6, 14), 10))
    run_stage("status-meetings", run(settings, ten_before))
    agreed = datetime(2016, 6, 16, 13, 0, tzinfo=OSLO)
    record(
        settings,
        ten_before,
        lambda s, v: record_meeting_time(
            s, v, "1714", month="2016-06", start=agreed, now=ten_before, actor="test"
        ),
    )
    run_stage("status-meetings", run(settings, ten_before))
    deliver_pending(settings.resolved_database_url, settings, now=ten_before)
    events = []
    for mail in smtp.messages:
        [part] = [
            p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"
        ]
        events.append(Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0])
    assert len(events) == 2
    first, moved = events
    assert str(first["UID"]) == str(moved["UID"])
    assert int(moved["SEQUENCE"]) > int(first.get("SEQUENCE", 0))
    assert moved["DTSTART"].dt.isoformat() == "2016-06-16T13:00:00+02:00"
    assert str(moved["STATUS"]) == "CONFIRMED"


def test_staff_hear_what_is_not_done_before_go_live_and_the_participation_goes_live(selected):
    settings, smtp = selected
    before = at(working_days_before(date(2016, 5, 1), 5))
    record(
        settings,
        before,
        lambda s, v: record_activity_done(
            s,
            v,
            "1714",
            activity="activity:project_leader",
            on=date(2016, 2, 20),
            now=before,
            actor="test",
        ),
    )
    run_stage("go-live", run(settings, before))
    run_stage("go-live", run(settings, before))
    deliver_pending(settings.resolved_database_url, settings, now=before)
    [alert] = smtp.messages_for("staff@helsedir.no")
    text = alert.get_body().get_content()
    assert "IKT" in text and "orienterer" in text  # rows 3 and 4 not done
    assert "Prosjektleder" not in text  # row 2 is done
    run_stage("go-live", run(settings, at(date(2016, 5, 2))))
    with session_for(settings.resolved_database_url) as session:
        participation = session.exec(select(ParticipationRecord)).one()
        assert participation.live_since is not None


def test_an_activity_marked_done_is_no_longer_reminded(selected):
    settings, smtp = selected
    due = at(working_days_before(date(2016, 3, 1), 7))  # row 2: project leader by 01.03.2016
    run_stage("reminders", run(settings, due))
    deliver_pending(settings.resolved_database_url, settings, now=due)
    assert smtp.messages_for("per@stjordal.kommune.no")
    smtp.clear()
    record(
        settings,
        due,
        lambda s, v: record_activity_done(
            s, v, "1714", activity="activity:project_leader", on=due.date(), now=due, actor="test"
        ),
    )
    later = at(working_days_before(date(2016, 3, 1), 1))
    run_stage("reminders", run(settings, later))
    deliver_pending(settings.resolved_database_url, settings, now=later)
    assert not any("Prosjektleder" in m.message["Subject"] for m in smtp.messages)


def test_an_unknown_activity_is_refused_naming_the_known_ones(selected):
    settings, _ = selected
    with pytest.raises(RecordRefused, match="activity:ict_adaptation"):
        record(
            settings,
            at(date(2016, 2, 1)),
            lambda s, v: record_activity_done(
                s,
                v,
                "1714",
                activity="activity:nope",
                on=date(2016, 2, 1),
                now=at(date(2016, 2, 1)),
                actor="test",
            ),
        )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2016, 7, 16, 10, tzinfo=OSLO), "not a working day"),  # a Saturday
        (datetime(2016, 9, 20, 10, tzinfo=OSLO), "not in --month 2016-08"),
    ],
)
def test_a_status_meeting_cannot_be_moved_to_a_weekend_or_out_of_its_month(
    selected, start, expected
):
    settings, _ = selected
    now = at(date(2016, 6, 1))
    month = "2016-07" if start.month == 7 else "2016-08"
    with pytest.raises(RecordRefused, match=expected):
        record(
            settings,
            now,
            lambda s, v: record_meeting_time(
                s, v, "1714", month=month, start=start, now=now, actor="test"
            ),
        )
