"""The quarterly payout run (utbetaling): exact to the øre, reproducible, never paid twice.

Held on the 5th working day of each quarter at 06:00 Europe/Oslo (DOMAIN.md **D**). The run pays
the quarter's advance and settles activity-based financing for the quarter just ended; the ledger's
unique line keys make a re-run, a retry or a crash-and-rerun add nothing that was already paid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from deployments.settings import load_settings
from sio_domain.instants import parse_as_of
from sio_domain.norwegian_calendar import nth_working_day_of_month, quarter_label, quarter_of
from tasks.round_files import load_round


def _run_name() -> str:
    parameters = flow_run.parameters or {}
    return " · ".join(
        str(part)
        for part in (
            "payout",
            parameters.get("round_ref", "?"),
            parameters.get("run") or "scheduled",
            parameters.get("as_of") or "now",
        )
        if part
    )


def run_day(round_ref: str, label: str) -> datetime:
    """The day a quarter's payout run is held: the round's n-th working day of the quarter."""
    round_def = load_round(round_ref)
    year, quarter = int(label[:4]), int(label[-1])
    return nth_working_day_of_month(year, 3 * quarter - 2, round_def.payout.working_day)  # type: ignore[return-value]


@task(
    name="payout-lines", cache_policy=NO_CACHE, task_run_name="payout-lines · {round_ref} · {label}"
)
def compute_and_record(round_ref: str, label: str, as_of: datetime, dry_run: bool) -> Any:
    """Compute the run's lines and append them to the ledger (or only compute, for a dry run)."""
    from tasks.payout_engine import run_payout

    return run_payout(
        round_ref,
        label,
        database_url=load_settings().resolved_database_url,
        as_of=as_of,
        dry_run=dry_run,
    )


@flow(name="payout", flow_run_name=_run_name, timeout_seconds=1800, persist_result=True)
def payout(
    round_ref: str, run: str | None = None, as_of: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Pay the quarter: advances, ABF settlement, late corrections and staff adjustments."""
    instant = parse_as_of(as_of, now=datetime.now().astimezone())
    label = run or quarter_label(*quarter_of(instant.date()))
    if run is None and instant.date() != run_day(round_ref, label):
        get_run_logger().info("%s is not the payout day of %s", instant.date(), label)
        return {"round": round_ref, "run": label, "skipped": "not the payout day"}
    key = f"payout-progress-{round_ref}-{label}".lower()
    progress = create_progress_artifact(0.0, key=key, description=f"payout {round_ref} {label}")
    result = compute_and_record(round_ref, label, instant, dry_run)
    update_progress_artifact(progress, 100.0)
    rows = result.artifact_rows() if hasattr(result, "artifact_rows") else []
    if rows:
        create_table_artifact(
            key=f"payout-{round_ref}-{label}".lower(),
            table=rows,
            description=f"payout run {label} for {round_ref} (municipality × component)",
        )
    return result.as_json() if hasattr(result, "as_json") else {"round": round_ref, "run": label}
