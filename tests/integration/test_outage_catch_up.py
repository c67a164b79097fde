"""After a five-week SMTP outage the catch-up sends nothing stale (round 2016, real SMTP).

Reminders queued while the server was down (12.11–21.12.2015) are checked again when they can
finally go: the deadline has passed, so not one of them goes; a municipality that applied while
the server was down is never told that its application is missing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO
from tasks.intake.imports import import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.runs.send_time_checks import send_time_check
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import OutgoingMail

ROUND = load_round("sio-2016")


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


@pytest.fixture
def world(sio_home: Path, smtp, tmp_path: Path):
    """Three invited municipalities with a contact each; Os applies on 25.11.2015."""
    url = f"sqlite:///{sio_home / 'sio.db'}"
    settings = Settings(home=sio_home, database_url=url, smtp_host=smtp.host, smtp_port=smtp.port)
    (tmp_path / "c.csv").write_text(
        "kommunenummer,name,role,email,phone\n"
        + "".join(f"{k},K,contact_person,k@{k}.no,\n" for k in ("1714", "1243", "0926")),
        encoding="utf-8",
    )
    (tmp_path / "a.csv").write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        "1243,2015-11-25T12:00,rådmann,2015-11-01,Gerica,s.pdf\n",
        encoding="utf-8",
    )
    now = at(date(2026, 12, 1))
    import_contacts(tmp_path / "c.csv", database_url=url, now=now, actor="t")
    import_applications(tmp_path / "a.csv", round_def=ROUND, database_url=url, now=now, actor="t")
    yield url, settings
    dispose_engine(url)


def test_a_five_week_outage_sends_no_reminder_after_its_deadline_nor_to_one_who_applied(
    world, smtp
):
    url, settings = world
    day = date(2015, 11, 12)
    while day <= date(2015, 12, 21):  # the sweep runs every weekday; the mail cannot go out
        if day.weekday() < 5:
            run_stage("reminders", StageRun(ROUND, at(day), settings, "schedule"))
        day += timedelta(days=1)
    with session_for(url) as session:
        queued = session.exec(
            select(OutgoingMail).where(OutgoingMail.kind == "application_reminder")
        )
        assert {row.kommunenummer for row in queued} == {"1714", "1243", "0926"}
    back = at(date(2015, 12, 21), time(9, 5))
    report = deliver_pending(
        url, settings, now=back, round_id=ROUND.id, recheck=send_time_check(url, ROUND)
    )
    assert smtp.messages == [] and report.sent == ()
    with session_for(url) as session:
        rows = list(session.exec(select(OutgoingMail)))
    assert {row.state for row in rows} == {"skipped"}
    reasons = " ".join(row.skipped or "" for row in rows)
    assert "deadline 2015-12-01 has passed" in reasons or "superseded" in reasons


def test_after_an_outage_the_one_who_applied_meanwhile_gets_no_reminder_the_others_one_each(
    world, smtp
):
    url, settings = world
    for day in (date(2015, 11, 11), date(2015, 11, 20)):  # queued while the server was down
        run_stage("reminders", StageRun(ROUND, at(day), settings, "schedule"))
    back = at(date(2015, 11, 26), time(9, 5))
    deliver_pending(url, settings, now=back, round_id=ROUND.id, recheck=send_time_check(url, ROUND))
    reached = sorted(r for m in smtp.messages for r in m.rcpt_tos)
    assert reached == ["k@0926.no", "k@1714.no"]  # once each: the latest rung only
    with session_for(url) as session:
        os_rows = session.exec(select(OutgoingMail).where(OutgoingMail.kommunenummer == "1243"))
        assert {row.state for row in os_rows} == {"skipped"}
