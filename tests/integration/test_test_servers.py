"""The test servers are real: PostgreSQL answers SQL, the SMTP server receives mail over TCP."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.postgres_server import PostgresCluster
from tests.support.smtp_server import RecordingSmtpServer

REMINDER_BODY = "Påminnelse: frist 1. desember 2015"


def _reminder(to: str = "postmottak@stjordal.kommune.no") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "sio@helsedir.no"
    message["To"] = to
    message["Subject"] = "Påminnelse om søknadsfrist"
    message.set_content(REMINDER_BODY)
    return message


def _send(server: RecordingSmtpServer, message: EmailMessage) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.send_message(message)


@pytest.mark.postgres
def test_postgres_url_points_at_a_real_postgresql_server(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        version = conn.execute(text("select version()")).scalar_one()
        database = conn.execute(text("select current_database()")).scalar_one()
    engine.dispose()
    assert "PostgreSQL" in version
    assert database == "sio_test"


@pytest.mark.postgres
def test_postgres_round_trips_a_row_with_norwegian_text(fresh_postgres_url: str) -> None:
    engine = create_engine(fresh_postgres_url)
    with engine.begin() as conn:
        conn.execute(text("create table municipality (number text primary key, name text)"))
        conn.execute(text("insert into municipality values ('1714', 'Stjørdal')"))
    with engine.connect() as conn:
        name = conn.execute(text("select name from municipality where number = '1714'")).scalar()
    engine.dispose()
    assert name == "Stjørdal"


@pytest.mark.postgres
def test_fresh_postgres_database_is_empty_and_separate(
    fresh_postgres_url: str, postgres_url: str
) -> None:
    assert fresh_postgres_url != postgres_url
    engine = create_engine(fresh_postgres_url)
    with engine.connect() as conn:
        tables = conn.execute(
            text("select count(*) from information_schema.tables where table_schema = 'public'")
        ).scalar_one()
    engine.dispose()
    assert tables == 0


@pytest.mark.postgres
def test_dropping_a_database_ends_connections_left_open(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.create_database("sio_test_left_open")
    left_open = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))

    postgres_cluster.drop_database("sio_test_left_open")

    with pytest.raises(psycopg.OperationalError):
        left_open.execute("select 1")
    left_open.close()


def test_smtp_server_receives_utf8_mail_with_subject(smtp: RecordingSmtpServer) -> None:
    _send(smtp, _reminder())

    [mail] = smtp.messages
    assert mail.mail_from == "sio@helsedir.no"
    assert mail.rcpt_tos == ["postmottak@stjordal.kommune.no"]
    assert mail.message["Subject"] == "Påminnelse om søknadsfrist"
    assert mail.message.get_content().strip() == REMINDER_BODY


def test_smtp_temporary_failure_rejects_only_the_next_message(
    smtp: RecordingSmtpServer,
) -> None:
    smtp.reject_next()

    with pytest.raises((smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)) as refused:
        _send(smtp, _reminder())
    assert isinstance(refused.value, smtplib.SMTPDataError)
    assert refused.value.smtp_code == 451
    assert smtp.messages == []

    _send(smtp, _reminder())
    assert len(smtp.messages) == 1


def test_smtp_server_accepts_and_records_a_login(smtp: RecordingSmtpServer) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        client.login("sio", "hemmelig")
        client.send_message(_reminder())

    assert smtp.logins == [("sio", "hemmelig")]
    assert len(smtp.messages) == 1


def test_smtp_fixture_starts_with_an_empty_mailbox(smtp: RecordingSmtpServer) -> None:
    assert smtp.messages == []
    assert smtp.logins == []


def test_sio_home_hides_the_developers_settings(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("SIO_DATABASE_URL", "postgresql+psycopg://prod/sio")
    monkeypatch.setenv("SIO_SMTP_HOST", "smtp.helsedir.no")

    home: Path = request.getfixturevalue("sio_home")

    assert os.environ["SIO_HOME"] == str(home)
    assert home.is_dir() and not any(home.iterdir())
    assert "SIO_DATABASE_URL" not in os.environ
    assert "SIO_SMTP_HOST" not in os.environ


DEFAULT_HOMES_SEEN: list[str] = []


@pytest.mark.parametrize("turn", ["first", "second"])
def test_a_test_without_a_home_of_its_own_gets_a_new_one_never_the_developers(turn: str) -> None:
    """Whatever a test leaves in its default SIO_HOME, no later test finds there (a test once
    left municipality rows in the shared default home and a pure test's registry read them)."""
    from deployments.settings import load_settings

    home = Path(os.environ["SIO_HOME"])
    assert load_settings().home == home and not home.exists()
    assert home != Path("~/.local/share/sio").expanduser()
    assert str(home) not in DEFAULT_HOMES_SEEN, turn
    DEFAULT_HOMES_SEEN.append(str(home))
    assert Path(os.environ["PREFECT_HOME"]) != Path("~/.prefect").expanduser()
    assert "PREFECT_API_URL" not in os.environ  # no developer's server is reported to
