"""The quarterly payout run (utbetaling): exact to the øre, reproducible, never paid twice.

Held on the 5th working day of each quarter at 06:00 Europe/Oslo (DOMAIN.md **D**). The run pays
the quarter's advance and settles activity-based financing for the quarter just ended; the ledger's
unique line keys make a re-run, a retry or a crash-and-rerun add nothing that was already paid.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
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
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.payouts.payout_engine import PayoutResult, run_payout


def _run_name() -> str:
    parameters = flow_run.parameters or {}
    parts = (
        "payout",
        parameters.get("round_ref", "?"),
        parameters.get("run") or "scheduled",
        parameters.get("as_of") or "now",
    )
    return " · ".join(str(part) for part in parts)


def run_day(round_ref: str, label: str) -> date:
    """The day a quarter's payout run is held: the round's n-th working day of the quarter."""
    year, quarter = int(label[:4]), int(label[-1])
    return nth_working_day_of_month(year, 3 * quarter - 2, load_round(round_ref).payout.working_day)


def component_table(result: PayoutResult) -> list[dict[str, str]]:
    """Municipality × component totals of a run, for the keyed table artifact."""
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for line in result.lines:
        row = totals[(line.kommunenummer, line.municipality)]
        row[line.component] = row.get(line.component, Decimal("0.00")) + line.amount
    components = sorted({line.component for line in result.lines})
    table = []
    for (number, name), amounts in sorted(totals.items()):
        row = {"kommunenummer": number, "municipality": name}
        row.update({c: f"{amounts.get(c, Decimal('0.00')):.2f}" for c in components})
        row["total"] = f"{sum(amounts.values(), Decimal('0.00')):.2f}"
        table.append(row)
    return table


@task(
    name="payout-lines", cache_policy=NO_CACHE, task_run_name="payout-lines · {round_ref} · {label}"
)
def pay(round_ref: str, label: str, as_of: datetime, dry_run: bool, progress_id: Any) -> Any:
    """Compute the run's lines and append them to the ledger (or only compute, for a dry run)."""
    settings = load_settings()

    def report(fraction: float, text: str) -> None:
        update_progress_artifact(progress_id, min(100.0, 100 * fraction), description=text)

    return run_payout(
        round_ref,
        label,
        database_url=settings.resolved_database_url,
        as_of=as_of,
        dry_run=dry_run,
        exports_dir=settings.exports_dir / "payouts",
        actor=f"flow-run:{flow_run.id}",
        progress=report,
    )


@task(name="send-statements", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def send_statements(round_ref: str, as_of: datetime) -> int:
    """Deliver the statements the run queued for each municipality's finance officer."""
    settings = load_settings()
    report = deliver_pending(
        settings.resolved_database_url, settings, now=as_of, round_id=load_round(round_ref).id
    )
    return len(report.sent)


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
    progress = create_progress_artifact(
        0.0,
        key=f"payout-progress-{round_ref}-{label}".lower(),
        description=f"payout {round_ref} {label}",
    )
    result: PayoutResult = pay(round_ref, label, instant, dry_run, progress)
    if result.lines:
        create_table_artifact(
            key=f"payout-{round_ref}-{label}".lower(),
            table=component_table(result),
            description=f"payout run {label} for {round_ref} ({result.status}): "
            f"{result.total:.2f} NOK, municipality × component",
        )
    sent = 0 if dry_run else send_statements(round_ref, instant)
    get_run_logger().info(
        "%s %s: %s lines, %.2f NOK, %s held back, %s statements sent",
        round_ref,
        label,
        len(result.lines),
        result.total,
        len(result.held),
        sent,
    )
    return result.as_json()
