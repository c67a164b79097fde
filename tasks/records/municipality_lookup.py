"""The municipality registry as the commands see it: the shipped table plus imported rows.

Why both: the shipped table covers the municipalities named in the seeds; staff add others with
``sio import municipalities FILE`` and those land in the application database. An imported row
with a shipped number replaces the shipped one, so staff can correct it without a release.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources

from sio_domain.municipality_registry import (
    MunicipalityRegistry,
    MunicipalityVersion,
    parse_municipalities_csv,
)

SHIPPED_TABLE = resources.files("sio_domain") / "registry" / "municipalities.csv"


@lru_cache(maxsize=1)
def shipped_versions() -> tuple[MunicipalityVersion, ...]:
    """The shipped registry rows (sio_domain/registry/municipalities.csv)."""
    return tuple(
        parse_municipalities_csv(SHIPPED_TABLE.read_text(encoding="utf-8"), "municipalities.csv")
    )


def registry(database_url: str | None = None) -> MunicipalityRegistry:
    """The registry: shipped rows, then rows imported into the database (which win)."""
    return MunicipalityRegistry([*shipped_versions(), *imported_versions(database_url)])


def imported_versions(database_url: str | None = None) -> tuple[MunicipalityVersion, ...]:
    """Rows imported into the application database, if it exists yet (no schema is created here)."""
    from tasks.records.municipality_store import stored_versions_if_any

    return tuple(stored_versions_if_any(database_url))


def held_numbers(kommunenummer: str) -> list[str]:
    """Every number the municipality has held or will hold (its identity, oldest first)."""
    return registry().lineage(kommunenummer)


def municipality_name(kommunenummer: str) -> str:
    """The municipality's name under that number."""
    return registry().get(kommunenummer).name


def in_force(kommunenummer: str, on: date) -> MunicipalityVersion:
    """The number and name in force on a date for any number the municipality has held."""
    return registry().in_force(kommunenummer, on)
