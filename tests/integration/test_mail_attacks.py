"""Mail delivery attacked: refusals per recipient, a hung server, kills in flight, stale reminders.

The promise under attack (design decision (D), "nothing lost, nothing stale"): every message
reaches every recipient that accepts it, at most one copy more per crash (with its original
Message-ID), a refused recipient is failed once and shown to staff, and no run fails because of
one message.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from deployments.settings import Settings, load_settings
from tasks.mail.mail_delivery import MailDeliveryFailed, deliver_pending
from tasks.mail.outbox import enqueue_mail, installation_id, recipient_replies, undelivered
from tasks.mail.wire_format import WireRenderer, eml_filename
from tasks.storage.database import dispose_engine, engine_for, session_for
from tasks.storage.tables import AuditEntry, OutgoingMail
from tests.support.smtp_server import RecordingSmtpServer

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2015, 11, 10, 9, 0, tzinfo=OSLO)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NO_WAIT: dict[str, Any] = {"backoff_seconds": 0.0}
ROOT = Path(__file__).resolve().parents[2]
FINANCE = [f"okonomi{n}@stjordal.kommune.no" for n in range(1, 6)]
PASSWORD = "hemmelig-Passord-42"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("sio_home")
    if request.param == "sqlite":
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    dispose_engine(url)


def settings_for(home: Path, port: int, **more: Any) -> Settings:
    return Settings(home=home, smtp_host="127.0.0.1", smtp_port=port, **more)


def enqueue(url: str, key: str, **changes: Any) -> None:
    values: dict[str, Any] = {
        "key": key,
        "round_id": "sio-2016",
        "kommunenummer": "1714",
        "kind": "payout_statement",
        "recipients": FINANCE,
        "subject": "Utbetaling 2. kvartal 2017",
        "body": "Vedlagt er utbetalingsoversikten.",
        "due_at": NOW,
        "now": NOW,
    }
    with session_for(url) as session:
        enqueue_mail(session, **(values | changes))
        session.commit()


def stored(url: str, key: str) -> OutgoingMail:
    with session_for(url) as session:
        return session.exec(select(OutgoingMail).where(OutgoingMail.key == key)).one()


def test_a_451_and_a_550_recipient_in_a_five_recipient_statement(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = settings_for(sio_home, smtp.port)
    enqueue(database_url, "statement")
    smtp.refuse_recipient(FINANCE[1], "451 4.2.0 Mailbox busy, try later", times=1)
    smtp.refuse_recipient(FINANCE[3], "550 5.1.1 No such user")

    first = deliver_pending(database_url, settings, now=NOW, attempts_per_run=1, **NO_WAIT)

    assert first.deferred == ("statement",)
    [delivered] = smtp.messages
    assert delivered.rcpt_tos == [FINANCE[0], FINANCE[2], FINANCE[4]]
    replies = recipient_replies(stored(database_url, "statement"))
    assert replies[FINANCE[1]][0] == "pending" and "451" in replies[FINANCE[1]][1]
    assert replies[FINANCE[3]] == ("failed", "550 5.1.1 No such user")
    assert replies[FINANCE[0]][0] == "sent" and replies[FINANCE[0]][1].startswith("250")

    second = deliver_pending(database_url, settings, now=NOW + timedelta(days=1), **NO_WAIT)

    assert second.failed == ("statement",)  # all answered now; one refused for good
    assert [m.rcpt_tos for m in smtp.messages] == [
        [FINANCE[0], FINANCE[2], FINANCE[4]],
        [FINANCE[1]],  # only the one that was asked to try later
    ]
    ids = {m.message["Message-ID"] for m in smtp.messages}
    assert len(ids) == 1  # the same message, twice handed over
    with session_for(database_url) as session:
        [task] = undelivered(session)
    assert task.refused == (FINANCE[3],) and "550 5.1.1 No such user" in task.reason
    third = deliver_pending(database_url, settings, now=NOW + timedelta(days=2), **NO_WAIT)
    assert (third.sent, third.failed, len(smtp.messages)) == ((), (), 2)


def test_a_hung_server_holds_no_database_lock_and_the_run_ends(
    sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    url = load_settings().resolved_database_url
    settings = settings_for(sio_home, smtp.port, smtp_timeout_seconds=1.0)
    enqueue(url, "hung")
    smtp.hang_for(3.0)
    reports: list[Any] = []
    delivery = threading.Thread(
        target=lambda: reports.append(
            deliver_pending(url, settings, now=NOW, attempts_per_run=1, **NO_WAIT)
        )
    )

    delivery.start()
    time.sleep(0.3)  # the delivery is now waiting for the server's answer to DATA
    enqueue(url, "written-meanwhile", due_at=NOW + timedelta(days=1))  # a writer is not blocked
    still_waiting = delivery.is_alive()
    delivery.join(timeout=30)

    assert still_waiting
    [report] = reports
    assert report.deferred == ("hung",)
    assert stored(url, "hung").state == "queued"
    smtp.hang_for(0)
    time.sleep(3.0)  # let the server's hung handler finish before the next test
    dispose_engine(url)


def test_an_unusable_server_fails_the_run_in_one_line_without_the_password(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    enqueue(database_url, "statement")
    smtp.refuse_logins = True
    settings = settings_for(sio_home, smtp.port, smtp_user="sio", smtp_password=PASSWORD)

    with pytest.raises(MailDeliveryFailed) as failed:
        deliver_pending(database_url, settings, now=NOW, **NO_WAIT)

    message = str(failed.value)
    assert "\n" not in message and f"127.0.0.1:{smtp.port}" in message and "535" in message
    assert PASSWORD not in message and PASSWORD not in caplog.text
    assert PASSWORD not in repr(settings)
    assert stored(database_url, "statement").state == "queued"
    with engine_for(database_url).connect() as connection:
        tables = [
            name
            for (name,) in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type='table'")
                if database_url.startswith("sqlite")
                else text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            )
        ]
        dump = json.dumps(
            [[list(r) for r in connection.execute(text(f'SELECT * FROM "{t}"'))] for t in tables],
            default=str,
        )
    assert PASSWORD not in dump
    assert "outgoing_mail" in tables


def test_credentials_are_never_sent_in_clear_to_another_host(sio_home: Path) -> None:
    url = load_settings().resolved_database_url
    enqueue(url, "statement")
    settings = Settings(
        home=sio_home, smtp_host="smtp.example.invalid", smtp_user="sio", smtp_password=PASSWORD
    )

    with pytest.raises(MailDeliveryFailed, match="without TLS; set SIO_SMTP_STARTTLS"):
        deliver_pending(url, settings, now=NOW, **NO_WAIT)
    dispose_engine(url)


def test_recheck_skips_what_is_no_longer_true_and_records_why(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = settings_for(sio_home, smtp.port)
    enqueue(database_url, "reminder/met", kind="application_reminder", obligation="application")
    enqueue(
        database_url,
        "reminder/open",
        kind="application_reminder",
        kommunenummer="0301",
        obligation="application",
    )
    enqueue(database_url, "invitation", kind="meeting_invitation")
    enqueue(database_url, "letter", kind="decision_offer")
    asked: list[str] = []

    def recheck(mail: OutgoingMail, at: datetime) -> str | None:
        asked.append(mail.key)
        assert at == NOW
        if mail.key == "reminder/met":
            return "the application arrived 2015-11-09"
        if mail.kind == "meeting_invitation":
            return "the meeting was cancelled"
        return None

    report = deliver_pending(database_url, settings, now=NOW, recheck=recheck, **NO_WAIT)

    assert sorted(asked) == ["invitation", "reminder/met", "reminder/open"]  # not the letter
    assert sorted(report.skipped) == ["invitation", "reminder/met"]
    assert sorted(report.sent) == ["letter", "reminder/open"]
    met = stored(database_url, "reminder/met")
    assert met.state == "skipped" and met.skipped is not None
    assert met.skipped.startswith("the application arrived 2015-11-09")
    assert sorted(m.message["X-SIO-Key"] for m in smtp.messages) == ["letter", "reminder/open"]


def test_a_recheck_that_breaks_defers_that_message_and_the_others_go(
    sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    url = load_settings().resolved_database_url
    enqueue(url, "reminder/broken", kind="application_reminder", obligation="application")
    enqueue(url, "letter", kind="decision_offer")

    def recheck(mail: OutgoingMail, at: datetime) -> str | None:
        raise KeyError(f"no such obligation {mail.obligation} at {at}")

    report = deliver_pending(
        url, settings_for(sio_home, smtp.port), now=NOW, recheck=recheck, **NO_WAIT
    )

    assert report.sent == ("letter",) and report.deferred == ("reminder/broken",)
    assert "KeyError" in report.problems[0].error
    assert stored(url, "reminder/broken").state == "queued"
    dispose_engine(url)


def test_superseded_reminders_are_skipped_only_while_queued(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = settings_for(sio_home, smtp.port)
    for rung, days in (("14", 0), ("7", 7), ("1", 13)):
        enqueue(
            database_url,
            f"rem/{rung}",
            kind="application_reminder",
            obligation="application",
            due_at=NOW + timedelta(days=days),
        )
    smtp.refuse_recipient(FINANCE[0], "550 5.1.1 No such user")
    deliver_pending(database_url, settings, now=NOW, **NO_WAIT)  # rung 14: failed for one

    report = deliver_pending(database_url, settings, now=NOW + timedelta(days=14), **NO_WAIT)

    assert report.skipped == ("rem/7",)
    assert report.sent == () and report.failed == ("rem/1",)
    assert stored(database_url, "rem/14").state == "failed"  # a failed row keeps its state


def test_twenty_kills_during_delivery_lose_nothing_and_resend_at_most_one_each(
    sio_home: Path, smtp: RecordingSmtpServer, record_property: Any
) -> None:
    url = load_settings().resolved_database_url
    keys = [f"sio-2016/{number:04d}/decision_offer" for number in range(300)]
    for key in keys:
        enqueue(url, key, recipients=[FINANCE[0]], kind="decision_offer")
    dispose_engine(url)
    rng = random.Random(20151110)
    kills, window = 0, 0.15
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "tests.support.delivery_victim",
        url,
        str(smtp.port),
        str(sio_home),
    ]
    while kills < 20:
        victim = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, env=environment, cwd=ROOT
        )
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, window))
        finished = victim.poll() is not None
        victim.kill()
        victim.wait(timeout=30)
        victim.stdout.close()
        if finished:
            break
        kills += 1
        # A fast machine sends more per window: shorter windows keep twenty kills in the work.
        if len(smtp.messages) > len(keys) * kills / 25:
            window *= 0.6
    survivor = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300
    )
    assert survivor.returncode == 0, survivor.stderr

    received = Counter(m.message["X-SIO-Key"] for m in smtp.messages)
    ids: dict[str, set[str]] = {}
    for mail in smtp.messages:
        ids.setdefault(mail.message["X-SIO-Key"], set()).add(mail.message["Message-ID"])
    duplicates = sum(count - 1 for count in received.values())
    lost = [key for key in keys if received[key] == 0]
    record_property("kills_duplicates_lost", (kills, duplicates, len(lost)))
    assert kills >= 20
    assert lost == []
    assert duplicates <= kills
    assert all(len(found) == 1 for found in ids.values())  # a resend keeps its Message-ID
    with session_for(url) as session:
        states = Counter(row.state for row in session.exec(select(OutgoingMail)))
    assert states == {"sent": len(keys)}
    dispose_engine(url)


def test_twenty_kills_while_writing_eml_files_leave_each_message_once_whole_and_recorded(
    sio_home: Path, record_property: Any
) -> None:
    """``.eml`` mode killed at random: one whole file per message, each recorded sent once.

    The groups a killed run had written but not yet recorded (at most two: one being made
    durable, one being written) are written again by the next run under the same names.
    """
    url = load_settings().resolved_database_url
    count = 2000  # enough for twenty kills before the sweeps are through
    keys = [f"sio-2016/{number:04d}/agreement_reminder" for number in range(count)]
    with session_for(url) as session:
        for key in keys:
            enqueue_mail(
                session,
                key=key,
                round_id="sio-2016",
                kommunenummer="1714",
                kind="agreement_reminder",
                recipients=[FINANCE[0]],
                subject="Påminnelse: signert samarbeidsavtale",
                body="Vi minner om fristen for å sende inn signert samarbeidsavtale.",
                due_at=NOW,
                now=NOW,
            )
        session.commit()
        installation = installation_id(session)
    dispose_engine(url)
    renderer = WireRenderer(mail_from=Settings().mail_from, date=NOW, installation=installation)
    expected = {
        eml_filename(key): renderer.render(
            key=key,
            recipients=[FINANCE[0]],
            subject="Påminnelse: signert samarbeidsavtale",
            body="Vi minner om fristen for å sende inn signert samarbeidsavtale.",
        )
        for key in keys
    }
    rng = random.Random(20151111)
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.support.delivery_victim", url, "eml", str(sio_home)]
    kills, leftovers, window = 0, 0, 0.25
    while kills < 20:
        victim = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, env=environment, cwd=ROOT
        )
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == "ready"
        if victim.stdout.readline().strip() != "writing":  # nothing left to write
            victim.wait(timeout=30)
            victim.stdout.close()
            break
        time.sleep(rng.uniform(0.0, window))
        finished = victim.poll() is not None
        victim.kill()
        victim.wait(timeout=30)
        victim.stdout.close()
        if finished:
            break
        kills += 1
        leftovers += len(list((sio_home / "outbox").glob(".*.tmp")))  # killed mid-write
        assert all(  # a reader never sees half a message, whenever the run dies
            path.read_bytes() == expected[path.name] for path in (sio_home / "outbox").glob("*.eml")
        )
        if _sent_count(url) > count * kills / 25:  # ahead of twenty kills: shorter windows
            window *= 0.6
    survivor = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300
    )
    assert survivor.returncode == 0, survivor.stderr

    outbox = sio_home / "outbox"
    names = sorted(path.name for path in outbox.iterdir())
    record_property("eml_kills_leftovers_sent", (kills, leftovers, _sent_count(url)))
    assert kills >= 20
    assert names == sorted(map(eml_filename, keys))  # once each, no temporary file left
    for name, raw in expected.items():  # whole: the very bytes a run without kills writes
        assert (outbox / name).read_bytes() == raw
    with session_for(url) as session:
        rows = session.exec(select(OutgoingMail)).all()
        audited = Counter(
            json.loads(entry.detail)["key"]
            for entry in session.exec(select(AuditEntry).where(AuditEntry.what == "mail_sent"))
        )
    assert {(row.state, row.claimed_by, row.sent_at) for row in rows} == {("sent", None, NOW)}
    assert all(json.loads(row.replies or "{}")[FINANCE[0]]["state"] == "sent" for row in rows)
    assert audited == Counter(keys)  # recorded sent exactly once each
    dispose_engine(url)


def _sent_count(url: str) -> int:
    with engine_for(url).connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM outgoing_mail WHERE state = 'sent'")
        ).scalar()
    dispose_engine(url)
    return int(found or 0)
