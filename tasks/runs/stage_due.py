"""What a stage run has to do at its instant (det som forfaller), read in one transaction.

A stage runs every day (the reminder sweep) or on a fixed schedule, and most runs find nothing
to do. So that such a run costs little more than its decision, the decision says at once which of
the later steps have work: letters to queue or facts to record (the agenda), mail waiting in the
outbox for a delivery at the instant, and staff tasks waited long enough to be escalated (design
decision D: each task is escalated once, under its own outbox key). A step without work is not
run; nothing it would have written is lost, because it would have written nothing.

A run whose decision leaves every later step without work is *idle* (`idle_outcome`): ``sio run``
then records it in Prefect as a finished run without starting Prefect's flow engine in its own
process, and the flow itself runs no step after the decision. Both read the same rule here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from sio_domain.agendas import Agenda
from sio_domain.round_definition import RoundDefinition
from sio_domain.staff_tasks import StaffTask
from sio_domain.trial_state import TrialState
from tasks.console.published_summaries import published_summary, summary_fingerprint
from tasks.console.staff_tasks import escalations_to_queue, tasks_in
from tasks.mail.outbox import pending
from tasks.runs.stage_run import NO_MAIL, StageRun, StageSummary, stage_result
from tasks.runs.stages import decide, summarise
from tasks.storage.unit_of_work import AppliedAgenda, unit_of_work


@dataclass(frozen=True)
class StageDue:
    """The round as it stood at the run's instant and what each later step of the run has to do."""

    state: TrialState
    agenda: Agenda
    mail_waiting: int
    """Outbox messages of the round a delivery at the instant would take."""
    escalations: tuple[str, ...]
    """Outbox keys of staff-task escalations due and not yet queued."""
    published: str | None = None
    """The fingerprint of the stage's summary last published for this scope (none yet: None)."""

    @property
    def to_apply(self) -> bool:
        """True when the agenda has letters to queue or facts to record."""
        return bool(self.agenda.letters or self.agenda.facts)


def stage_due(stage: str, run: StageRun) -> StageDue:
    """Load the state as of ``run.as_of``, decide the stage's agenda and look at the outbox."""
    with unit_of_work(run.database_url) as uow:
        state = uow.state(run.round_def, run.as_of)
        agenda = decide(stage, state, run.kommune)
        waiting = len(pending(uow.session, now=run.as_of, round_id=run.round_def.id))
        escalations = unescalated(
            uow.session, run.round_def, tasks_in(uow.session, state), today=state.today
        )
        published = published_summary(uow.session, run.round_def.id, stage, run.kommune)
    return StageDue(state, agenda, waiting, escalations, published)


def unescalated(
    session: Session, round_def: RoundDefinition, tasks: list[StaffTask], *, today: date
) -> tuple[str, ...]:
    """The escalation keys that ``tasks.console.staff_tasks.escalate`` would queue ``today``."""
    return tuple(key for _task, key in escalations_to_queue(session, round_def, tasks, today=today))


def worth_publishing(due: StageDue, summary: StageSummary, mail: dict[str, int]) -> bool:
    """True when the run's summary and the round's console are worth publishing again: the run
    changed or sent anything, a staff task is due to be escalated (the publish step escalates
    it), or its rows and notes for staff differ from the summary last published (a status table
    that is the same as yesterday's is not news)."""
    if summary.changed_anything or any(mail.values()) or due.escalations:
        return True
    if not (summary.rows or summary.notes):
        return False
    return summary_fingerprint(summary) != due.published


def idle_outcome(run: StageRun, due: StageDue) -> dict[str, Any] | None:
    """The run's return value when nothing after the decision has work, else None.

    Nothing to queue or record, no mail waiting for a delivery at the instant, and nothing to
    publish: the flow would skip its queue, delivery and publish steps, so the decision's summary
    is the run's whole outcome.
    """
    if due.to_apply or due.mail_waiting:
        return None
    summary = summarise(run, due.agenda, AppliedAgenda())
    if worth_publishing(due, summary, NO_MAIL):
        return None
    return stage_result(summary, dict(NO_MAIL))


def idle_message(stage: str, run: StageRun) -> str:
    """What an idle run found, for staff (bokmål): the stage, round, municipality and instant."""
    scope = f"{run.round_def.id}, kommune {run.kommune}" if run.kommune else run.round_def.id
    instant = run.as_of.strftime("%d.%m.%Y %H:%M")
    return (
        f"Ingenting forfaller i {stage} for {scope} per {instant}: "
        "ingen brev å sende, ingen post venter i utboksen, ingen oppgave å eskalere."
    )
