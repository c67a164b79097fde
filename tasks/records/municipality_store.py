"""Imported municipalities in the application database (``sio import municipalities FILE``).

All-or-nothing: the file is parsed and checked against the whole registry (shipped + stored + the
file) before one transaction writes it, so a refused file leaves nothing behind (the command
contract).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

from sio_domain.municipality_registry import (
    MunicipalityRegistry,
    MunicipalityVersion,
    parse_municipalities_csv,
)
from sio_domain.text_fields import checked_text

SQLITE_READ_TIMEOUT_SECONDS = 30  # a writer holding the lock (an import) is waited for


def stored_versions_if_any(database_url: str | None = None) -> list[MunicipalityVersion]:
    """Rows imported so far; empty, without creating anything, while no database exists yet.

    A look-up (``sio plan --kommune``) must stay near its import floor, so a SQLite database is
    read with the standard library's ``sqlite3``, read-only, without the ORM or the migrations
    (about 0.6 s of imports); other databases go through the ORM as everywhere else.
    """
    url = database_url or _default_url()
    path = _sqlite_file(url)
    if path is None:
        return stored_versions(url)
    return _sqlite_versions(path) if path.exists() else []


def _sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///FILE`` URL (no query options), else None."""
    match = re.fullmatch(r"sqlite(?:\+pysqlite)?:///([^?]+)", url)
    return Path(match.group(1)) if match else None


def _sqlite_versions(path: Path) -> list[MunicipalityVersion]:
    """The imported rows of a SQLite database, read-only; none while its schema has no table."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=SQLITE_READ_TIMEOUT_SECONDS)) as db:
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'municipality'"
        ).fetchone():
            return []
        rows = db.execute(
            "SELECT kommunenummer, name, valid_from, valid_to, successor, written_standard"
            " FROM municipality ORDER BY kommunenummer"
        ).fetchall()
    return [
        MunicipalityVersion(
            kommunenummer=number,
            name=name,
            valid_from=_date(valid_from),
            valid_to=_date(valid_to),
            successor=successor,
            written_standard=written_standard,
        )
        for number, name, valid_from, valid_to, successor, written_standard in rows
    ]


def _date(stored: str | None) -> date | None:
    return date.fromisoformat(stored) if stored else None


def stored_versions(database_url: str) -> list[MunicipalityVersion]:
    """Every imported municipality version, ordered by number."""
    from sqlmodel import select

    from tasks.storage.database import session_for
    from tasks.storage.tables import MunicipalityRecord

    with session_for(database_url) as session:
        records = session.exec(select(MunicipalityRecord).order_by("kommunenummer")).all()
        return [
            MunicipalityVersion(
                kommunenummer=r.kommunenummer,
                name=r.name,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                successor=r.successor,
                written_standard=r.written_standard,
            )
            for r in records
        ]


def import_municipalities(path: Path, *, database_url: str, now: datetime) -> int:
    """Add or correct municipalities from a CSV file; returns how many rows were stored."""
    from tasks.records.municipality_lookup import shipped_versions
    from tasks.storage.database import session_for
    from tasks.storage.tables import MunicipalityRecord

    text = _read(path)
    for number, line in enumerate(text.splitlines(), start=1):  # before any echoing parser
        checked_text(f"{path}: line {number}", line)
    versions = parse_municipalities_csv(text, str(path))
    for version in versions:  # control characters and personal numbers refused, masked
        checked_text(f"{path}: kommunenummer {version.kommunenummer}, column name", version.name)
    MunicipalityRegistry([*shipped_versions(), *stored_versions(database_url), *versions])
    with session_for(database_url) as session:
        for version in versions:
            session.merge(
                MunicipalityRecord(
                    **version.model_dump(), imported_at=now, source_file=str(path.name)
                )
            )
        session.commit()
    return len(versions)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start})") from None


def _default_url() -> str:
    from deployments.data_location import database_url

    return database_url()
