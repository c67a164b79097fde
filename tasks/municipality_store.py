"""Imported municipalities in the application database (``sio import municipalities FILE``).

All-or-nothing: the file is parsed and checked against the whole registry (shipped + stored + the
file) before one transaction writes it, so a refused file leaves nothing behind (INTERFACE.md).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sio_domain.municipality_registry import (
    MunicipalityRegistry,
    MunicipalityVersion,
    parse_municipalities_csv,
)
from sio_domain.text_fields import checked_text


def stored_versions_if_any(database_url: str | None = None) -> list[MunicipalityVersion]:
    """Rows imported so far; empty, without creating anything, while no database exists yet."""
    url = database_url or _default_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    return stored_versions(url)


def stored_versions(database_url: str) -> list[MunicipalityVersion]:
    """Every imported municipality version, ordered by number."""
    from sqlmodel import select

    from tasks.database import session_for
    from tasks.tables import MunicipalityRecord

    with session_for(database_url) as session:
        records = session.exec(select(MunicipalityRecord).order_by("kommunenummer")).all()
        return [
            MunicipalityVersion(
                kommunenummer=r.kommunenummer,
                name=r.name,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                successor=r.successor,
                written_standard=r.written_standard,  # type: ignore[arg-type]
            )
            for r in records
        ]


def import_municipalities(path: Path, *, database_url: str, now: datetime) -> int:
    """Add or correct municipalities from a CSV file; returns how many rows were stored."""
    from tasks.database import session_for
    from tasks.municipality_lookup import shipped_versions
    from tasks.tables import MunicipalityRecord

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
    from deployments.settings import load_settings

    return load_settings().resolved_database_url
