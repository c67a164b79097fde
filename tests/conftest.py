"""Shared fixtures: a private PostgreSQL cluster, a recording SMTP server, an isolated SIO_HOME."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres_binaries import MISSING_BINARIES, find_server_bin_dir
from tests.support.postgres_server import PostgresCluster
from tests.support.smtp_server import RecordingSmtpServer

SIO_SETTINGS_FROM_OUTSIDE = (
    "SIO_DATABASE_URL",
    "SIO_SMTP_HOST",
    "SIO_SMTP_PORT",
    "SIO_SMTP_USER",
    "SIO_SMTP_PASSWORD",
    "SIO_SMTP_STARTTLS",
    "SIO_MAIL_FROM",
)
POSTGRES_FIXTURES = {"postgres_cluster", "postgres_url", "fresh_postgres_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test that uses PostgreSQL `postgres`, so `-m "not postgres"` leaves it out."""
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running private cluster (see tests/support/postgres_server.py)."""
    bin_dir = find_server_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING_BINARIES, pytrace=False)
        pytest.skip(MISSING_BINARIES)
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """URL of the session's `sio_test` database; shared by all tests, so clean up after you."""
    return postgres_cluster.create_database("sio_test")


@pytest.fixture
def fresh_postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a new empty database for this test only, dropped afterwards."""
    name = f"sio_test_{uuid.uuid4().hex[:12]}"
    url = postgres_cluster.create_database(name)
    yield url
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[RecordingSmtpServer]:
    server = RecordingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: RecordingSmtpServer) -> RecordingSmtpServer:
    """The session's SMTP server with an empty mailbox and no pending rejections."""
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def sio_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SIO_HOME, with the developer's own sio settings hidden from the test."""
    home = tmp_path / "sio-home"
    home.mkdir()
    monkeypatch.setenv("SIO_HOME", str(home))
    for name in SIO_SETTINGS_FROM_OUTSIDE:
        monkeypatch.delenv(name, raising=False)
    return home
