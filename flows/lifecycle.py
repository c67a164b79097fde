"""The trial's lifecycle stages as Prefect flows: each a short run that does what is due at its
instant (``as_of``) and stops; the trial's state lives in the application database.

Every flow is safe to repeat — twice, late, or after a crash — because each step finds work it
already did (an outbox key, a stage mark, a row with a natural key) and treats it as done.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.stage_setup import deliver_mail, prepare, publish, result_of, stage_run_name
from tasks.agreement_dispatch import dispatch_agreements
from tasks.application_window import handle_application_window
from tasks.event_invitations import invite_to_gatherings, invite_to_status_meetings
from tasks.go_live_review import review_go_live
from tasks.reminder_sweep import sweep_reminders
from tasks.stage_run import StageRun, StageSummary


def _step(name: str, fn: Any) -> Any:
    return task(
        fn,
        name=name,
        cache_policy=NO_CACHE,
        retries=1,
        retry_delay_seconds=2,
        task_run_name=f"{name} · {{run.round_def.id}}",
    )


close_application_window = _step("application-window", handle_application_window)
send_agreements = _step("agreements", dispatch_agreements)
invite_gatherings = _step("gathering-invitations", invite_to_gatherings)
review_readiness = _step("go-live-review", review_go_live)
invite_status_meetings = _step("status-meeting-invitations", invite_to_status_meetings)
queue_reminders = _step("reminders-due", sweep_reminders)


def _finish(run: StageRun, summary: StageSummary) -> dict[str, Any]:
    mail = deliver_mail(run)
    publish(run, summary)
    return result_of(summary, mail)


@flow(
    name="application-deadline",
    flow_run_name=stage_run_name("application-deadline"),
    timeout_seconds=900,
)
def application_deadline(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Receipts for applications; at the effective deadline the window closes with a summary."""
    run = prepare("application-deadline", round_ref, as_of, kommune)
    return _finish(run, close_application_window(run))


@flow(name="signing", flow_run_name=stage_run_name("signing"), timeout_seconds=900)
def signing(round_ref: str, as_of: str | None = None, kommune: str | None = None) -> dict[str, Any]:
    """The cooperation agreement to each selected municipality; who has returned it, who is late."""
    run = prepare("signing", round_ref, as_of, kommune)
    return _finish(run, send_agreements(run))


@flow(name="gatherings", flow_run_name=stage_run_name("gatherings"), timeout_seconds=900)
def gatherings(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Invitations with .ics to gatherings, network gatherings and information meetings."""
    run = prepare("gatherings", round_ref, as_of, kommune)
    return _finish(run, invite_gatherings(run))


@flow(name="go-live", flow_run_name=stage_run_name("go-live"), timeout_seconds=900)
def go_live(round_ref: str, as_of: str | None = None, kommune: str | None = None) -> dict[str, Any]:
    """Readiness against Bilag 1 before go-live; the participation goes live on the date."""
    run = prepare("go-live", round_ref, as_of, kommune)
    return _finish(run, review_readiness(run))


@flow(name="status-meetings", flow_run_name=stage_run_name("status-meetings"), timeout_seconds=900)
def status_meetings(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Status-meeting invitations 10 working days ahead and reminders 2 working days ahead."""
    run = prepare("status-meetings", round_ref, as_of, kommune)
    return _finish(run, invite_status_meetings(run))


@flow(name="reminders", flow_run_name=stage_run_name("reminders"), timeout_seconds=900)
def reminders(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """The daily sweep: every deadline reminder due, to whom it concerns, once."""
    run = prepare("reminders", round_ref, as_of, kommune)
    return _finish(run, queue_reminders(run))
