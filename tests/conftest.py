"""Shared fixtures: a private PostgreSQL cluster, a recording SMTP server, an isolated SIO_HOME,
and a schema migrated once per session that new SQLite files in this process start from.

No test reads or writes the developer's own data: the session (each xdist worker on its own)
points SIO_HOME and PREFECT_HOME at a temporary folder and hides every sio setting and Prefect
server from outside; each test then gets an SIO_HOME of its own (created by whatever writes to
it), unless it sets one itself (``sio_home``, a subprocess's ``env``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.storage import database
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
PREFECT_FROM_OUTSIDE = (
    "PREFECT_API_URL",
    "PREFECT_API_KEY",
    "PREFECT_API_AUTH_STRING",
    "PREFECT_PROFILE",
    "PREFECT_PROFILES_PATH",
    "PREFECT_LOCAL_STORAGE_PATH",
)
_session_folder: Path | None = None
_test_homes = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "migrates: runs Alembic itself on new SQLite files (no copy of the session's template)",
    )
    _isolate_session()


def pytest_unconfigure() -> None:
    if _session_folder is not None:
        shutil.rmtree(_session_folder, ignore_errors=True)


def _isolate_session() -> None:
    """SIO_HOME and PREFECT_HOME in a folder of this process's own; no setting from outside.

    Run before any test module imports Prefect (which reads PREFECT_HOME once), and inherited by
    every subprocess a test starts with ``os.environ``. Without it, a test that forgot its own
    SIO_HOME would write into ``~/.local/share/sio``, where a later test's registry look-up reads
    the rows (imported municipalities once made an unrelated test fail so), and Prefect in the
    test processes kept its files in ``~/.prefect``, shared by both workers and every developer
    on the machine; an exported ``SIO_DATABASE_URL`` or ``PREFECT_API_URL`` reached the tests.
    """
    global _session_folder
    from deployments.settings import ENV_PREFIX, Settings

    _session_folder = Path(tempfile.mkdtemp(prefix="sio-tests-"))
    for name in Settings.model_fields:
        os.environ.pop(f"{ENV_PREFIX}{name}".upper(), None)
    for name in PREFECT_FROM_OUTSIDE:
        os.environ.pop(name, None)
    os.environ["SIO_HOME"] = str(_session_folder / "sio-home")
    os.environ["PREFECT_HOME"] = str(_session_folder / "prefect-home")


@pytest.fixture(autouse=True)
def own_sio_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's default SIO_HOME is a folder no other test uses (not created beforehand).

    Autouse fixtures come first, so ``sio_home`` and a test's own ``setenv`` still win.
    """
    assert _session_folder is not None
    monkeypatch.setenv("SIO_HOME", str(_session_folder / "tests" / str(next(_test_homes))))


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file that Alembic migrated to head once for the whole session."""
    path = tmp_path_factory.mktemp("schema-template") / "sio.db"
    url = f"sqlite:///{path}"
    database.upgrade(url)
    database.dispose_engine(url)  # checkpoints the WAL: the one file is the whole database
    return path


@pytest.fixture(autouse=True)
def new_sqlite_files_start_migrated(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> None:
    """An SQLite file that does not exist yet is, on first use in this process, a copy of the
    session's migrated template instead of a fresh Alembic run (about half a second each).

    Only the file's origin changes: ``ensure_upgraded`` still checks its revision. Existing
    files (an older schema, a damaged file) and other databases go through Alembic as before; so
    do every ``sio`` subprocess and every test marked ``migrates`` (the migrations' own tests).
    """
    if request.node.get_closest_marker("migrates"):
        return
    migrate = database.ensure_upgraded

    def ensure_upgraded(url: str) -> None:
        with database._guard:
            target = _new_sqlite_file(url)
            if target is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sqlite_template, target)
            migrate(url)

    monkeypatch.setattr(database, "ensure_upgraded", ensure_upgraded)


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL this process has not migrated and that is absent."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if (
        parsed.get_backend_name() != "sqlite"
        or name in ("", ":memory:")
        or name.startswith("file:")
        or parsed.query.get("mode") == "memory"
        or url in database._upgraded
    ):
        return None
    path = Path(name)
    if path.exists() or url in database._engines:
        return None
    return path
