"""What every stage flow does around its work: set up the run, deliver mail, publish results.

Flow and task run names carry the stage, round, municipality and instant, and every run publishes
its summary and the round dashboard as keyed artifacts, so the Prefect UI reads like a case list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from deployments.settings import load_settings
from sio_domain.instants import parse_as_of
from tasks.mail_delivery import deliver_pending
from tasks.round_dashboard import dashboard_rows
from tasks.round_files import load_round
from tasks.stage_run import StageRun, StageSummary


def stage_run_name(stage: str) -> Any:
    """A flow-run name function: ``reminders · sio-2016 · 1714 · 2016-01-12T09:00+01:00``."""

    def name() -> str:
        parameters = flow_run.parameters or {}
        parts = [stage, str(parameters.get("round_ref", "?"))]
        if parameters.get("kommune"):
            parts.append(str(parameters["kommune"]))
        parts.append(str(parameters.get("as_of") or "now"))
        return " · ".join(parts)

    return name


def prepare(stage: str, round_ref: str, as_of: str | None, kommune: str | None) -> StageRun:
    """The stage run for these parameters: round loaded, instant fixed, actor named."""
    instant = parse_as_of(as_of, now=datetime.now().astimezone())
    actor = f"flow-run:{flow_run.id}" if flow_run.id else f"sio run {stage}"
    return StageRun(
        round_def=load_round(round_ref),
        as_of=instant,
        settings=load_settings(),
        actor=actor,
        kommune=kommune,
    )


@task(
    name="deliver-mail",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    task_run_name="deliver-mail · {run.round_def.id}",
)
def deliver_mail(run: StageRun) -> dict[str, int]:
    """Send what the outbox holds for the round; a failure after retries fails the run."""
    report = deliver_pending(
        run.database_url, run.settings, now=run.as_of, round_id=run.round_def.id
    )
    get_run_logger().info("mail: %s sent, %s skipped", len(report.sent), len(report.skipped))
    return {"sent": len(report.sent), "skipped": len(report.skipped)}


@task(
    name="publish",
    cache_policy=NO_CACHE,
    task_run_name="publish · {summary.stage} · {run.round_def.id}",
)
def publish(run: StageRun, summary: StageSummary) -> None:
    """The stage's summary and the round dashboard as keyed, versioned artifacts."""
    round_id = run.round_def.id
    stage_key = f"{summary.stage}-{round_id}".lower()
    notes = "\n".join(f"- {note}" for note in summary.notes) or "- nothing to note"
    create_markdown_artifact(
        key=f"{stage_key}-notes",
        markdown=f"# {summary.stage} · {round_id} · {summary.as_of}\n\n"
        f"{summary.queued_mail} letters queued.\n\n{notes}\n",
        description=f"{summary.stage} for {round_id} at {summary.as_of}",
    )
    if summary.rows:
        create_table_artifact(
            key=stage_key,
            table=summary.rows,
            description=f"{summary.stage} for {round_id} at {summary.as_of}",
        )
    rows = dashboard_rows(run.database_url, run.round_def, run.as_of)
    if rows:
        create_table_artifact(
            key=f"round-dashboard-{round_id}".lower(),
            table=rows,
            description=f"{run.round_def.title} — per municipality: stage, open obligations, "
            f"what is late (as of {run.as_of.isoformat()})",
        )


def result_of(summary: StageSummary, mail: dict[str, int] | None = None) -> dict[str, Any]:
    """The flow's return value: JSON-friendly, shown by ``sio run``."""
    return {
        "stage": summary.stage,
        "round": summary.round_id,
        "as_of": summary.as_of,
        "queued_mail": summary.queued_mail,
        "mail": mail or {},
        "waiting_for_input": summary.waiting_for_input,
        "notes": summary.notes,
        "rows": summary.rows,
    }
