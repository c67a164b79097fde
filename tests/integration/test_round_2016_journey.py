"""Round 2016 run whole on the shipped schedules: every letter, to whom, on which day, in which
written standard — on SQLite and PostgreSQL, with a real SMTP server.

Seven applicants: four selected (Stjørdal, Os and Hobøl in model A, Spydeberg in model B), two
rejected (Fusa, Askim) and one late (Lillesand, applied 03.12.2015, rejected as late). Trøgstad was
invited (it has a contact) and never applied. Indre Østfold and Bjørnafjorden registered contacts
of their own, which must never receive the predecessors' 2015–2016 letters. The expected letters
are computed here from the seeds' dates and the calendar, independently of the agendas.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from deployments.schedules import stage_time
from deployments.settings import Settings
from sio_domain.norwegian_calendar import OSLO, working_days_before
from tasks.intake.imports import decide_selection, import_applications, import_contacts
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.records.lifecycle_records import record_activity_done, record_signature
from tasks.records.municipality_lookup import registry
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import run_stage
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import OutgoingMail
from tasks.storage.trial_state import load_trial_state

ROUND = load_round("sio-2016")
STAGES = (
    "application-deadline",
    "selection",
    "signing",
    "go-live",
    "reminders",
    "gatherings",
    "status-meetings",
)
DOMAINS = {
    "1714": "stjordal",
    "1243": "os",
    "0138": "hobol",
    "0123": "spydeberg",
    "1241": "fusa",
    "0124": "askim",
    "0926": "lillesand",
    "0122": "trogstad",
    "3014": "indre-ostfold",
    "4624": "bjornafjorden",
}
ROLES = ("contact_person", "chief_executive", "project_leader", "finance_officer")
SUBMITTED = {
    "1714": (date(2015, 11, 19), time(12)),
    "1243": (date(2015, 11, 25), time(12)),
    "0138": (date(2015, 11, 26), time(12)),
    "0123": (date(2015, 11, 10), time(12)),
    "1241": (date(2015, 11, 27), time(12)),
    "0124": (date(2015, 11, 30), time(12)),
    "0926": (date(2015, 12, 3), time(12)),  # late
}
SELECTED = {"1714": "A", "1243": "A", "0138": "A", "0123": "B"}
REJECTED = ("1241", "0124", "0926")
RECEIVED = {"1714": date(2016, 1, 20), "1243": date(2016, 1, 27), "0138": date(2016, 2, 3)}
NYNORSK = {"1243", "1241"}
UNTIL = date(2016, 6, 30)


def at(day: date, clock: time = time(9)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


@pytest.fixture(params=["sqlite", "postgres"])
def journey(request, sio_home: Path, smtp, tmp_path: Path):
    """The round run from 02.11.2015 to 30.06.2016, as the schedules would run it."""
    if request.param == "sqlite":
        url = f"sqlite:///{sio_home / 'sio.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
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
            f"{knr},{role} {name},{role},{role}@{name}.kommune.no,\n"
            for knr, name in DOMAINS.items()
            for role in ROLES
        ),
        encoding="utf-8",
    )
    applications = tmp_path / "applications.csv"
    applications.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        + "".join(
            f"{knr},{day.isoformat()}T{clock:%H:%M},rådmann,2015-11-01,Gerica,s.pdf\n"
            for knr, (day, clock) in SUBMITTED.items()
        ),
        encoding="utf-8",
    )
    selection = tmp_path / "selection.csv"
    selection.write_text(
        "kommunenummer,decision,model,decided_by,decided_on\n"
        + "".join(f"{k},selected,{m},ministry,2016-01-14\n" for k, m in SELECTED.items())
        + "".join(f"{k},rejected,,ministry,2016-01-14\n" for k in REJECTED),
        encoding="utf-8",
    )
    # Everything is imported today, long after the fact: what counts is each fact's own date.
    today = datetime(2026, 12, 1, 10, tzinfo=OSLO)
    import_contacts(contacts, database_url=url, now=today, actor="test")
    import_applications(applications, round_def=ROUND, database_url=url, now=today, actor="test")
    events = {
        date(2016, 1, 14): lambda: decide_selection(
            selection,
            round_def=ROUND,
            database_url=url,
            now=at(date(2016, 1, 14), time(6)),
            actor="test",
        ),
        **{day: _signing(url, knr, day) for knr, day in RECEIVED.items()},
        date(2016, 2, 20): _done(url, "1714", "activity:project_leader", date(2016, 2, 20)),
    }
    day = date(2015, 11, 2)
    while day <= UNTIL:
        if day in events:
            events[day]()
        if day.weekday() < 5:  # the crons run Monday to Friday
            for stage in STAGES:
                when = at(day, stage_time(stage, ROUND))
                run_stage(stage, StageRun(ROUND, when, settings, "schedule"))
                deliver_pending(url, settings, now=when)
        day += timedelta(days=1)
    with session_for(url) as session:
        rows = list(session.exec(__import__("sqlmodel").select(OutgoingMail)))
    yield rows, smtp
    dispose_engine(url)


def _signing(url: str, knr: str, day: date):
    def record() -> None:
        now = at(day, time(6))
        with session_for(url) as session:
            state = load_trial_state(session, ROUND, registry(url), now)
            for party in ("municipality", "directorate"):
                record_signature(
                    session,
                    state,
                    knr,
                    party=party,
                    signed_on=day,
                    place="Oslo",
                    signatory="Rådmann",
                    received_on=day,
                    now=now,
                    actor="test",
                )
            session.commit()

    return record


def _done(url: str, knr: str, activity: str, day: date):
    def record() -> None:
        now = at(day, time(6))
        with session_for(url) as session:
            state = load_trial_state(session, ROUND, registry(url), now)
            record_activity_done(session, state, knr, activity=activity, on=day, now=now, actor="t")
            session.commit()

    return record


def wd(deadline: date, offset: int) -> date:
    return working_days_before(deadline, offset)


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def expected_letters() -> Counter[tuple[str, str, date]]:
    """(kommunenummer, kind, day) of every letter the seeds and the rules call for."""
    expected: Counter[tuple[str, str, date]] = Counter()
    candidates = ["1714", "1243", "0138", "0123", "1241", "0124", "0926", "0122"]
    deadline = date(2015, 12, 1)
    for offset in (14, 7, 1):
        send = wd(deadline, offset)
        for knr in candidates:
            applied = SUBMITTED.get(knr)
            if applied is None or at(*applied) > at(send):
                expected[(knr, "application_reminder", send)] += 1
    for knr, (day, _) in SUBMITTED.items():
        expected[(knr, "application_received", next_weekday(day))] += 1
    decided = date(2016, 1, 14)
    for knr in SELECTED:
        expected[(knr, "decision_offer", decided)] += 1
        expected[(knr, "agreement", decided)] += 1
        for offset in (7, 1):  # the 14-day rung (12.01) came before the selection
            send = wd(date(2016, 2, 1), offset)
            if knr not in RECEIVED or RECEIVED[knr] > send:
                expected[(knr, "agreement_reminder", send)] += 1
    for knr in REJECTED:
        expected[(knr, "decision_rejection", decided)] += 1
    model_a = [k for k, m in SELECTED.items() if m == "A"]
    for gathering in (date(2016, 3, 8), date(2016, 4, 12)):
        for knr in model_a:
            expected[(knr, "gathering_invitation", wd(gathering, 10))] += 1
            expected[(knr, "gathering_reminder", wd(gathering, 2))] += 1
    for knr in model_a:  # row 5: the contact persons' gathering, proposed with 8 March
        expected[(knr, "gathering_invitation", wd(date(2016, 3, 8), 10))] += 1
        expected[(knr, "gathering_reminder", wd(date(2016, 3, 8), 2))] += 1
    for meeting in (date(2016, 6, 14), date(2016, 7, 12)):  # 2nd Tuesdays (seed 000 row 10)
        for knr in model_a:
            for kind, offset in (("meeting_invitation", 10), ("meeting_reminder", 2)):
                if wd(meeting, offset) <= UNTIL:
                    expected[(knr, kind, wd(meeting, offset))] += 1
    activities_a = {
        "activity:project_leader": date(2016, 3, 1),
        "activity:ict_adaptation": date(2016, 5, 1),
        "activity:changes_reported": date(2016, 4, 1),
    }
    activities_b = {
        "activity:ict_adaptation": date(2016, 5, 1),
        "activity:changes_reported": date(2016, 4, 1),
    }
    for knr, model in SELECTED.items():
        for key, due in (activities_a if model == "A" else activities_b).items():
            for offset in (14, 7, 1):
                send = wd(due, offset)
                done = (
                    knr == "1714" and key == "activity:project_leader" and send >= date(2016, 2, 20)
                )
                if send >= decided and not done:
                    expected[(knr, "activity_reminder", send)] += 1
    expected[("staff", "readiness_alert", wd(date(2016, 5, 1), 10))] += len(SELECTED)
    return expected


def test_every_letter_goes_once_on_its_day_to_its_own_municipality_in_its_standard(journey):
    rows, smtp = journey
    sent = Counter(
        (
            row.kommunenummer if row.kind != "readiness_alert" else "staff",
            row.kind,
            row.due_at.astimezone(OSLO).date(),
        )
        for row in rows
        if row.sent_at is not None
    )
    expected = expected_letters()
    assert sent - expected == Counter(), "letters nobody asked for"
    assert expected - sent == Counter(), "letters that never went"
    unsent = [row.key for row in rows if row.sent_at is None]
    assert unsent == []
    assert len(smtp.messages) == sum(expected.values())
    for message in smtp.messages:
        key = message.message["X-SIO-Key"]
        knr = key.split(":")[2]
        if key.startswith("readiness:"):
            assert set(message.rcpt_tos) == {"staff@helsedir.no"}, key
            continue
        domains = {address.split("@")[1] for address in message.rcpt_tos}
        assert domains == {f"{DOMAINS[knr]}.kommune.no"}, key
        body = message.message.get_body().get_content()
        greeting = "Venleg helsing" if knr in NYNORSK else "Vennlig hilsen"
        assert greeting in body, key
    assert not any(
        "indre-ostfold" in r or "bjornafjorden" in r for m in smtp.messages for r in m.rcpt_tos
    )
