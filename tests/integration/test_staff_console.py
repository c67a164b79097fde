"""The staff console from a real database: task list, escalation once, case file, overview links.

Round 2016 on SQLite with a real SMTP server: Hobøl (0138) and Stjørdal (1714) selected, Stjørdal
signs and the directorate has not; Spydeberg (0123) has no contacts, so its decision letter has no
recipient. The stages run as scheduled on the decision day and the week after.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from deployments.settings import Settings, load_settings
from sio_domain.hold_reasons import hold_reason, staff_wordings
from sio_domain.norwegian_calendar import OSLO
from sio_domain.replanning import ReplanDecision
from tasks.console.case_files import case_file_markdown, ledger_for, letters_for, money
from tasks.console.console_artifacts import overview_markdown, run_pages
from tasks.console.domain_events import applied_events, payout_events
from tasks.console.plan_in_force import remember_published
from tasks.console.staff_tasks import escalate, held_payouts, task_rows, tasks_in
from tasks.intake.imports import decide_selection, import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.records.lifecycle_records import record_signature
from tasks.records.municipality_lookup import registry
from tasks.records.replanning import record_replan
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import decide, run_stage
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import ActivityStatus, OutgoingMail
from tasks.storage.trial_state import load_trial_state
from tasks.storage.unit_of_work import unit_of_work
from tests.integration.test_payout import Trial, stjordal_2016

ROUND = load_round("sio-2016")
HOBOL, STJORDAL, SPYDEBERG = "0138", "1714", "0123"


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


@pytest.fixture
def console(sio_home: Path, smtp, tmp_path: Path):
    url = f"sqlite:///{sio_home / 'sio.db'}"
    settings = Settings(
        home=sio_home,
        database_url=url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        staff_email="staff@helsedir.no",
    )
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        + "".join(
            f"{knr},{role} {knr},{role},{role}@k{knr}.kommune.no,\n"
            for knr in (HOBOL, STJORDAL)
            for role in ("contact_person", "chief_executive")
        ),
        encoding="utf-8",
    )
    applications = tmp_path / "applications.csv"
    applications.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        + "".join(
            f"{knr},2015-11-20T12:00,rådmann,2015-11-01,Gerica,s.pdf\n"
            for knr in (HOBOL, STJORDAL, SPYDEBERG)
        ),
        encoding="utf-8",
    )
    now = at(date(2015, 12, 10))
    import_contacts(contacts, database_url=url, now=now, actor="test")
    import_applications(applications, round_def=ROUND, database_url=url, now=now, actor="test")
    yield url, settings, tmp_path
    dispose_engine(url)


def _tasks(url: str, when: datetime):
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, when)
        return state, tasks_in(uow.session, state)


def test_the_task_list_follows_the_round_and_a_task_disappears_when_done(console):
    url, settings, tmp_path = console
    state, tasks = _tasks(url, at(date(2015, 12, 10)))
    assert [t.key for t in tasks] == ["selection:sio-2016"]
    assert task_rows(tasks, state)[0]["oppgave"] == "utvelgelse venter"

    selection = tmp_path / "selection.csv"
    selection.write_text(
        "kommunenummer,decision,model,decided_by,decided_on\n"
        f"{HOBOL},selected,A,ministry,2016-01-14\n{STJORDAL},selected,A,ministry,2016-01-14\n"
        f"{SPYDEBERG},selected,B,ministry,2016-01-14\n",
        encoding="utf-8",
    )
    decided = at(date(2016, 1, 14), time(6))
    decide_selection(selection, round_def=ROUND, database_url=url, now=decided, actor="test")
    for stage in ("selection", "signing"):
        run_stage(stage, StageRun(ROUND, at(date(2016, 1, 14), time(10)), settings, "test"))
    deliver_pending(url, settings, now=at(date(2016, 1, 14), time(10)))
    received = at(date(2016, 1, 20), time(10))
    with session_for(url) as session:
        state = load_trial_state(session, ROUND, registry(url), received)
        record_signature(
            session,
            state,
            STJORDAL,
            party="municipality",
            signed_on=date(2016, 1, 19),
            place="Stjørdal",
            signatory="Rådmann",
            received_on=date(2016, 1, 20),
            now=received,
            actor="test",
        )
        session.commit()

    state, tasks = _tasks(url, at(date(2016, 1, 21)))
    keys = [t.key for t in tasks]
    assert "selection:sio-2016" not in keys
    assert keys[0].startswith("unaddressed:") and SPYDEBERG in keys[0]  # oldest first
    assert f"signature:{STJORDAL}" in keys

    with session_for(url) as session:
        state = load_trial_state(session, ROUND, registry(url), received)
        record_signature(
            session,
            state,
            STJORDAL,
            party="directorate",
            signed_on=date(2016, 1, 20),
            place="Oslo",
            signatory="Direktør",
            received_on=None,
            now=received,
            actor="test",
        )
        session.commit()
    _, tasks = _tasks(url, at(date(2016, 1, 21)))
    assert f"signature:{STJORDAL}" not in [t.key for t in tasks]


def test_a_task_waited_too_long_is_escalated_to_staff_once(console):
    url, settings, _ = console
    late = at(date(2015, 12, 9))  # the selection has waited since 01.12: six working days
    for _ in range(2):
        with unit_of_work(url) as uow:
            state = uow.state(ROUND, late)
            escalate(
                uow.session,
                ROUND,
                tasks_in(uow.session, state),
                today=state.today,
                now=late,
                staff_address=settings.staff_address,
            )
            uow.commit()
    with session_for(url) as session:
        rows = list(
            session.exec(
                __import__("sqlmodel")
                .select(OutgoingMail)
                .where(OutgoingMail.kind == "staff_escalation")
            )
        )
    assert [(r.key, r.recipients) for r in rows] == [
        ("escalation:sio-2016:selection:sio-2016", "staff@helsedir.no")
    ]
    early = at(date(2015, 12, 7))
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, early)
        assert not escalate(
            uow.session,
            ROUND,
            tasks_in(uow.session, state),
            today=state.today,
            now=early,
            staff_address=settings.staff_address,
        )


def test_a_case_file_shows_letters_signatures_and_links_from_the_overview(console):
    url, settings, tmp_path = console
    selection = tmp_path / "selection.csv"
    selection.write_text(
        "kommunenummer,decision,model,decided_by,decided_on\n"
        f"{HOBOL},selected,A,ministry,2016-01-14\n",
        encoding="utf-8",
    )
    decided = at(date(2016, 1, 14), time(6))
    decide_selection(selection, round_def=ROUND, database_url=url, now=decided, actor="test")
    when = at(date(2016, 1, 14), time(10))
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, when)
        agenda = decide("selection", state, None)
        applied = uow.apply(
            agenda, state, actor="t", mail_from="sio@helsedir.no", staff_address="s@h.no"
        )
        uow.commit()
    events = applied_events(state, agenda, applied)
    selected = [e for e in events if e["event"] == "sio.municipality.selected"]
    assert [e["resource"]["prefect.resource.id"] for e in selected] == [f"sio.kommune.{HOBOL}"]
    assert {r["prefect.resource.id"] for r in selected[0]["related"]} == {
        "sio.round.sio-2016",
        f"sio.kommune.{HOBOL}",
    }
    deliver_pending(url, settings, now=when)
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, at(date(2016, 2, 5)))
        tasks = tasks_in(uow.session, state)
        markdown = case_file_markdown(
            state,
            HOBOL,
            stage="forbereder (A)",
            letters=letters_for(uow.session, state, HOBOL),
            tasks=[t for t in tasks if t.kommunenummer == HOBOL],
        )
    assert markdown.startswith("# Hobøl (0138)")
    assert "| 14.01.2016 | tilbud om deltakelse | 0138 | 2 |" in markdown
    assert "| 01.02.2016 | Frist for retur av signert samarbeidsavtale | **for sent** |" in markdown
    assert "kontaktperson: contact_person 0138 <contact_person@k0138.kommune.no>" in markdown
    overview = overview_markdown(state, tasks)
    assert "[Hobøl 0138](/artifacts/key/kommune-0138-sio-2016)" in overview
    assert "(/artifacts/key/oppgaver-sio-2016)" in overview


def _select_and_send(url: str, settings: Settings, tmp_path: Path, when: datetime) -> None:
    selection = tmp_path / "selection.csv"
    selection.write_text(
        "kommunenummer,decision,model,decided_by,decided_on\n"
        f"{HOBOL},selected,A,ministry,2016-01-14\n",
        encoding="utf-8",
    )
    decided = at(date(2016, 1, 14), time(6))
    decide_selection(selection, round_def=ROUND, database_url=url, now=decided, actor="test")
    run_stage("selection", StageRun(ROUND, when, settings, "test"))
    deliver_pending(url, settings, now=when)


def test_a_run_that_sent_letters_lists_them_and_an_idle_run_lists_none(console):
    url, settings, tmp_path = console
    when = at(date(2016, 1, 14), time(10))
    _select_and_send(url, settings, tmp_path, when)
    letters = run_pages(StageRun(ROUND, when, settings, "test")).letters
    offer = next(row for row in letters if row["type"] == "tilbud om deltakelse")
    assert list(offer) == ["mottaker", "type", "emne", "nøkkel"]
    assert offer["mottaker"] == (
        "Hobøl (0138): contact_person@k0138.kommune.no, chief_executive@k0138.kommune.no"
    ) or offer["mottaker"] == (
        "Hobøl (0138): chief_executive@k0138.kommune.no, contact_person@k0138.kommune.no"
    )
    with session_for(url) as session:
        sent = session.exec(
            __import__("sqlmodel").select(OutgoingMail).where(OutgoingMail.sent_at.is_not(None))  # type: ignore[union-attr]
        ).all()
    assert sorted(row["nøkkel"] for row in letters) == sorted(m.key for m in sent)
    later = at(date(2016, 1, 14), time(11))
    deliver_pending(url, settings, now=later)  # nothing due: the idle run sends nothing
    assert run_pages(StageRun(ROUND, later, settings, "test")).letters == []


def test_the_plan_page_is_a_new_version_only_when_the_plan_changed(console):
    url, settings, _ = console
    when = at(date(2016, 1, 20))
    pages = run_pages(StageRun(ROUND, when, settings, "test"))
    assert pages.plan is not None
    assert "| 08.03.2016–09.03.2016 |  | 1. samling over to dager" in pages.plan
    assert "| 12.07.2016 | 10.00–11.30 | Statusmøte | A | Hdir | avtales |" in pages.plan
    assert "Ingen omplanleggingsvedtak." in pages.plan
    with session_for(url) as session:
        remember_published(session, ROUND.id, pages.plan_digest, when)
        session.commit()
    assert run_pages(StageRun(ROUND, at(date(2016, 1, 21)), settings, "test")).plan is None

    decided = at(date(2016, 2, 1))
    with session_for(url) as session:
        state = load_trial_state(session, ROUND, registry(url), decided)
        record_replan(
            session,
            state,
            ReplanDecision(
                "move_event",
                date(2016, 2, 1),
                "sommerferie",
                "Helsedirektoratet",
                target="sio-2016:status_meeting:A:-:-:2016-07",
                to_start=at(date(2016, 8, 2), time(10)),
            ),
            now=decided,
            actor="test",
        )
        session.commit()
    before = run_pages(StageRun(ROUND, at(date(2016, 1, 31)), settings, "test"))
    assert before.plan is None  # not decided yet on the 31st: the same plan
    moved = run_pages(StageRun(ROUND, decided, settings, "test")).plan
    assert moved is not None
    assert "| 01.02.2016 | Helsedirektoratet | møte flyttet: sio-2016:status_meeting" in moved
    assert "| 02.08.2016 | 10.00–11.30 | Statusmøte | A | Hdir | flyttet fra 12.07.2016 |" in moved


@pytest.mark.usefixtures("sio_home")
def test_a_paid_run_emits_paid_and_held_events_and_keeps_the_reasons(tmp_path):
    url = load_settings().resolved_database_url
    trial = Trial(url, tmp_path)
    stjordal_2016(trial, signed=False)
    held = trial.run("sio-2016", "2016Q2")
    with session_for(url) as session:
        [entry] = held_payouts(session, "sio-2016")
    assert entry.kommunenummer == STJORDAL  # the reasons shown to staff are bokmål, all of them:
    assert (
        entry.reasons == tuple(staff_wordings(held.held[0].reasons)) != tuple(held.held[0].reasons)
    )
    assert all(hold_reason(reason) for reason in held.held[0].reasons), held.held[0].reasons
    events = payout_events(held, held.as_of)
    assert [(e["event"], e["resource"]["prefect.resource.id"]) for e in events] == [
        ("sio.payout.held", "sio.payout.sio-2016.2016q2.1714")
    ]
    assert events[0]["payload"]["reasons"] == held.held[0].reasons  # the machine's English
    assert {r["prefect.resource.id"] for r in events[0]["related"]} == {
        "sio.round.sio-2016",
        "sio.kommune.1714",
    }
    trial.sign("sio-2016", STJORDAL, received_on=date(2016, 5, 20))
    paid = trial.run("sio-2016", "2016Q3")
    [event] = payout_events(paid, paid.as_of)
    assert event["event"] == "sio.payout.paid"
    assert event["payload"]["amount"] == f"{sum(line.amount for line in paid.lines):.2f}"
    assert event["payload"]["lines"] == len(paid.lines) == 4
    with session_for(url) as session:
        assert held_payouts(session, "sio-2016") == []
    dispose_engine(url)


def test_the_task_list_wraps_long_text_and_links_a_short_label(console):
    url, settings, tmp_path = console
    state, tasks = _tasks(url, at(date(2015, 12, 10)))
    [row] = task_rows(tasks, state, {"selection/sio-2016": "/deployments/deployment/x/run"})
    assert row["skjema"] == "[kjøring](/deployments/deployment/x/run)"
    assert row["venter siden"] == "01.12.2015  \n7 virkedager"
    lines = row["hva som må gjøres"].split("  \n")
    assert len(lines) > 1 and max(len(line) for line in lines) <= 26
    assert " ".join(lines) == tasks[0].what
    [unlinked] = task_rows(tasks, state)
    assert unlinked["skjema"] == "selection/  \nsio-2016"  # not served: the deployment's name


@pytest.mark.usefixtures("sio_home")
def test_a_payee_paid_before_and_held_now_shows_both_in_bokmal(tmp_path):
    """Stjørdal is paid 2016Q2 and 2016Q3, then held in 2017Q2: its 2016 annual report, due
    03.04.2017, is not recorded. The case file shows what was paid beside the held line, and
    the task list the same reason, both in bokmål."""
    url = load_settings().resolved_database_url
    trial = Trial(url, tmp_path)
    stjordal_2016(trial)
    assert trial.run("sio-2016", "2016Q2").status == trial.run("sio-2016", "2016Q3").status
    with session_for(url) as session:  # the 2016 annual report was never delivered after all
        report = session.exec(
            select(ActivityStatus).where(ActivityStatus.activity_key == "annual_report:2016")
        ).one()
        session.delete(report)
        session.commit()
    held = trial.run("sio-2016", "2017Q2")
    assert [h.kommunenummer for h in held.held] == [STJORDAL] and not held.lines
    paid = sum((line.amount for line in trial.ledger("sio-2016")), Decimal("0.00"))
    assert paid > 0
    with unit_of_work(url) as uow:
        state = uow.state(ROUND, held.as_of)
        tasks = tasks_in(uow.session, state)
        markdown = case_file_markdown(
            state,
            STJORDAL,
            stage="i gang (A)",
            ledger=ledger_for(uow.session, state, STJORDAL),
            held=held_payouts(uow.session, ROUND.id),
        )
    reason = "årsrapporten for 2016 er ikke registrert levert (frist 03.04.2017)"
    assert f"- 2017Q2: {reason} (utbetalt hittil i runden: {money(paid)})" in markdown
    assert money(paid) == f"{paid:,.2f}".replace(",", " ") and " " in money(paid)
    assert "annual report" not in markdown
    [task] = [t for t in tasks if t.kind == "utbetaling holdt tilbake"]
    assert f"Utbetaling 2017Q2 holdt tilbake: {reason}." in task.what
    dispose_engine(url)


@pytest.mark.usefixtures("sio_home")
def test_the_approval_form_and_the_runs_table_say_why_in_bokmal(tmp_path):
    from flows.payout import _form
    from tasks.documents.statements import statement_table_rows
    from tasks.payouts.payout_engine import run_payout

    url = load_settings().resolved_database_url
    stjordal_2016(Trial(url, tmp_path), signed=False)
    proposal = run_payout(
        "sio-2016", "2016Q3", database_url=url, as_of=at(date(2016, 7, 7), time(6))
    )
    assert proposal.status == "awaiting_approval" and proposal.held
    reasons = "; ".join(staff_wordings(proposal.held[0].reasons))
    assert reasons.startswith("Helsedirektoratet har ikke mottatt samarbeidsavtalen")
    text = _form(proposal)._description
    assert f"- holdt tilbake {STJORDAL} Stjørdal: {reasons}" in text
    [row] = statement_table_rows(proposal)
    assert row["status"] == f"holdt tilbake: {reasons}"
    dispose_engine(url)
