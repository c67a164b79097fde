"""The trial's stages as load → decide → apply, through one unit of work.

``decide`` maps a stage name to its pure agenda function (``sio_domain.agendas``); ``run_stage``
does the whole step in one transaction, as ``sio run``, the tests and simulations use it. The
Prefect flows call the same three steps as separate task runs.
"""

from __future__ import annotations

from collections.abc import Callable

from sio_domain.agendas import Agenda, only_for
from sio_domain.agendas.application_window import application_window_agenda
from sio_domain.agendas.decision_letters import decision_letters_agenda
from sio_domain.agendas.go_live import go_live_agenda
from sio_domain.agendas.invitations import gatherings_agenda, status_meetings_agenda
from sio_domain.agendas.reminders import reminders_agenda
from sio_domain.agendas.signing import signing_agenda
from sio_domain.trial_state import TrialState
from tasks.runs.stage_run import StageRun, StageSummary
from tasks.storage.unit_of_work import AppliedAgenda, unit_of_work

AGENDAS: dict[str, Callable[[TrialState], Agenda]] = {
    "application-deadline": application_window_agenda,
    "selection": decision_letters_agenda,
    "signing": signing_agenda,
    "gatherings": gatherings_agenda,
    "go-live": go_live_agenda,
    "status-meetings": status_meetings_agenda,
    "reminders": reminders_agenda,
}
"""Stage name → what is due in it."""


def decide(stage: str, state: TrialState, kommune: str | None = None) -> Agenda:
    """What ``stage`` has to do at the state's instant, for one municipality or all."""
    try:
        agenda_of = AGENDAS[stage]
    except KeyError:
        raise ValueError(f"FLOW: {stage!r} has no agenda ({', '.join(AGENDAS)})") from None
    agenda = agenda_of(state)
    return only_for(agenda, state.canonical(kommune) if kommune else None)


def summarise(
    run: StageRun, agenda: Agenda, applied: AppliedAgenda, summary: StageSummary | None = None
) -> StageSummary:
    """The run's summary: the agenda's rows and notes, what was queued, who had no recipient."""
    summary = summary or StageSummary(agenda.stage, run.round_def.id, run.as_of.isoformat())
    summary.rows += [dict(row) for row in agenda.rows]
    summary.notes += list(agenda.notes)
    summary.queued_mail += len(applied.queued)
    summary.queued_keys += applied.queued
    summary.recorded += applied.recorded
    for letter in applied.unaddressed:
        roles = "/".join(letter.roles) or "staff"
        summary.note(
            f"{letter.kommunenummer}: ingen mottaker ({roles}) for {letter.kind};"
            " brevet er ikke sendt"
        )
    return summary


def run_stage(stage: str, run: StageRun) -> StageSummary:
    """Load the state as of ``run.as_of``, decide what is due, apply it and commit."""
    with unit_of_work(run.database_url) as uow:
        state = uow.state(run.round_def, run.as_of)
        agenda = decide(stage, state, run.kommune)
        applied = uow.apply(
            agenda,
            state,
            actor=run.actor,
            mail_from=run.settings.mail_from,
            staff_address=run.settings.staff_address,
        )
        uow.commit()
    return summarise(run, agenda, applied)
