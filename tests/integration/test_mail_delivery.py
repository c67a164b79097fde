"""Delivery to a real SMTP server on localhost and to the file outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar
from sqlmodel import col, select

from deployments.settings import Settings, load_settings
from sio_domain.plan import PlanEvent
from tasks.documents.agreement_text import agreement_attachment
from tasks.documents.calendar_files import plan_calendar
from tasks.mail import mail_delivery
from tasks.mail.mail_delivery import (
    CLAIM_BATCH,
    MailDeliveryFailed,
    deliver_pending,
    eml_filename,
    message_id,
)
from tasks.mail.mail_templates import render_mail
from tasks.mail.outbox import (
    Attachment,
    calendar_attachment,
    enqueue_mail,
    installation_id,
    undelivered,
)
from tasks.storage.database import dispose_engine, engine_for, session_for
from tasks.storage.tables import AuditEntry, OutgoingMail
from tests.support.free_port import free_tcp_port
from tests.support.smtp_server import RecordingSmtpServer
from tests.support.tmpfs import mounted_tmpfs

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2015, 11, 10, 9, 0, tzinfo=OSLO)
DEADLINE = date(2015, 12, 1)
STJORDAL = "postmottak@stjordal.kommune.no"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NO_WAIT: dict[str, Any] = {"backoff_seconds": 0.0}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """sio's default SQLite file in a fresh SIO_HOME, or a fresh PostgreSQL database."""
    request.getfixturevalue("sio_home")  # every test here also needs a home for its outbox
    if request.param == "sqlite":
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    dispose_engine(url)


def smtp_settings(home: Path, port: int, **more: Any) -> Settings:
    return Settings(home=home, smtp_host="127.0.0.1", smtp_port=port, **more)


def enqueue(url: str, key: str = "sio-2016/1714/application_reminder/14", **changes: Any) -> bool:
    """Enqueue a bokmål application reminder to Stjørdal and commit, as a flow would."""
    letter = render_mail(
        "application_reminder", "bokmål", municipality="Stjørdal", deadline=DEADLINE
    )
    values: dict[str, Any] = {
        "key": key,
        "round_id": "sio-2016",
        "kommunenummer": "1714",
        "kind": "application_reminder",
        "recipients": [STJORDAL],
        "subject": letter.subject,
        "body": letter.body,
        "due_at": NOW,
        "now": NOW,
        "obligation": "application_deadline",
    }
    with session_for(url) as session:
        added = enqueue_mail(session, **(values | changes))
        session.commit()
    return added


def row(url: str, key: str) -> OutgoingMail:
    with session_for(url) as session:
        return session.exec(select(OutgoingMail).where(OutgoingMail.key == key)).one()


def expected_message_id(url: str, key: str, mail_from: str) -> str:
    with session_for(url) as session:
        return message_id(key, mail_from, installation_id(session))


def audit_whats(url: str) -> list[str]:
    with session_for(url) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
        return [entry.what for entry in entries]


def test_a_message_goes_exactly_once_when_enqueue_and_delivery_run_twice(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = smtp_settings(sio_home, smtp.port)
    key = "sio-2016/1714/application_reminder/14"

    assert enqueue(database_url, key)
    first = deliver_pending(database_url, settings, now=NOW, **NO_WAIT)
    assert not enqueue(database_url, key)
    second = deliver_pending(database_url, settings, now=NOW + timedelta(hours=1), **NO_WAIT)

    assert (first.sent, second.sent) == ((key,), ())
    [mail] = smtp.messages
    assert mail.rcpt_tos == [STJORDAL]
    assert mail.mail_from == "sio@helsedir.no"
    assert mail.message["Message-ID"] == expected_message_id(database_url, key, settings.mail_from)
    assert mail.message["Content-Language"] == "nb"
    assert mail.message["Subject"].startswith("Påminnelse: søknadsfrist 1. desember 2015")
    assert "tirsdag 1. desember 2015" in mail.message.get_content()
    assert row(database_url, key).sent_at == NOW
    assert audit_whats(database_url) == ["mail_sent"]


def test_a_nynorsk_municipality_gets_its_reminder_in_nynorsk(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    letter = render_mail(
        "application_reminder", "nynorsk", municipality="Os (Hordaland)", deadline=DEADLINE
    )
    enqueue(
        database_url,
        "sio-2016/1243/application_reminder/14",
        kommunenummer="1243",
        recipients=["postmottak@os.kommune.no"],
        subject=letter.subject,
        body=letter.body,
    )

    deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    [mail] = smtp.messages
    body = mail.message.get_content()
    assert mail.message["Subject"].startswith("Påminning: søknadsfrist 1. desember 2015")
    assert body.splitlines()[0] == "Til Os kommune"
    assert "tysdag 1. desember 2015" in body and "Venleg helsing" in body


def test_a_temporary_rejection_is_retried_and_then_delivered(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    key = "sio-2016/1714/application_reminder/14"
    enqueue(database_url, key)
    smtp.reject_next(1)

    report = deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    assert report.sent == (key,)
    assert len(smtp.messages) == 1
    stored = row(database_url, key)
    assert stored.attempts == 2 and stored.sent_at == NOW
    assert stored.last_error is not None and "451" in stored.last_error


def test_mail_failing_after_retries_is_deferred_and_goes_on_a_later_run(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = smtp_settings(sio_home, smtp.port)
    enqueue(database_url, "a/first", obligation=None)
    enqueue(database_url, "b/second", obligation=None, due_at=NOW + timedelta(minutes=1))
    smtp.reject_next(3)  # every attempt of the first message this run

    report = deliver_pending(database_url, settings, now=NOW + timedelta(minutes=1), **NO_WAIT)

    assert report.deferred == ("a/first",)
    assert report.sent == ("b/second",)  # the others went on
    [problem] = report.problems
    assert problem.key == "a/first" and "451" in problem.error
    stuck = row(database_url, "a/first")
    assert (stuck.sent_at, stuck.attempts, stuck.state) == (None, 3, "queued")
    assert stuck.last_error is not None and "451" in stuck.last_error
    assert stuck.next_attempt_at is not None and stuck.next_attempt_at > NOW + timedelta(minutes=1)

    too_early = NOW + timedelta(minutes=2)  # before next_attempt_at: left alone
    assert deliver_pending(database_url, settings, now=too_early, **NO_WAIT).sent == ()
    later = NOW + timedelta(days=1)
    assert deliver_pending(database_url, settings, now=later, **NO_WAIT).sent == ("a/first",)
    assert sorted(m.message["X-SIO-Key"] for m in smtp.messages) == ["a/first", "b/second"]
    assert row(database_url, "a/first").sent_at == later


def test_temporary_failures_until_the_limit_make_a_dead_letter_shown_to_staff(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    settings = smtp_settings(sio_home, smtp.port)
    enqueue(database_url, "a/first", obligation=None)
    smtp.reject_next(4)
    limits: dict[str, Any] = NO_WAIT | {"attempts_per_run": 2, "max_attempts": 4}

    first = deliver_pending(database_url, settings, now=NOW, **limits)
    second = deliver_pending(database_url, settings, now=NOW + timedelta(days=1), **limits)
    third = deliver_pending(database_url, settings, now=NOW + timedelta(days=2), **limits)

    assert (first.deferred, second.dead, third.sent) == (("a/first",), ("a/first",), ())
    assert row(database_url, "a/first").state == "dead"
    with session_for(database_url) as session:
        [task] = undelivered(session)
    assert (task.key, task.state, task.refused) == ("a/first", "dead", (STJORDAL,))
    assert "451" in task.reason
    assert smtp.messages == []


@dataclass
class RefusingHandler:
    """An SMTP server that refuses every message permanently (554) until told otherwise."""

    refuse: bool = True
    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "554 5.7.1 Message refused by policy"
        self.received.append(bytes(envelope.original_content or b""))
        return "250 OK"


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[RefusingHandler, int]]:
    handler = RefusingHandler()
    port = free_tcp_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_permanent_failure_is_failed_once_shown_to_staff_and_later_runs_succeed(
    database_url: str, sio_home: Path, refusing_smtp: tuple[RefusingHandler, int]
) -> None:
    handler, port = refusing_smtp
    settings = smtp_settings(sio_home, port)
    enqueue(database_url, "a/refused")

    report = deliver_pending(database_url, settings, now=NOW, **NO_WAIT)

    assert report.failed == ("a/refused",)
    assert row(database_url, "a/refused").attempts == 1
    assert row(database_url, "a/refused").state == "failed"
    assert audit_whats(database_url) == ["mail_failed"]
    with session_for(database_url) as session:
        [task] = undelivered(session)
    assert task.state == "failed" and "554 5.7.1 Message refused by policy" in task.reason

    handler.refuse = False  # the postmaster fixed the policy; a later run neither fails nor resends
    later = deliver_pending(database_url, settings, now=NOW + timedelta(days=1), **NO_WAIT)
    assert later.sent == () and later.failed == ()
    assert handler.received == []


def test_an_unreachable_server_fails_the_run_and_leaves_every_message_unharmed(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    enqueue(database_url, "a/first", obligation=None)
    enqueue(database_url, "b/second", obligation=None)
    nobody_listens = smtp_settings(sio_home, free_tcp_port())

    with pytest.raises(MailDeliveryFailed, match="unreachable") as failed:
        deliver_pending(database_url, nobody_listens, now=NOW, **NO_WAIT)

    assert failed.value.report.sent == ()
    assert "\n" not in str(failed.value)
    assert [row(database_url, k).attempts for k in ("a/first", "b/second")] == [0, 0]
    assert [row(database_url, k).state for k in ("a/first", "b/second")] == ["queued"] * 2
    report = deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)
    assert report.sent == ("a/first", "b/second")


def test_the_configured_login_is_used(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    enqueue(database_url)
    settings = smtp_settings(sio_home, smtp.port, smtp_user="sio", smtp_password="hemmelig")

    deliver_pending(database_url, settings, now=NOW, **NO_WAIT)

    assert smtp.logins == [("sio", "hemmelig")]
    assert len(smtp.messages) == 1


def test_without_smtp_the_outbox_folder_gets_a_parsable_eml_once(
    database_url: str, sio_home: Path
) -> None:
    key = "sio-2016/1714/agreement"
    settings = Settings(home=sio_home)
    enqueue(
        database_url,
        key,
        kind="agreement",
        obligation=None,
        attachments=[agreement_attachment("A", municipality="Stjørdal", kommunenummer="1714")],
    )

    deliver_pending(database_url, settings, now=NOW)
    deliver_pending(database_url, settings, now=NOW + timedelta(days=1))

    files = sorted(settings.outbox_dir.iterdir())
    assert [path.name for path in files] == [eml_filename(key)]
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == STJORDAL
    assert message["Message-ID"] == expected_message_id(database_url, key, settings.mail_from)
    assert "1. desember 2015" in message["Subject"]
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "samarbeidsavtale-sio-2016-modell-A-1714.pdf"
    assert attachment.get_content().startswith(b"%PDF-")  # the agreement for signing
    assert row(database_url, key).sent_at == NOW


def test_an_invitation_carries_an_ics_with_method_request(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    start = datetime(2016, 6, 14, 10, 0, tzinfo=OSLO)
    meeting = PlanEvent(
        kind="status_meeting",
        title="Statusmøte",
        start=start,
        end=start + timedelta(minutes=90),
        all_day=False,
        nominal=None,
        firm=False,
        responsible="directorate",
        municipality="1714",
        model="A",
        source="seed 000, Bilag 1 model A row 10",
        key="sio-2016/1714/status_meeting/2016-06",
    )
    ics = plan_calendar(
        [meeting],
        name="Statusmøte",
        stamp=NOW,
        method="REQUEST",
        organizer="sio@helsedir.no",
        attendees=[STJORDAL],
    )
    enqueue(
        database_url,
        "sio-2016/1714/meeting_invitation/2016-06",
        attachments=[calendar_attachment(ics)],
    )

    deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    [mail] = smtp.messages
    [part] = mail.message.iter_attachments()
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    assert part.get_filename() == "invitasjon.ics"
    calendar = Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert str(event["SUMMARY"]) == "Statusmøte"


def test_a_binary_attachment_arrives_unchanged(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    statement = bytes(range(256)) * 4
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    enqueue(
        database_url, attachments=[Attachment("utbetaling-Stjørdal-2017Q2.xlsx", xlsx, statement)]
    )

    deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    [part] = smtp.messages[0].message.iter_attachments()
    assert part.get_filename() == "utbetaling-Stjørdal-2017Q2.xlsx"
    assert part.get_content() == statement


def test_stale_reminders_are_skipped_not_sent_in_a_burst(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    reminders = "sio-2016/1714/application_reminder"
    enqueue(database_url, f"{reminders}/14", due_at=NOW)
    enqueue(database_url, f"{reminders}/7", due_at=NOW + timedelta(days=9))
    back_up = NOW + timedelta(days=10)  # the system was down for both

    report = deliver_pending(
        database_url, smtp_settings(sio_home, smtp.port), now=back_up, **NO_WAIT
    )

    assert report.skipped == (f"{reminders}/14",)
    assert report.sent == (f"{reminders}/7",)
    assert [m.message["X-SIO-Key"] for m in smtp.messages] == [f"{reminders}/7"]
    assert sorted(audit_whats(database_url)) == ["mail_sent", "mail_skipped"]


def test_a_message_not_yet_due_waits(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    enqueue(database_url, due_at=NOW + timedelta(days=1))

    report = deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    assert report.sent == () and smtp.messages == []


def test_two_deliveries_at_once_send_each_message_once(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    keys = [f"sio-2016/{number}/decision_offer" for number in ("0138", "0926", "1243", "1714")]
    for key in keys:
        enqueue(database_url, key, obligation=None)
    settings = smtp_settings(sio_home, smtp.port)
    start = threading.Barrier(2)
    sent: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            sent.extend(deliver_pending(database_url, settings, now=NOW, **NO_WAIT).sent)
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(sent) == keys
    assert sorted(m.message["X-SIO-Key"] for m in smtp.messages) == keys


def test_a_sweep_longer_than_one_claimed_batch_sends_each_once_in_due_order(
    database_url: str, sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    count = CLAIM_BATCH + 5
    keys = [f"sio-2016/{number:04d}/decision_offer" for number in range(count)]
    with session_for(database_url) as session:
        for position, key in enumerate(keys):
            enqueue_mail(
                session,
                key=key,
                round_id="sio-2016",
                kommunenummer=None,
                kind="decision_offer",
                recipients=[STJORDAL],
                subject="Vedtak",
                body="Vedtak om deltakelse.",
                due_at=NOW - timedelta(minutes=count - position),
                now=NOW - timedelta(days=1),
            )
        session.commit()

    report = deliver_pending(database_url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    assert report.sent == tuple(keys)
    assert [m.message["X-SIO-Key"] for m in smtp.messages] == keys
    assert audit_whats(database_url) == ["mail_sent"] * count
    with session_for(database_url) as session:
        rows = session.exec(select(OutgoingMail)).all()
    assert {(r.state, r.claimed_by, r.attempts) for r in rows} == {("sent", None, 1)}


def test_a_sweep_leaves_its_pooled_sqlite_connection_forcing_commits_to_disk(
    sio_home: Path, smtp: RecordingSmtpServer
) -> None:
    url = load_settings().resolved_database_url
    enqueue(url)

    deliver_pending(url, smtp_settings(sio_home, smtp.port), now=NOW, **NO_WAIT)

    with engine_for(url).connect() as connection:  # the pool hands back the sweep's connection
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    dispose_engine(url)


def test_the_outbox_folder_gets_every_file_of_a_long_sweep_and_records_them_sent(
    sio_home: Path,
) -> None:
    url = load_settings().resolved_database_url
    settings = Settings(home=sio_home)
    keys = [f"sio-2016/{number:04d}/agreement_reminder" for number in range(CLAIM_BATCH + 3)]
    for key in keys:
        enqueue(url, key, obligation=None)

    report = deliver_pending(url, settings, now=NOW)

    assert sorted(report.sent) == sorted(keys)
    assert sorted(p.name for p in settings.outbox_dir.iterdir()) == sorted(map(eml_filename, keys))
    with session_for(url) as session:
        assert {r.state for r in session.exec(select(OutgoingMail))} == {"sent"}
    dispose_engine(url)


def enqueue_many(url: str, keys: list[str], body: str = "Vedtak om deltakelse.") -> None:
    with session_for(url) as session:
        for key in keys:
            enqueue_mail(
                session,
                key=key,
                round_id="sio-2016",
                kommunenummer="1714",
                kind="decision_offer",
                recipients=[STJORDAL],
                subject="Vedtak",
                body=body,
                due_at=NOW,
                now=NOW,
            )
        session.commit()


@pytest.mark.skipif(mail_delivery._SYNCFS is None, reason="syncfs(2) is Linux's")
def test_eml_answers_are_committed_only_after_their_group_of_files_is_flushed(
    sio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = load_settings().resolved_database_url
    keys = [f"sio-2016/{number:04d}/decision_offer" for number in range(2 * CLAIM_BATCH + 50)]
    enqueue_many(url, keys)
    outbox = sio_home / "outbox"
    real_syncfs = mail_delivery._SYNCFS
    assert real_syncfs is not None
    seen: list[tuple[int, int]] = []  # (messages recorded sent, files written) as a flush starts

    def watched_syncfs(descriptor: int) -> int:
        with closing(sqlite3.connect(str(sio_home / "sio.db"))) as database:
            [sent] = database.execute("SELECT count(*) FROM outgoing_mail WHERE state = 'sent'")
        seen.append((int(sent[0]), len(list(outbox.glob("*.eml")))))
        return real_syncfs(descriptor)

    monkeypatch.setattr(mail_delivery, "_SYNCFS", watched_syncfs)
    report = deliver_pending(url, Settings(home=sio_home), now=NOW)

    assert sorted(report.sent) == keys
    groups = [CLAIM_BATCH, 2 * CLAIM_BATCH, len(keys)]  # files written by each flush's start
    assert [sent for sent, _ in seen] == [0, CLAIM_BATCH, 2 * CLAIM_BATCH]
    assert all(files >= written for (_, files), written in zip(seen, groups, strict=True))
    dispose_engine(url)


@pytest.fixture
def small_outbox(sio_home: Path) -> Iterator[Path]:
    """The outbox folder on a 1 MiB tmpfs of its own (root only); skipped elsewhere outside CI."""
    with mounted_tmpfs(sio_home / "outbox", "1m") as outbox:
        yield outbox


def test_a_full_outbox_disk_mid_sweep_keeps_what_was_written_and_gives_back_the_rest(
    sio_home: Path, small_outbox: Path
) -> None:
    url = load_settings().resolved_database_url
    keys = [f"sio-2016/{number:04d}/decision_offer" for number in range(3 * CLAIM_BATCH)]
    enqueue_many(url, keys, body="Vedtak om deltakelse i forsøket. " * 60)  # ~2 KB, 1 page each
    settings = Settings(home=sio_home)

    with pytest.raises(MailDeliveryFailed, match="cannot write"):
        deliver_pending(url, settings, now=NOW)

    with session_for(url) as session:
        rows = {row.key: row for row in session.exec(select(OutgoingMail))}
    sent = sorted(key for key, row in rows.items() if row.state == "sent")
    assert CLAIM_BATCH < len(sent) < len(keys)  # the disk filled up in a later group
    assert {row.state for row in rows.values()} == {"sent", "queued"}  # nothing left claimed
    assert {row.attempts for row in rows.values() if row.state == "queued"} == {0}
    assert sorted(p.name for p in small_outbox.iterdir()) == sorted(map(eml_filename, sent))
    for key in sent:  # every message recorded sent is on disk, whole
        message = email.message_from_bytes((small_outbox / eml_filename(key)).read_bytes())
        assert (
            message["X-SIO-Key"] == key and "forsøket" in message.get_payload(decode=True).decode()
        )
    assert audit_whats(url) == ["mail_sent"] * len(sent)

    subprocess.run(["mount", "-o", "remount,size=8m", str(small_outbox)], check=True)
    report = deliver_pending(url, settings, now=NOW)

    assert sorted(report.sent) == sorted(set(keys) - set(sent))
    assert sorted(p.name for p in small_outbox.iterdir()) == sorted(map(eml_filename, keys))
    assert audit_whats(url) == ["mail_sent"] * len(keys)
    dispose_engine(url)


@pytest.mark.parametrize("smtp_mode", [True, False], ids=["smtp", "eml"])
def test_answers_are_stored_in_the_form_every_other_statement_stores_and_compares(
    sio_home: Path, smtp: RecordingSmtpServer, smtp_mode: bool
) -> None:
    """SQLite keeps times as text: an answer's times are the ORM's ``… HH:MM:SS.ffffff``."""
    url = load_settings().resolved_database_url
    enqueue(url, "sio-2016/1714/decision_offer", kind="decision_offer", obligation=None)
    settings = smtp_settings(sio_home, smtp.port) if smtp_mode else Settings(home=sio_home)
    as_of = pendulum.instance(NOW)  # what the flows pass: pendulum's DateTime

    deliver_pending(url, settings, now=as_of, **NO_WAIT)

    with engine_for(url).connect() as connection:
        sent_at = connection.exec_driver_sql("SELECT sent_at FROM outgoing_mail").scalar()
        audited_at = connection.exec_driver_sql(
            "SELECT at FROM audit_log WHERE what = 'mail_sent'"
        ).scalar()
    assert sent_at == audited_at == "2015-11-10 08:00:00.000000"  # NOW in UTC
    assert row(url, "sio-2016/1714/decision_offer").sent_at == NOW
    dispose_engine(url)
