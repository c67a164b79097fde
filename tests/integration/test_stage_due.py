"""What a stage run has to do, decided up front: nothing due means no later step has work.

Round 2016 on SQLite: three municipalities applied and none is selected yet. On 21 January 2016
the reminder sweep has nothing to send, but the selection has waited long enough to be escalated
to staff — which the publish step does — and once escalated that letter waits in the outbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

from deployments.settings import Settings
from sio_domain.agendas import Agenda
from sio_domain.norwegian_calendar import OSLO
from tasks.console.published_summaries import remember_summary, summary_fingerprint
from tasks.console.staff_tasks import escalate, tasks_in
from tasks.intake.imports import import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.runs.stage_due import idle_outcome, stage_due
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage, summarise
from tasks.storage.database import dispose_engine
from tasks.storage.unit_of_work import AppliedAgenda, unit_of_work

ROUND = load_round("sio-2016")
APPLIED = ("0138", "1714", "0123")


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=OSLO)


def _three_applied(sio_home: Path, tmp_path: Path) -> str:
    """The database URL of a round 2016 where the three municipalities applied on 19.11.2015."""
    url = f"sqlite:///{sio_home / 'sio.db'}"
    contacts, applications = tmp_path / "contacts.csv", tmp_path / "applications.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        + "".join(f"{k},Kontakt {k},contact_person,post@k{k}.kommune.no,\n" for k in APPLIED),
        encoding="utf-8",
    )
    applications.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        + "".join(f"{k},2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n" for k in APPLIED),
        encoding="utf-8",
    )
    imported = at(date(2015, 11, 20))
    import_contacts(contacts, database_url=url, now=imported, actor="test")
    import_applications(applications, round_def=ROUND, database_url=url, now=imported, actor="test")
    return url


def test_an_idle_sweep_has_nothing_to_apply_or_send_but_sees_the_escalation_due(
    sio_home: Path, tmp_path: Path
):
    url = _three_applied(sio_home, tmp_path)
    settings = Settings(home=sio_home, database_url=url)
    run = StageRun(ROUND, at(date(2016, 1, 21)), settings, "test")

    early = stage_due("reminders", StageRun(ROUND, at(date(2015, 12, 7)), settings, "test"))
    assert early.escalations == ()  # the selection has not waited long enough yet
    due = stage_due("reminders", run)
    assert not due.to_apply and due.mail_waiting == 0
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, run.as_of)
        added = escalate(
            uow.session,
            ROUND,
            tasks_in(uow.session, state),
            today=state.today,
            now=run.as_of,
            staff_address=settings.staff_address,
        )
        uow.commit()
    assert list(due.escalations) == added == ["escalation:sio-2016:selection:sio-2016"]

    after = stage_due("reminders", run)
    assert after.escalations == () and after.mail_waiting == 1
    dispose_engine(url)


def test_a_run_is_idle_only_when_no_later_step_has_work(sio_home: Path, tmp_path: Path):
    """``sio run`` records an idle run without the flow: every reason to run a later step
    (letters, waiting mail, an escalation, rows or notes for staff) must make it not idle."""
    url = _three_applied(sio_home, tmp_path)
    settings = Settings(home=sio_home, database_url=url)

    receipts = StageRun(ROUND, at(date(2015, 11, 20)), settings, "test")
    due = stage_due("application-deadline", receipts)
    assert due.agenda.letters and idle_outcome(receipts, due) is None  # receipts to queue
    letters_only = replace(due, agenda=replace(due.agenda, rows=(), notes=(), facts=()))
    assert idle_outcome(receipts, letters_only) is None

    run = StageRun(ROUND, at(date(2016, 1, 21)), settings, "test")
    due = stage_due("reminders", run)
    assert not due.to_apply and due.mail_waiting == 0 and due.escalations
    assert idle_outcome(run, due) is None  # the selection is to be escalated to staff
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, run.as_of)
        escalate(
            uow.session,
            ROUND,
            tasks_in(uow.session, state),
            today=state.today,
            now=run.as_of,
            staff_address=settings.staff_address,
        )
        uow.commit()
    waiting = stage_due("reminders", run)
    assert waiting.mail_waiting == 1 and idle_outcome(run, waiting) is None  # to deliver

    deliver_pending(url, settings, now=run.as_of)
    idle = stage_due("reminders", run)
    assert idle_outcome(run, idle) == {
        "stage": "reminders",
        "round": "sio-2016",
        "as_of": "2016-01-21T09:00:00+01:00",
        "queued_mail": 0,
        "mail": {"sent": 0, "skipped": 0},
        "waiting_for_input": False,
        "notes": [],
        "rows": [],
    }
    # A note or a row for staff alone is worth publishing: not idle either.
    noted = replace(idle, agenda=Agenda("reminders", notes=("1714: merknad",)))
    assert idle_outcome(run, noted) is None
    row = replace(idle, agenda=Agenda("reminders", rows=({"kommunenummer": "1714"},)))
    assert idle_outcome(run, row) is None
    dispose_engine(url)


def test_a_status_table_already_published_is_not_news_until_it_changes(
    sio_home: Path, tmp_path: Path
):
    """The application window reports every application and whether it is open on every run: once
    that summary is published, the same one again leaves the run idle; a new application makes
    it news again (its receipt first, then the table with one more row)."""
    url = _three_applied(sio_home, tmp_path)
    settings = Settings(home=sio_home, database_url=url)
    day = StageRun(ROUND, at(date(2015, 11, 25)), settings, "test")
    run_stage("application-deadline", StageRun(ROUND, at(date(2015, 11, 20)), settings, "test"))
    deliver_pending(url, settings, now=day.as_of)

    due = stage_due("application-deadline", day)
    assert not due.to_apply and due.mail_waiting == 0 and due.published is None
    assert len(due.agenda.rows) == 3 and due.agenda.notes  # the window is open, three applied
    assert idle_outcome(day, due) is None  # never published: worth publishing
    summary = summarise(day, due.agenda, AppliedAgenda())
    with unit_of_work(url) as uow:
        remember_summary(uow.session, ROUND.id, summary, None, day.as_of)
        uow.commit()
    again = stage_due("application-deadline", day)
    assert again.published == summary_fingerprint(summary)
    assert idle_outcome(day, again) is not None  # the same table: nothing to publish
    one = StageRun(ROUND, day.as_of, settings, "test", kommune="1714")
    its_own = stage_due("application-deadline", one)
    assert idle_outcome(one, its_own) is None  # its own scope, not published yet
    with unit_of_work(url) as uow:
        remember_summary(
            uow.session,
            ROUND.id,
            summarise(one, its_own.agenda, AppliedAgenda()),
            "1714",
            day.as_of,
        )
        uow.commit()
    assert idle_outcome(one, stage_due("application-deadline", one)) is not None
    assert idle_outcome(day, stage_due("application-deadline", day)) is not None  # both kept

    later = tmp_path / "later.csv"
    later.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        "0124,2015-11-26T10:00,rådmann,2015-11-10,Gerica,s.pdf\n",
        encoding="utf-8",
    )
    next_day = StageRun(ROUND, at(date(2015, 11, 26)) + timedelta(hours=3), settings, "test")
    contact = tmp_path / "contact.csv"
    contact.write_text(
        "kommunenummer,name,role,email,phone\n0124,Kontakt,contact_person,post@k0124.no,\n",
        encoding="utf-8",
    )
    import_contacts(contact, database_url=url, now=next_day.as_of, actor="t")
    import_applications(later, round_def=ROUND, database_url=url, now=next_day.as_of, actor="t")
    assert idle_outcome(next_day, stage_due("application-deadline", next_day)) is None  # receipt
    run_stage("application-deadline", next_day)
    deliver_pending(url, settings, now=next_day.as_of)
    grown = stage_due("application-deadline", next_day)
    assert not grown.to_apply and len(grown.agenda.rows) == 4
    assert idle_outcome(next_day, grown) is None  # one more row: news
    dispose_engine(url)
