"""The application database: engines, sessions and schema migrations, for SQLite and PostgreSQL.

Plain functions, no Prefect import, so CLI look-ups stay quick. The schema is created and migrated
automatically on first use in each process (`session_for`), and on request (`upgrade`, behind
`sio db upgrade`). Migrations are serialised between processes by the database itself: SQLite's
`BEGIN IMMEDIATE` write lock, PostgreSQL's `pg_advisory_xact_lock`; whoever comes second waits,
then finds the schema at head and does nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_SECONDS = 30
_MIGRATION_LOCK_KEY = 5_102_016_000  # arbitrary but fixed: "sio schema migration" in PostgreSQL

_REVISION_HOOKS = {
    "ruff_fix": {"type": "module", "module": "ruff", "options": "check --fix --quiet REVISION_SCRIPT_FILENAME"},
    "ruff_format": {"type": "module", "module": "ruff", "options": "format --quiet REVISION_SCRIPT_FILENAME"},
}

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_guard = threading.RLock()


def engine_for(url: str) -> Engine:
    """The process's one engine for `url`, created on first call."""
    with _guard:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


@contextmanager
def session_for(url: str) -> Iterator[Session]:
    """A SQLModel session on `url`, after making sure the schema is at head; the caller commits."""
    ensure_upgraded(url)
    with Session(engine_for(url)) as session:
        yield session


def upgrade(url: str) -> None:
    """Migrate the database at `url` to the newest revision; a no-op when already there."""
    with migration_connection(url) as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with _guard:
        _upgraded.add(url)


def ensure_upgraded(url: str) -> None:
    """Upgrade `url` unless this process already saw it at head (checked without locking)."""
    with _guard:
        if url in _upgraded:
            return
        if current_revision(url) == head_revision():
            _upgraded.add(url)
        else:
            upgrade(url)


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None for a database sio has not set up yet."""
    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of sio."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations found in {MIGRATIONS_DIR}"
    return head


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini), e.g. for `command.revision`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s")  # rev_id="0002_contacts" → 0002_contacts.py
    for hook, options in _REVISION_HOOKS.items():  # only `command.revision` runs these
        for option, value in options.items():
            config.set_section_option("post_write_hooks", f"{hook}.{option}", value)
    config.set_section_option("post_write_hooks", "hooks", ", ".join(_REVISION_HOOKS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def migration_connection(url: str) -> Iterator[Connection]:
    """A connection in one transaction that holds the database's migration lock; commits at end.

    SQLite: foreign keys off while tables are rebuilt (batch mode), checked before commit.
    """
    engine = engine_for(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # no effect inside BEGIN
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left rows violating foreign keys: {broken}")
                connection.commit()
            finally:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()
        else:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            yield connection
            connection.commit()


def dispose_engine(url: str) -> None:
    """Close the pooled connections to `url` and forget it, e.g. before deleting the database."""
    with _guard:
        engine = _engines.pop(url, None)
        _upgraded.discard(url)
    if engine is not None:
        engine.dispose()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if not in_memory and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine_options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        **engine_options,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: object) -> None:
    """WAL lets readers work while a flow writes; SQLite enforces foreign keys only if asked."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _forget_inherited_engines() -> None:
    """A forked child must not reuse its parent's pooled connections (SQLAlchemy pooling docs)."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_engines)
