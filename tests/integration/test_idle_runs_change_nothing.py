"""An idle stage run (``idle_outcome``) is one whose later steps would change nothing.

``sio run`` records an idle run without the flow's queue, delivery and publish steps. Across a
whole simulated round, at every instant a stage runs, every lifecycle stage is asked whether it
is idle; when it says so, the steps it would skip are run anyway — queue and record the agenda,
deliver the outbox (with the send-time checks), escalate the staff tasks due — and the database
and the outbox must be exactly as before.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

from deployments.settings import Settings
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.scenario import default_scenario
from tasks.console.staff_tasks import escalate, tasks_in
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.records.municipality_lookup import shipped_versions
from tasks.runs.send_time_checks import send_time_check
from tasks.runs.simulation import STAFF_ADDRESS, simulate
from tasks.runs.stage_due import idle_outcome, stage_due
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.unit_of_work import unit_of_work

LIFECYCLE = (
    "application-deadline",
    "signing",
    "gatherings",
    "go-live",
    "status-meetings",
    "reminders",
)


def _snapshot(home: Path) -> str:
    """Every row of the database and every file of the outbox, as one digest."""
    digest = hashlib.sha256()
    connection = sqlite3.connect(home / "sio.db")
    try:
        for line in connection.iterdump():
            digest.update(line.encode())
    finally:
        connection.close()
    outbox = home / "outbox"
    if outbox.exists():
        for path in sorted(outbox.rglob("*")):
            digest.update(str(path.relative_to(outbox)).encode())
    return digest.hexdigest()


def _all_steps(stage: str, run: StageRun) -> None:
    """What the flow's later steps would do, each run whether or not it has work."""
    run_stage(stage, run)
    deliver_pending(
        run.database_url,
        run.settings,
        now=run.as_of,
        round_id=run.round_def.id,
        recheck=send_time_check(run.database_url, run.round_def),
    )
    with unit_of_work(run.database_url) as uow:
        state = uow.state(run.round_def, run.as_of)
        escalate(
            uow.session,
            run.round_def,
            tasks_in(uow.session, state),
            today=state.today,
            now=run.as_of,
            staff_address=run.settings.staff_address,
        )
        uow.commit()


def test_an_idle_stage_run_would_change_nothing_in_round_2016_until_summer(tmp_path: Path):
    round_def = load_round("sio-2016")
    home = tmp_path / "sim"
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'sio.db'}",
        smtp_host=None,
        staff_email=STAFF_ADDRESS,
        outbox_fsync=False,
    )
    checked: list[tuple[str, str, str | None]] = []
    broken: list[str] = []

    def check_idle(at: datetime, kommune: str | None = None) -> None:
        for stage in LIFECYCLE:
            run = StageRun(round_def, at, settings, "test", kommune)
            if idle_outcome(run, stage_due(stage, run)) is None:
                continue
            before = _snapshot(home)
            _all_steps(stage, run)
            checked.append((stage, at.isoformat(), kommune))
            if _snapshot(home) != before:
                broken.append(f"{stage} at {at.isoformat()} kommune={kommune}")

    def stage_runner(stage: str, at: datetime) -> None:
        check_idle(at)  # the other stages at the same instant
        run = StageRun(round_def, at, settings, "simulation")
        _all_steps(stage, run)  # the stage's own run: queue, deliver, escalate
        check_idle(at + timedelta(days=1))  # a daily run the calendar would skip
        check_idle(at + timedelta(days=1), kommune="1714")  # one municipality's

    simulate(
        round_def,
        default_scenario(round_def, MunicipalityRegistry(shipped_versions())),
        until=date(2016, 6, 15),  # applications, selection, signing, go-live, meetings
        workdir=home,
        stage_runner=stage_runner,
    )
    # Each stage was idle some time — but the application window's agenda always has a note
    # (open until…, closed at…) and a row per application: that stage is never idle.
    assert {stage for stage, _at, _k in checked} == set(LIFECYCLE) - {"application-deadline"}
    assert len(checked) > 100
    assert broken == []
