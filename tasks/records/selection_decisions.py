"""Recording the staff's selection, from the Prefect UI's form or from a file.

Both ways go through the same validation (sio_domain.selection) and the same idempotent store, so
"the same effect as the staff's input in the Prefect UI" (the command contract, ``sio decide
selection``)
holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select

from sio_domain.selection import DecisionEntry, validate_selection
from tasks.records.application_store import record_selection
from tasks.records.municipality_lookup import registry
from tasks.runs.stage_run import StageRun
from tasks.storage.database import session_for
from tasks.storage.tables import ApplicationRecord


def record_decisions(
    run: StageRun, entries: Iterable[DecisionEntry], *, recorded_via: str
) -> list[str]:
    """Validate and store decisions; returns the numbers newly decided. All or nothing."""
    round_def = run.round_def
    known = registry(run.database_url)
    with session_for(run.database_url) as session:
        applicants = {
            a.kommunenummer
            for a in session.exec(
                select(ApplicationRecord).where(ApplicationRecord.round_id == round_def.id)
            )
        }
        decisions = validate_selection(
            round_def,
            entries,
            registry=known,
            applicants=applicants,
            today=run.as_of.date(),
        )
        newly = record_selection(
            session,
            round_def,
            decisions,
            now=run.as_of,
            actor=run.actor,
            recorded_via=recorded_via,
            registry=known,
        )
        session.commit()
    return newly
