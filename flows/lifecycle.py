"""The trial's lifecycle stages as Prefect flows: each a short run that does what is due at its
instant (``as_of``) and stops; the trial's state lives in the application database.

Every flow reads the same way: load the round as it stood at the instant and decide what is due,
queue the letters and record the changes, deliver the mail, publish what happened. A step with
nothing to do is skipped (no task run): a run with nothing due is one ``what-is-due`` step. Every
step is safe to repeat — twice, late, or after a crash — because each letter has a unique outbox
key and each change a natural key.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.stage_setup import (
    deliver_due,
    prepare,
    publish_changes,
    queue_due,
    result_of,
    stage_run_name,
    what_is_due,
)


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
    due = what_is_due("application-deadline", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)


@flow(name="signing", flow_run_name=stage_run_name("signing"), timeout_seconds=900)
def signing(round_ref: str, as_of: str | None = None, kommune: str | None = None) -> dict[str, Any]:
    """The cooperation agreement to each selected municipality; who has returned it, who is late."""
    run = prepare("signing", round_ref, as_of, kommune)
    due = what_is_due("signing", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)


@flow(name="gatherings", flow_run_name=stage_run_name("gatherings"), timeout_seconds=900)
def gatherings(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Invitations with .ics to gatherings, network gatherings and information meetings."""
    run = prepare("gatherings", round_ref, as_of, kommune)
    due = what_is_due("gatherings", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)


@flow(name="go-live", flow_run_name=stage_run_name("go-live"), timeout_seconds=900)
def go_live(round_ref: str, as_of: str | None = None, kommune: str | None = None) -> dict[str, Any]:
    """Readiness against Bilag 1 before go-live; the participation goes live on the date."""
    run = prepare("go-live", round_ref, as_of, kommune)
    due = what_is_due("go-live", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)


@flow(name="status-meetings", flow_run_name=stage_run_name("status-meetings"), timeout_seconds=900)
def status_meetings(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Status-meeting invitations 10 working days ahead and reminders 2 working days ahead."""
    run = prepare("status-meetings", round_ref, as_of, kommune)
    due = what_is_due("status-meetings", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)


@flow(name="reminders", flow_run_name=stage_run_name("reminders"), timeout_seconds=900)
def reminders(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """The daily sweep: every deadline reminder due, to whom it concerns, once."""
    run = prepare("reminders", round_ref, as_of, kommune)
    due = what_is_due("reminders", run)
    summary = queue_due(run, due)
    mail = deliver_due(run, due, summary)
    publish_changes(run, due, summary, mail)
    return result_of(summary, mail)
