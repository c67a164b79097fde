"""The quarterly payout run (utbetaling): exact to the øre, approved by two people, paid once.

Held on the 5th working day of each quarter at 06:00 Europe/Oslo (design decision (D)). The run
computes the quarter's advance and the activity-based settlement for the quarter just ended,
publishes that proposal, and waits — suspended, with a form — until a disponent and an attestant
(two different people) approved it; only then does it write the ledger and send the statements.
The ledger's unique line keys make a re-run, a retry or a crash-and-rerun add nothing twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import Field

from deployments.settings import load_settings
from sio_domain.hold_reasons import staff_wordings
from sio_domain.instants import parse_as_of
from sio_domain.norwegian_calendar import nth_working_day_of_month, quarter_label, quarter_of
from sio_domain.payout_approval import ApprovalRefused
from tasks.console.domain_events import emit_all, payout_events
from tasks.documents.statements import statement_table_rows
from tasks.intake.round_files import load_round
from tasks.mail.mail_delivery import deliver_pending
from tasks.payouts.payout_engine import PayoutResult, approve_payout, check_run_label, run_payout


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


class ApprovalInput(RunInput):
    """One approval of the run's proposal: budsjettdisponering or attestasjon (økonomiregelverket
    2.5.2 and 3.7.3). Two different people must approve, one in each role."""

    role: Literal["disponent", "attestant"] = Field(
        description="disponent (budsjettdisponering) or attestant (attestasjon)"
    )
    name: str = Field(min_length=1, description="your full name, as it goes in the audit log")
    fingerprint: str = Field(
        description="the proposal you approve (leave as shown: a changed proposal is refused)"
    )


def validated_parameters(
    round_ref: str, run: str | None, as_of: str | None, fallback: datetime
) -> tuple[str | None, datetime]:
    """The quarter and the instant, or one ``ValueError`` line naming the parameter."""
    load_round(round_ref)
    label = None if run is None else check_run_label(round_ref, run).label
    try:
        instant = parse_as_of(as_of, now=fallback)
    except ValueError as error:
        raise ValueError(f"as_of: {error}") from None
    return label, instant


@task(
    name="payout-proposal",
    cache_policy=NO_CACHE,
    task_run_name="payout-proposal · {round_ref} · {label}",
)
def pay(round_ref: str, label: str, as_of: datetime, dry_run: bool, progress_id: Any) -> Any:
    """Compute the run's proposal; write it to the ledger only if it is approved already."""
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


@task(name="payout-approval", cache_policy=NO_CACHE, task_run_name="payout-approval · {label}")
def approve(round_ref: str, label: str, answer: ApprovalInput) -> Any:
    """Record one approval from the form; the second approval pays the run."""
    settings = load_settings()
    return approve_payout(
        round_ref,
        label,
        role=answer.role,
        name=answer.name,
        fingerprint=answer.fingerprint.strip().lower(),
        database_url=settings.resolved_database_url,
        now=datetime.now(UTC),
        via="prefect-ui",
        exports_dir=settings.exports_dir / "payouts",
        actor=f"flow-run:{flow_run.id}",
    )


@task(name="send-statements", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def send_statements(round_ref: str, as_of: datetime) -> int:
    """Deliver the statements the run queued for each municipality's finance officer."""
    settings = load_settings()
    report = deliver_pending(
        settings.resolved_database_url, settings, now=as_of, round_id=load_round(round_ref).id
    )
    return len(report.sent)


def publish_proposal(round_ref: str, result: PayoutResult) -> None:
    """The proposal (or the paid run) as a keyed table: municipality × component, held rows."""
    rows = statement_table_rows(result)
    for row in rows:
        if row["status"] == "paid":
            row["status"] = "proposed" if result.status == "awaiting_approval" else result.status
    if not rows:
        return
    waiting = f", awaiting {' and '.join(result.awaiting)}" if result.awaiting else ""
    create_table_artifact(
        key=f"payout-{round_ref}-{result.run}".lower(),
        table=rows,
        description=f"payout run {result.run} for {round_ref} ({result.status}{waiting}): "
        f"{result.total:.2f} NOK, municipality × component; proposal {result.fingerprint}",
    )


def _form(result: PayoutResult) -> Any:
    held = "".join(
        f"\n- holdt tilbake {h.kommunenummer} {h.municipality}: "
        + "; ".join(staff_wordings(h.reasons))
        for h in result.held
    )
    done = "".join(
        f"\n- {a.role}: {a.name} ({a.approved_at:%Y-%m-%d %H:%M})" for a in result.approvals
    )
    return ApprovalInput.with_initial_data(
        description=(
            f"## Godkjenning av utbetaling {result.run} – {result.round_id}\n\n"
            f"{len(result.lines)} linjer, **{result.total:.2f} NOK** (see the table artifact"
            f" `payout-{result.round_id}-{result.run}`). Proposal `{result.fingerprint}`."
            f"{held}\n\nApproved so far:{done or ' none'}\n\n"
            f"Awaiting: {', '.join(result.awaiting)}. Budsjettdisponering and attestasjon must be"
            " done by two different people (økonomiregelverket 2.5.2, 3.7.3). Nothing is paid"
            " until both approved this proposal."
        ),
        role=result.awaiting[0],
        name="",
        fingerprint=result.fingerprint,
    )


@flow(name="payout", flow_run_name=_run_name, timeout_seconds=1800, persist_result=True)
def payout(
    round_ref: str, run: str | None = None, as_of: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Propose the quarter's payout, wait for its two approvals, then pay and send statements.

    Pays the advances, the ABF settlement, late corrections and staff adjustments. The run
    suspends while it waits (approvals can take days) and starts again from the top when a
    form is submitted: every step before the wait is idempotent, and the instant is the run's
    scheduled time, the same on every start.
    """
    label, instant = validated_parameters(
        round_ref, run, as_of, flow_run.scheduled_start_time or datetime.now().astimezone()
    )
    if label is None:
        label = quarter_label(*quarter_of(instant.date()))
        if instant.date() != run_day(round_ref, label):
            get_run_logger().info("%s is not the payout day of %s", instant.date(), label)
            return {"round": round_ref, "run": label, "skipped": "not the payout day"}
    progress = create_progress_artifact(
        0.0,
        key=f"payout-progress-{round_ref}-{label}".lower(),
        description=f"payout {round_ref} {label}",
    )
    result: PayoutResult = pay(round_ref, label, instant, dry_run, progress)
    publish_proposal(round_ref, result)
    attempt = 0
    while result.status == "awaiting_approval":
        if deployment.id is None:
            summary = result.as_json()
            summary["note"] = (
                f"awaiting approval by {' and '.join(result.awaiting)}: approve in the Prefect UI"
                f" (sio up) or with `sio payout approve {result.round_id} --run {label}"
                " --as disponent|attestant --name NAME`"
            )
            return summary
        answer = suspend_flow_run(
            wait_for_input=_form(result),
            timeout=None,
            key=f"approval-{label}-{result.fingerprint[:16]}-{'-'.join(result.awaiting)}-{attempt}",
        )
        try:
            result = approve(round_ref, label, answer)
        except ApprovalRefused as refusal:
            get_run_logger().warning("approval refused: %s", refusal)
            attempt += 1
            result = pay(round_ref, label, instant, dry_run, progress)
        publish_proposal(round_ref, result)
    sent = send_statements(round_ref, result.as_of) if result.status == "paid" else 0
    emit_all(payout_events(result, result.as_of))  # paid and held, per municipality: the Event Feed
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
