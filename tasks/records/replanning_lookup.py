"""Reading recorded replanning decisions for a quick look-up (``sio plan``), without the ORM.

A SQLite database is read with the standard library's ``sqlite3``, read-only, as the municipality
registry is for look-ups; other databases go through the ORM. No database yet means no decisions.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime

from sio_domain.replanning import ReplanDecision
from tasks.records.municipality_store import SQLITE_READ_TIMEOUT_SECONDS, _default_url, _sqlite_file

_COLUMNS = "kind, decided_on, reason, decided_by, target, kommunenummer, to_date, to_start"


def recorded_decisions_if_any(
    round_id: str, database_url: str | None = None
) -> list[ReplanDecision]:
    """The round's replanning decisions in the order recorded; empty without a database."""
    url = database_url or _default_url()
    path = _sqlite_file(url)
    if path is None:
        from sqlmodel import Session

        from tasks.records.replanning import decisions_of
        from tasks.storage.database import engine_for

        with Session(engine_for(url)) as session:
            return decisions_of(session, round_id)
    if not path.exists():
        return []
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=SQLITE_READ_TIMEOUT_SECONDS)) as db:
        if not db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'replan_decision'"
        ).fetchone():
            return []
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM replan_decision WHERE round_id = ? ORDER BY id", (round_id,)
        ).fetchall()
    return [
        ReplanDecision(
            kind,
            date.fromisoformat(decided_on),
            reason,
            decided_by,
            target,
            kommunenummer,
            date.fromisoformat(to_date) if to_date else None,
            datetime.fromisoformat(to_start).replace(tzinfo=UTC) if to_start else None,
        )
        for kind, decided_on, reason, decided_by, target, kommunenummer, to_date, to_start in rows
    ]
