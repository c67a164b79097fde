"""The outbox keeps one row per key, never commits for its caller, and skips stale reminders."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from deployments.settings import load_settings
from tasks.mail.outbox import Attachment, enqueue_mail, pending, skip_superseded
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import OutgoingAttachment, OutgoingMail

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2015, 11, 10, 9, 0, tzinfo=OSLO)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """sio's default SQLite file in a fresh SIO_HOME, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        request.getfixturevalue("sio_home")
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    dispose_engine(url)


def enqueue(
    session: Session, key: str = "sio-2016/1714/application_reminder/14", **changes: Any
) -> bool:
    """Enqueue an application reminder to Stjørdal; ``changes`` override its fields."""
    values: dict[str, Any] = {
        "key": key,
        "round_id": "sio-2016",
        "kommunenummer": "1714",
        "kind": "application_reminder",
        "recipients": ["postmottak@stjordal.kommune.no"],
        "subject": "Påminnelse: søknadsfrist 1. desember 2015",
        "body": "Vi minner om at fristen er tirsdag 1. desember 2015.",
        "due_at": NOW,
        "now": NOW,
        "obligation": "application_deadline",
    }
    return enqueue_mail(session, **(values | changes))


def keys(url: str) -> list[str]:
    with session_for(url) as session:
        return sorted(row.key for row in session.exec(select(OutgoingMail)))


def test_the_same_key_is_enqueued_once(database_url: str) -> None:
    with session_for(database_url) as session:
        assert enqueue(session) is True
        session.commit()
    with session_for(database_url) as session:
        assert enqueue(session, subject="another subject") is False
        session.commit()

    with session_for(database_url) as session:
        [row] = session.exec(select(OutgoingMail)).all()
    assert row.subject == "Påminnelse: søknadsfrist 1. desember 2015"


def test_enqueue_leaves_the_commit_to_the_caller(database_url: str) -> None:
    with session_for(database_url) as session:
        assert enqueue(session, attachments=[Attachment("a.txt", "text/plain", b"avtale")])
        session.rollback()  # the caller's state change failed: the mail must go too

    assert keys(database_url) == []
    with session_for(database_url) as session:
        assert session.exec(select(OutgoingAttachment)).all() == []


def test_a_duplicate_key_keeps_the_callers_transaction_usable(database_url: str) -> None:
    with session_for(database_url) as session:
        enqueue(session)
        session.commit()
    with session_for(database_url) as session:
        assert enqueue(session) is False
        assert enqueue(session, key="sio-2016/1714/application_reminder/7") is True
        session.commit()

    assert keys(database_url) == [
        "sio-2016/1714/application_reminder/14",
        "sio-2016/1714/application_reminder/7",
    ]


def test_attachments_are_stored_with_their_message(database_url: str) -> None:
    invitation = Attachment("invitasjon.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR")
    with session_for(database_url) as session:
        enqueue(session, attachments=[invitation])
        session.commit()

    with session_for(database_url) as session:
        [stored] = session.exec(select(OutgoingAttachment)).all()
    assert (stored.filename, stored.mimetype, stored.content) == (
        "invitasjon.ics",
        "text/calendar; method=REQUEST",
        b"BEGIN:VCALENDAR",
    )


def test_two_runs_racing_on_one_key_store_one_row(database_url: str) -> None:
    start = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with session_for(database_url) as session:
                start.wait(timeout=10)
                results.append(enqueue(session))
                session.commit()
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [False, True]
    assert keys(database_url) == ["sio-2016/1714/application_reminder/14"]


@pytest.mark.parametrize(
    ("recipients", "problem"),
    [([], "no recipients"), (["postmottak@a.no, b@c.no"], "not a plain"), (["nobody"], "plain")],
)
def test_mail_that_could_never_be_delivered_is_refused(
    database_url: str, recipients: list[str], problem: str
) -> None:
    with session_for(database_url) as session, pytest.raises(ValueError, match=problem):
        enqueue(session, recipients=recipients)


def test_a_stale_reminder_is_skipped_when_a_later_one_is_due(database_url: str) -> None:
    """After downtime, the 14-day reminder is superseded by the 7-day one; the 1-day one waits."""
    deadline = "sio-2016/1714/application_reminder"
    with session_for(database_url) as session:
        enqueue(session, key=f"{deadline}/14", due_at=NOW)
        enqueue(session, key=f"{deadline}/7", due_at=NOW + timedelta(days=9))
        enqueue(session, key=f"{deadline}/1", due_at=NOW + timedelta(days=20))
        enqueue(session, key="sio-2016/1664/application_reminder/14", kommunenummer="1664")
        enqueue(session, key="sio-2016/1714/application_received", obligation=None)
        session.commit()

    back_up = NOW + timedelta(days=10)
    with session_for(database_url) as session:
        assert skip_superseded(session, now=back_up) == [f"{deadline}/14"]
        session.commit()

    with session_for(database_url) as session:
        due = [mail.key for mail in pending(session, now=back_up)]
        stale = session.exec(select(OutgoingMail).where(OutgoingMail.key == f"{deadline}/14")).one()
    assert due == [
        "sio-2016/1664/application_reminder/14",
        "sio-2016/1714/application_received",
        f"{deadline}/7",
    ]
    assert stale.skipped is not None and f"{deadline}/7" in stale.skipped
    assert stale.sent_at is None


def test_nothing_is_skipped_while_only_one_reminder_is_due(database_url: str) -> None:
    with session_for(database_url) as session:
        enqueue(session, key="r/14", due_at=NOW)
        enqueue(session, key="r/7", due_at=NOW + timedelta(days=9))
        session.commit()

    with session_for(database_url) as session:
        assert skip_superseded(session, now=NOW + timedelta(days=1)) == []
        assert [mail.key for mail in pending(session, now=NOW + timedelta(days=1))] == ["r/14"]
