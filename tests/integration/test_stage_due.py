"""What a stage run has to do, decided up front: nothing due means no later step has work.

Round 2016 on SQLite: three municipalities applied and none is selected yet. On 21 January 2016
the reminder sweep has nothing to send, but the selection has waited long enough to be escalated
to staff — which the publish step does — and once escalated that letter waits in the outbox.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO
from tasks.console.staff_tasks import escalate, tasks_in
from tasks.intake.imports import import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.runs.stage_due import stage_due
from tasks.runs.stage_run import StageRun
from tasks.storage.database import dispose_engine
from tasks.storage.unit_of_work import unit_of_work

ROUND = load_round("sio-2016")
APPLIED = ("0138", "1714", "0123")


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=OSLO)


def test_an_idle_sweep_has_nothing_to_apply_or_send_but_sees_the_escalation_due(
    sio_home: Path, tmp_path: Path
):
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
