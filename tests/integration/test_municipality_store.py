"""Imported municipalities read back for look-ups: SQLite without the ORM, PostgreSQL through it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from tasks.records.municipality_lookup import registry
from tasks.records.municipality_store import (
    import_municipalities,
    stored_versions,
    stored_versions_if_any,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
ROWS = (
    "kommunenummer,name,valid_from,valid_to,successor,written_standard\n"
    "9901,Prøvekommune,2001-01-01,2019-12-31,9902,nynorsk\n"
    "9902,Prøvebyen,2020-01-01,,,bokmål\n"
)


def _import(tmp_path: Path, url: str) -> None:
    csv = tmp_path / "municipalities.csv"
    csv.write_text(ROWS, encoding="utf-8")
    assert import_municipalities(csv, database_url=url, now=NOW) == 2


def test_sqlite_look_up_reads_every_imported_field_as_the_orm_does(tmp_path):
    url = f"sqlite:///{tmp_path / 'sio.db'}"
    _import(tmp_path, url)
    quick = stored_versions_if_any(url)
    assert quick == stored_versions(url)
    assert [v.kommunenummer for v in quick] == ["9901", "9902"]
    first = quick[0]
    assert (first.name, first.valid_from, first.valid_to, first.successor) == (
        "Prøvekommune",
        date(2001, 1, 1),
        date(2019, 12, 31),
        "9902",
    )
    assert first.written_standard == "nynorsk" and quick[1].valid_to is None
    assert registry(url).in_force("9901", date(2021, 1, 1)).kommunenummer == "9902"


def test_sqlite_look_up_of_a_missing_or_empty_database_creates_nothing(tmp_path):
    missing = tmp_path / "none.db"
    assert stored_versions_if_any(f"sqlite:///{missing}") == []
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert stored_versions_if_any(f"sqlite:///{empty}") == []


def test_postgresql_look_up_reads_the_imported_rows(tmp_path, fresh_postgres_url):
    _import(tmp_path, fresh_postgres_url)
    versions = stored_versions_if_any(fresh_postgres_url)
    assert [(v.kommunenummer, v.successor) for v in versions] == [("9901", "9902"), ("9902", None)]


def test_sqlite_look_up_does_not_import_the_orm(tmp_path):
    url = f"sqlite:///{tmp_path / 'sio.db'}"
    _import(tmp_path, url)
    code = (
        "import sys; from tasks.records.municipality_store import stored_versions_if_any; "
        f"assert len(stored_versions_if_any({url!r})) == 2; "
        "orm = {'sqlalchemy', 'sqlmodel', 'alembic'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & orm))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
