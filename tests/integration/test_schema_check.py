"""A database at head is recognised without loading Alembic; one behind head is still migrated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import text

from tasks.storage.database import (
    _shipped_head,
    alembic_config,
    current_revision,
    dispose_engine,
    engine_for,
    ensure_upgraded,
    head_revision,
    migration_connection,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_head_read_from_the_migration_files_is_alembics():
    assert _shipped_head() == head_revision()


def test_a_database_at_head_is_used_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'sio.db'}"
    ensure_upgraded(url)
    dispose_engine(url)
    check = (
        "import sys\nfrom tasks.storage.database import session_for\n"
        f"with session_for({url!r}) as session: pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_database_behind_head_is_still_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'sio.db'}"
    with migration_connection(url) as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0004_payout_approval")
    with engine_for(url).connect() as connection:
        stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert stored == "0004_payout_approval" != head_revision()
    ensure_upgraded(url)
    assert current_revision(url) == head_revision()
    dispose_engine(url)
