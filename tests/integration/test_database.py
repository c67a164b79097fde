"""The application database is created and migrated on first use, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import SQLModel, select

from deployments.settings import SettingsError, load_settings
from tasks.storage.database import (
    current_revision,
    dispose_engine,
    engine_for,
    head_revision,
    session_for,
    upgrade,
)
from tasks.storage.tables import MunicipalityRecord

pytestmark = pytest.mark.migrates  # first use must run Alembic, not copy a template
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
OSLO_SUMMER = timezone(timedelta(hours=2))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database nobody has used yet: sio's default SQLite file, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        request.getfixturevalue("sio_home")
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    dispose_engine(url)


def stjordal(**changes: object) -> MunicipalityRecord:
    values: dict[str, object] = {
        "kommunenummer": "5035",
        "name": "Stjørdal",
        "valid_from": date(2018, 1, 1),
        "valid_to": None,
        "successor": None,
        "written_standard": "bokmål",
        "imported_at": datetime(2026, 6, 14, 10, 0, tzinfo=OSLO_SUMMER),
        "source_file": "kommuner.csv",
    }
    return MunicipalityRecord.model_validate(values | changes)


def table_names(url: str) -> set[str]:
    return set(sa.inspect(engine_for(url)).get_table_names())


def test_first_session_creates_the_schema_at_head(database_url: str) -> None:
    assert "municipality" not in table_names(database_url)

    with session_for(database_url) as session:
        assert session.exec(select(MunicipalityRecord)).all() == []

    assert {"alembic_version", "municipality"} <= table_names(database_url)
    assert current_revision(database_url) == head_revision()


def test_upgrading_again_changes_nothing(database_url: str) -> None:
    upgrade(database_url)
    with session_for(database_url) as session:
        session.add(stjordal())
        session.commit()

    upgrade(database_url)

    assert current_revision(database_url) == head_revision()
    with session_for(database_url) as session:
        assert [m.name for m in session.exec(select(MunicipalityRecord))] == ["Stjørdal"]


def test_municipality_round_trips_with_an_aware_utc_datetime(database_url: str) -> None:
    with session_for(database_url) as session:
        session.add(stjordal())
        session.commit()
    dispose_engine(database_url)  # read back over a new connection, not from the session's cache

    with session_for(database_url) as session:
        stored = session.exec(select(MunicipalityRecord)).one()

    assert stored == stjordal(imported_at=datetime(2026, 6, 14, 8, 0, tzinfo=UTC))
    assert stored.imported_at.utcoffset() == timedelta(0)
    assert stored.valid_from == date(2018, 1, 1)


def test_a_naive_datetime_is_refused(database_url: str) -> None:
    with session_for(database_url) as session:
        session.add(stjordal(imported_at=datetime(2026, 6, 14, 10, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()


def test_an_unknown_written_standard_is_refused(database_url: str) -> None:
    with session_for(database_url) as session:
        session.add(stjordal(written_standard="svensk"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_the_migrations_build_exactly_the_tables_the_models_describe(database_url: str) -> None:
    upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], (
        "a table model changed without a new revision in tasks/storage/migrations"
    )


UPGRADE_AT = """
import sys, time
from tasks.storage.database import upgrade, current_revision
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
upgrade(sys.argv[1])
print(current_revision(sys.argv[1]))
"""


def test_processes_upgrading_a_fresh_database_at_once_all_succeed(database_url: str) -> None:
    start_at = str(time.time() + 3)  # after every process has imported sio
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE_AT, database_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=180), *p.communicate()) for p in processes]

    for code, out, err in results:
        assert code == 0, err
        assert out.strip() == head_revision()


def test_settings_default_to_sio_db_under_sio_home(sio_home: Path) -> None:
    settings = load_settings()

    assert settings.home == sio_home
    assert settings.resolved_database_url == f"sqlite:///{sio_home}/sio.db"
    assert settings.outbox_dir == sio_home / "outbox"
    assert settings.exports_dir == sio_home / "exports"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (None, None, False)
    assert settings.mail_from == "sio@helsedir.no"


def test_sio_home_defaults_to_the_users_share_folder(
    sio_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIO_HOME")
    monkeypatch.setenv("HOME", str(sio_home))

    assert load_settings().home == sio_home / ".local" / "share" / "sio"


@pytest.mark.usefixtures("sio_home")
def test_sio_database_url_overrides_the_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIO_DATABASE_URL", "postgresql+psycopg://sio@db.example/sio")

    assert load_settings().resolved_database_url == "postgresql+psycopg://sio@db.example/sio"


@pytest.mark.parametrize(
    ("variable", "value"), [("SIO_SMTP_PORT", "abc"), ("SIO_SMTP_STARTTLS", "maybe")]
)
@pytest.mark.usefixtures("sio_home")
def test_a_bad_setting_names_the_variable_and_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert f"{variable}='{value}'" in message
    assert "\n" not in message
