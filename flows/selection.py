"""Selection: the staff decide in the Prefect UI, then every applicant gets its decision letter.

Municipalities cannot choose their model (seed 004); who decides differs by round — the ministry
(2016), the directorate after clarifying with the ministry (2019), parliament in the budget (2021).
The decision is typed input on a suspended flow run: the run ends its process while it waits (a
selection can take weeks) and starts again from the top when the staff submit the form, so every
step before the suspension is idempotent.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import BaseModel, Field

from flows.stage_setup import deliver_mail, prepare, publish, result_of, stage_run_name
from sio_domain.selection import DecisionEntry
from tasks.application_window import window_closes_at
from tasks.selection_decisions import record_decisions
from tasks.selection_letters import awaiting_decision, load_view, send_decision_letters
from tasks.stage_run import StageRun, StageSummary, queue_letter


class ApplicantDecision(BaseModel):
    """One applicant's outcome, as the staff set it in the form."""

    kommunenummer: str = Field(description="kommunenummer of the applicant")
    municipality: str = Field(description="name, for reading only")
    decision: Literal["undecided", "selected", "rejected"] = Field(
        default="undecided", description="selected or rejected; undecided leaves it for later"
    )
    model: Literal["A", "B"] | None = Field(
        default=None,
        description="the model for a selected municipality (A or B); empty if rejected",
    )


class SelectionInput(RunInput):
    """The staff's selection decision for a round (utvelgelse)."""

    decided_by: Literal["ministry", "directorate", "parliament"] = Field(
        description="who made the decision"
    )
    decided_on: date = Field(description="the date of the decision")
    decisions: list[ApplicantDecision] = Field(description="one entry per applicant")


@task(name="notify-staff", cache_policy=NO_CACHE, task_run_name="notify-staff · {run.round_def.id}")
def notify_staff(run: StageRun, waiting: list[str], url: str | None) -> None:
    """Tell staff by e-mail that a selection awaits their input, with a link to the form."""
    from tasks.database import session_for
    from tasks.municipality_lookup import registry
    from tasks.trial_state import load_round_view

    selection_day = run.round_def.milestones.selection_deadline
    with session_for(run.database_url) as session:
        view = load_round_view(session, run.round_def, registry(run.database_url), run.as_of)
        queue_letter(
            session,
            run,
            view,
            key=f"selection-awaiting:{run.round_def.id}:{flow_run.id}",
            kind="selection_awaiting",
            kommunenummer=None,
            recipients=[run.settings.staff_address],
            due_at=run.as_of,
            standard="bokmål",
            context={
                "round_title": run.round_def.title,
                "round_id": run.round_def.id,
                "applicants": [f"{k} {view.name(k)}" for k in waiting],
                "run_url": url,
                "deadline": selection_day.date if selection_day else None,
            },
        )
        session.commit()
    deliver_mail(run)


def _form(run: StageRun, waiting: list[str], names: dict[str, str]) -> Any:
    round_def = run.round_def
    models = " or ".join(sorted(round_def.models))
    return SelectionInput.with_initial_data(
        description=(
            f"## Utvelgelse – {round_def.title}\n\n"
            f"{len(waiting)} søkere venter på vedtak. For each applicant choose *selected* "
            f"(with model {models}) or *rejected*; leave *undecided* to decide later. "
            "Municipalities cannot choose their model (seed 004). Decision letters go out "
            "when you submit."
        ),
        decided_by=round_def.selection_decided_by,
        decided_on=run.as_of.date(),
        decisions=[
            ApplicantDecision(kommunenummer=k, municipality=names.get(k, k)) for k in waiting
        ],
    )


@flow(
    name="selection",
    flow_run_name=stage_run_name("selection"),
    timeout_seconds=900,
    persist_result=True,
)
def selection(
    round_ref: str, as_of: str | None = None, kommune: str | None = None
) -> dict[str, Any]:
    """Wait for the staff's decision (a form in the Prefect UI), then send the decision letters."""
    run = prepare("selection", round_ref, as_of, kommune)
    view = load_view(run)
    waiting = awaiting_decision(view)
    closes = window_closes_at(run)
    window_open = closes is not None and run.as_of < closes
    note = None
    if waiting and window_open:
        note = f"application window open until {closes}: selection after the deadline"
    elif waiting and deployment.id is None:
        note = (
            f"{len(waiting)} applicants await a decision: give it in the Prefect UI "
            f"(sio up) or with `sio decide selection {run.round_def.id} --file FILE`"
        )
    elif waiting:
        notify_staff(run, waiting, flow_run.ui_url)
        answer = suspend_flow_run(
            wait_for_input=_form(run, waiting, {k: view.name(k) for k in waiting}),
            timeout=None,
            key=f"selection-{run.round_def.id}-{'-'.join(waiting)}",
        )
        record_decisions(
            run,
            [
                DecisionEntry(
                    kommunenummer=d.kommunenummer,
                    decision=d.decision,
                    model=d.model or "",
                    decided_by=answer.decided_by,
                    decided_on=answer.decided_on.isoformat(),
                )
                for d in answer.decisions
                if d.decision != "undecided"
            ],
            recorded_via="prefect-ui",
        )
    summary: StageSummary = task(
        send_decision_letters, name="decision-letters", cache_policy=NO_CACHE
    )(run)
    if note:
        summary.note(note)
        summary.waiting_for_input = True
    mail = deliver_mail(run)
    publish(run, summary)
    return result_of(summary, mail)
