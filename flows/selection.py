"""Selection: the staff decide in the Prefect UI, then every applicant gets its decision letter.

Municipalities cannot choose their model (seed 004); who decides differs by round — the ministry
(2016), the directorate after clarifying with the ministry (2019), parliament in the budget (2021).
The decision is typed input on a suspended flow run: the run ends its process while it waits (a
selection can take weeks) and starts again from the top when the staff submit the form, so every
step before the suspension is idempotent. A submitted form that breaks a rule (a selected
municipality without a model) is not a failed run: the run asks again, with the reason at the top
of the form and the staff's entries kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import BaseModel, Field, ValidationError, create_model

from flows.stage_setup import deliver_mail, prepare, publish, result_of, stage_run_name, stage_steps
from sio_domain.agendas import Agenda, Letter
from sio_domain.agendas.decision_letters import awaiting_decision
from sio_domain.application_criteria import application_window_closes_at
from sio_domain.round_definition import RoundDefinition
from sio_domain.selection import DecisionEntry, DecisionRefused
from sio_domain.trial_state import TrialState
from tasks.records.selection_decisions import record_decisions
from tasks.runs.stage_run import StageRun
from tasks.storage.unit_of_work import unit_of_work

MAX_FORM_ATTEMPTS = 20
"""How many refused forms in a row a run asks again before it stops (and says why)."""


def selection_form(round_def: RoundDefinition) -> type[RunInput]:
    """The form's type for this round: the model is a choice of the round's own models."""
    models = tuple(sorted(round_def.models))
    model_type: Any = Literal[models] | None  # type: ignore[valid-type]
    applicant = create_model(
        "ApplicantDecision",
        __base__=BaseModel,
        kommunenummer=(str, Field(title="Kommunenummer", description="søkerens kommunenummer")),
        municipality=(str, Field(title="Kommune", description="kommunens navn (bare til lesing)")),
        decision=(
            Literal["undecided", "selected", "rejected"],
            Field(
                default="undecided",
                title="Vedtak",
                description="selected = valgt ut, rejected = avslått, undecided = venter",
            ),
        ),
        model=(
            model_type,
            Field(
                default=None,
                title="Modell",
                description=f"modell for en kommune som velges ut ({', '.join(models)})",
            ),
        ),
        reason=(
            str,
            Field(
                default="",
                title="Begrunnelse for avslag",
                description="valgfri; uten begrunnelse brukes standardteksten",
            ),
        ),
    )
    form: type[RunInput] = create_model(
        "SelectionInput",
        __base__=RunInput,
        decided_by=(
            Literal["ministry", "directorate", "parliament"],
            Field(title="Vedtatt av", description="hvem som fattet vedtaket"),
        ),
        decided_on=(date, Field(title="Vedtaksdato", description="datoen for vedtaket")),
        decisions=(  # type: ignore[valid-type]
            list[applicant],
            Field(title="Søkere", description="én linje per søker"),
        ),
    )
    return form


def _form(
    run: StageRun, state: TrialState, waiting: list[str], problem: str | None, earlier: Any
) -> type[RunInput]:
    round_def = run.round_def
    models = " eller ".join(sorted(round_def.models))
    text = (
        f"## Utvelgelse – {round_def.title}\n\n"
        f"{len(waiting)} søkere venter på vedtak. Velg *selected* (med modell {models}) eller "
        "*rejected* for hver søker; *undecided* lar saken vente. Kommunene kan ikke velge modell "
        "selv (seed 004). Vedtaksbrevene sendes når skjemaet er sendt inn."
    )
    if problem:
        text = f"### Skjemaet ble ikke godtatt: {problem}\n\nRett opp og send inn igjen.\n\n" + text
    entries = [
        {"kommunenummer": k, "municipality": state.name(k), "decision": "undecided"}
        for k in waiting
    ]
    if earlier is not None:
        entries = [dict(item) for item in earlier.get("decisions", entries)]
    form = selection_form(round_def)
    return form.with_initial_data(  # type: ignore[no-any-return]
        description=text,
        decided_by=(earlier or {}).get("decided_by", round_def.selection_decided_by),
        decided_on=(earlier or {}).get("decided_on", run.as_of.date()),
        decisions=entries,
    )


@task(name="notify-staff", cache_policy=NO_CACHE)
def notify_staff(run: StageRun, state: TrialState, waiting: list[str], url: str | None) -> None:
    """Tell staff by e-mail that a selection awaits their input, with a link to the form."""
    selection_day = run.round_def.milestones.selection_deadline
    letter = Letter(
        key=f"selection-awaiting:{run.round_def.id}:{flow_run.id}",
        kind="selection_awaiting",
        kommunenummer=None,
        roles=(),
        to_staff=True,
        due_at=run.as_of,
        context={
            "round_title": run.round_def.title,
            "round_id": run.round_def.id,
            "applicants": [f"{k} {state.name(k)}" for k in waiting],
            "run_url": url,
            "deadline": selection_day.date if selection_day else None,
        },
    )
    with unit_of_work(run.database_url) as uow:
        uow.apply(
            Agenda("selection", letters=(letter,)),
            state,
            actor=run.actor,
            mail_from=run.settings.mail_from,
            staff_address=run.settings.staff_address,
        )
        uow.commit()
    deliver_mail(run)


def _entries(answer: Any) -> list[DecisionEntry]:
    return [
        DecisionEntry(
            kommunenummer=d.kommunenummer,
            decision=d.decision,
            model=d.model or "",
            decided_by=answer.decided_by,
            decided_on=answer.decided_on.isoformat(),
            reason=d.reason,
        )
        for d in answer.decisions
        if d.decision != "undecided"
    ]


def wait_for_decision(run: StageRun, state: TrialState, waiting: list[str]) -> None:
    """Suspend until the staff submit a valid selection; record it. Asks again when refused."""
    base = f"selection-{run.round_def.id}-{'-'.join(waiting)}"
    problem: str | None = None
    earlier: Any = None
    for attempt in range(MAX_FORM_ATTEMPTS):
        answer = suspend_flow_run(
            wait_for_input=_form(run, state, waiting, problem, earlier),
            timeout=None,
            key=f"{base}-{attempt}",
        )
        try:
            record_decisions(run, _entries(answer), recorded_via="prefect-ui")
            return
        except (DecisionRefused, ValidationError, ValueError) as error:
            problem = str(error)
            earlier = answer.model_dump(mode="json")
    raise ValueError(f"selection: {MAX_FORM_ATTEMPTS} forms in a row were refused; last: {problem}")


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
    with unit_of_work(run.database_url) as uow:
        state = uow.state(run.round_def, run.as_of)
    waiting = awaiting_decision(state)
    closes = application_window_closes_at(run.round_def)
    note = None
    if waiting and closes is not None and run.as_of < closes:
        note = f"søknadsvinduet er åpent til {closes}: utvelgelsen kommer etter fristen"
    elif waiting and deployment.id is None:
        note = (
            f"{len(waiting)} søkere venter på vedtak: gi det i Prefect-grensesnittet "
            f"(sio up) eller med `sio decide selection {run.round_def.id} --file FIL`"
        )
    elif waiting:
        notify_staff(run, state, waiting, flow_run.ui_url)
        wait_for_decision(run, state, waiting)
    summary = stage_steps("selection", run)
    if note:
        summary.note(note)
        summary.waiting_for_input = True
    mail = deliver_mail(run)
    publish(run, summary)
    return result_of(summary, mail)
