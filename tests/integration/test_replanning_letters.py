"""`sio replan` as staff use it, and the letters that follow: moved and cancelled meetings."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, time
from pathlib import Path

import pytest
from icalendar import Calendar

from deployments.settings import Settings
from sio_domain.norwegian_calendar import working_days_before
from tasks.intake.imports import decide_selection, import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.database import dispose_engine
from tests.support.trial_states import at

ROUND = load_round("sio-2016")
ROOT = Path(__file__).resolve().parents[2]
JUNE = "sio-2016:status_meeting:A:-:1714:2016-06"


def sio(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env={"SIO_HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_meeting_moved_then_cancelled_is_updated_then_cancelled_with_the_same_uid(
    sio_home: Path, smtp, tmp_path: Path
):
    url = f"sqlite:///{sio_home / 'sio.db'}"
    settings = Settings(home=sio_home, database_url=url, smtp_host=smtp.host, smtp_port=smtp.port)
    files = {
        "c": "kommunenummer,name,role,email,phone\n1714,Kari,contact_person,kari@stjordal.no,\n",
        "a": "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,"
        "attachment\n1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n",
        "s": "kommunenummer,decision,model,decided_by,decided_on\n"
        "1714,selected,A,ministry,2016-01-14\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    now = at(date(2016, 1, 14))
    import_contacts(tmp_path / "c.csv", database_url=url, now=now, actor="t")
    import_applications(tmp_path / "a.csv", round_def=ROUND, database_url=url, now=now, actor="t")
    decide_selection(tmp_path / "s.csv", round_def=ROUND, database_url=url, now=now, actor="t")
    invited = at(working_days_before(date(2016, 6, 14), 10), time(9, 20))
    run_stage("status-meetings", StageRun(ROUND, invited, settings, "t"))
    deliver_pending(url, settings, now=invited)

    moved = sio(
        sio_home,
        "replan",
        "sio-2016",
        "move-event",
        JUNE,
        "--to",
        "2016-06-16T13:00",
        "--kommune",
        "1714",
        "--decided-on",
        "2016-06-01",
        "--reason",
        "kollisjon",
    )
    assert moved.returncode == 0, moved.stderr
    weekend = sio(
        sio_home,
        "replan",
        "sio-2016",
        "move-event",
        JUNE,
        "--to",
        "2016-06-18T13:00",
        "--decided-on",
        "2016-06-01",
        "--reason",
        "x",
    )
    assert weekend.returncode != 0 and weekend.stderr.count("\n") == 1
    assert "not a working day" in weekend.stderr and "Traceback" not in weekend.stderr
    later = at(date(2026, 12, 1))  # the decision was recorded today, dated 01.06.2016
    run_stage("status-meetings", StageRun(ROUND, at(date(2016, 6, 2), time(9, 20)), settings, "t"))
    deliver_pending(url, settings, now=later)
    cancelled = sio(
        sio_home,
        "replan",
        "sio-2016",
        "cancel-event",
        JUNE,
        "--kommune",
        "1714",
        "--decided-on",
        "2016-06-03",
        "--reason",
        "avlyst",
    )
    assert cancelled.returncode == 0, cancelled.stderr
    run_stage("status-meetings", StageRun(ROUND, at(date(2016, 6, 3), time(9, 20)), settings, "t"))
    run_stage("status-meetings", StageRun(ROUND, at(date(2016, 6, 6), time(9, 20)), settings, "t"))
    deliver_pending(url, settings, now=later)
    calendars = []
    for message in smtp.messages:
        for part in message.message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                calendars.append(Calendar.from_ical(part.get_payload(decode=True)))
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [c.walk("VEVENT")[0] for c in calendars]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2]
    assert events[1]["DTSTART"].dt.isoformat() == "2016-06-16T13:00:00+02:00"
    kinds = [str(m.message["X-SIO-Key"]).strip().split(":")[0] for m in smtp.messages]
    assert kinds == ["meeting-invitation", "meeting-invitation", "meeting-invitation"]
    assert "Avlyst" in smtp.messages[-1].message["Subject"]
    dispose_engine(url)


def test_a_replanning_form_that_breaks_a_rule_fails_with_one_line_and_stores_nothing(sio_home):
    from flows.replanning import DecisionRefusedInForm, replan
    from tasks.storage.database import session_for
    from tasks.storage.tables import ReplanDecisionRecord

    with pytest.raises(DecisionRefusedInForm) as refused:
        replan.fn(
            round_ref="sio-2016",
            kind="move_milestone",
            decided_on=date(2016, 1, 10),
            reason="IKT ikke klart",
            target="go_live",
            to_date=date(2016, 1, 20),
        )
    assert "\n" not in str(refused.value) and "go_live" in str(refused.value)
    url = f"sqlite:///{sio_home / 'sio.db'}"
    with session_for(url) as session:
        assert session.exec(__import__("sqlmodel").select(ReplanDecisionRecord)).all() == []
    dispose_engine(url)
