"""What every stage flow does around its work: set up the run, deliver mail, publish results.

Flow and task run names carry the stage, round, municipality and instant, and every run that
changes something publishes its summary and the round dashboard as keyed artifacts, so the Prefect
UI reads like a case list. A step with nothing to do is not run: most runs of a daily stage find
nothing due, and such a run is one ``what-is-due`` task run — no queue, delivery or publish step,
no artifacts (nothing changed), and none of the letter, mail or console modules imported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from deployments.settings import load_settings
from sio_domain.agendas import Agenda
from sio_domain.instants import parse_as_of
from sio_domain.trial_state import TrialState
from tasks.intake.round_files import load_round
from tasks.runs.stage_due import StageDue, stage_due, worth_publishing
from tasks.runs.stage_run import NO_MAIL, StageRun, StageSummary, stage_result, stage_run_title
from tasks.runs.stages import summarise
from tasks.storage.unit_of_work import AppliedAgenda, unit_of_work


def stage_run_name(stage: str) -> Any:
    """A flow-run name function: ``reminders · sio-2016 · 1714 · 2016-01-12T09:00+01:00``."""

    def name() -> str:
        return stage_run_title(stage, flow_run.parameters or {})

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


@task(name="queue-and-record", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def queue_and_record(run: StageRun, state: TrialState, agenda: Agenda) -> StageSummary:
    """Queue the letters under their outbox keys and record the changes, in one transaction."""
    from tasks.console.domain_events import emit_applied

    with unit_of_work(run.database_url) as uow:
        applied = uow.apply(
            agenda,
            state,
            actor=run.actor,
            mail_from=run.settings.mail_from,
            staff_address=run.settings.staff_address,
        )
        uow.commit()
    emit_applied(state, agenda, applied)  # the committed changes into Prefect's Event Feed
    return summarise(run, agenda, applied)


@task(name="what-is-due", cache_policy=NO_CACHE)
def _what_is_due(stage: str, run: StageRun) -> StageDue:
    """The round as it stood at the run's instant and what the stage has to do in it: the letters
    and changes due (pure rules), mail waiting in the outbox, staff tasks to escalate."""
    return stage_due(stage, run)


def what_is_due(stage: str, run: StageRun) -> StageDue:
    """Load the state and decide, in one task run named after the stage, round and instant."""
    name = f"what-is-due · {stage} · {run.round_def.id} · {run.as_of.isoformat()}"
    due: StageDue = _what_is_due.with_options(task_run_name=name)(stage, quote(run))
    return due


def queue_due(run: StageRun, due: StageDue) -> StageSummary:
    """Queue the letters and record the changes due (a task run), when the agenda has any."""
    if not due.to_apply:
        return summarise(run, due.agenda, AppliedAgenda())
    name = f"queue-and-record · {due.agenda.stage} · {run.round_def.id} · {run.as_of.isoformat()}"
    summary: StageSummary = queue_and_record.with_options(task_run_name=name)(
        quote(run), quote(due.state), quote(due.agenda)
    )
    return summary


def deliver_due(run: StageRun, due: StageDue, summary: StageSummary) -> dict[str, int]:
    """Deliver the outbox (a task run) when mail was waiting or this run queued some."""
    if not (due.mail_waiting or summary.queued_mail):
        return dict(NO_MAIL)
    return deliver_mail(run)


def publish_changes(
    run: StageRun, due: StageDue, summary: StageSummary, mail: dict[str, int]
) -> None:
    """Publish (a task run) when the run changed or sent anything, has rows or notes for staff,
    or a staff task is due to be escalated (the publish step escalates it)."""
    if worth_publishing(due, summary, mail):
        publish(run, summary)


def stage_steps(stage: str, run: StageRun) -> StageSummary:
    """Decide, then queue and record, as a lifecycle stage does, for a flow that decides only
    after waiting for input (the selection)."""
    return queue_due(run, what_is_due(stage, run))


@task(
    name="deliver-mail",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
)
def _deliver_mail(run: StageRun) -> dict[str, int]:
    """Send what the outbox holds for the round, each reminder and invitation checked again at
    the sending instant; an unusable server fails the task (and, after retries, the run), while
    one message's refusal only marks that message (failed or dead, a task for staff)."""
    from tasks.console.domain_events import emit_sent
    from tasks.mail.mail_delivery import deliver_pending
    from tasks.runs.send_time_checks import send_time_check

    report = deliver_pending(
        run.database_url,
        run.settings,
        now=run.as_of,
        round_id=run.round_def.id,
        recheck=send_time_check(run.database_url, run.round_def),
    )
    logger = get_run_logger()
    logger.info("mail: %s sent, %s skipped", len(report.sent), len(report.skipped))
    for problem in report.problems:
        logger.warning("mail %s not delivered: %s", problem.key, problem.error)
    emit_sent(run.database_url, run.round_def.id, report.sent, run.as_of)  # into the Event Feed
    counts = {"sent": len(report.sent), "skipped": len(report.skipped)}
    for name in ("failed", "dead", "deferred"):
        if getattr(report, name):
            counts[name] = len(getattr(report, name))
    return counts


@task(
    name="publish",
    cache_policy=NO_CACHE,
)
def _publish(run: StageRun, summary: StageSummary) -> None:
    """The stage's summary and the round dashboard as keyed, versioned artifacts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from tasks.console.console_artifacts import publish_console, publish_letters_and_plan
    from tasks.console.published_summaries import remember_summary
    from tasks.runs.round_dashboard import dashboard_rows

    round_id = run.round_def.id
    stage_key = f"{summary.stage}-{round_id}".lower()
    notes = "\n".join(f"- {note}" for note in summary.notes) or "- nothing to note"
    create_markdown_artifact(
        key=f"{stage_key}-notes",
        markdown=f"# {summary.stage} · {round_id} · {summary.as_of}\n\n"
        f"{summary.queued_mail} brev lagt i utboksen.\n\n{notes}\n",
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
            description=f"{run.round_def.title} — per kommune: hva som er for sent, fase og "
            f"neste frist (per {run.as_of.isoformat()})",
        )
    publish_console(run, staff_address=run.settings.staff_address)
    publish_letters_and_plan(run, summary.stage)  # the run's letters, the plan when it changed
    with unit_of_work(run.database_url) as uow:  # what the UI now shows: not news tomorrow
        remember_summary(uow.session, round_id, summary, run.kommune, run.as_of)
        uow.commit()


def result_of(summary: StageSummary, mail: dict[str, int] | None = None) -> dict[str, Any]:
    """The flow's return value: JSON-friendly, shown by ``sio run``."""
    return stage_result(summary, mail)


def deliver_mail(run: StageRun) -> dict[str, int]:
    """Send what the outbox holds for the round (a task run named after the round)."""
    name = f"deliver-mail · {run.round_def.id} · {run.as_of.isoformat()}"
    result: dict[str, int] = _deliver_mail.with_options(task_run_name=name)(quote(run))
    return result


def publish(run: StageRun, summary: StageSummary) -> None:
    """The stage's summary and the round dashboard as keyed artifacts."""
    name = f"publish · {summary.stage} · {run.round_def.id}"
    _publish.with_options(task_run_name=name)(quote(run), quote(summary))
