"""One way through the database: load the trial's state as of an instant, apply an agenda, commit.

Every stage — from a Prefect flow, ``sio run``, the CLI's recording commands or a simulation —
goes through :class:`UnitOfWork`: the state is loaded in the same transaction the agenda is applied
in, each letter is queued under its unique outbox key (a second run adds nothing), each fact is
recorded under its natural key with an audit entry, and everything commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlmodel import Session, select

from sio_domain.agendas import Agenda, ApplicationWindowClosed, Letter, ParticipationWentLive
from sio_domain.agendas.application_window import WINDOW_CLOSED
from sio_domain.agendas.invitations import event_instants
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import TrialState
from tasks.mail.outbox import enqueue_mail
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for
from tasks.storage.tables import AnnouncementRecord, ParticipationRecord, StageMark
from tasks.storage.trial_state import load_trial_state


@dataclass
class AppliedAgenda:
    """What applying an agenda changed: letters queued, letters without recipient, facts."""

    queued: list[str] = field(default_factory=list)
    unaddressed: list[Letter] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)


@dataclass
class UnitOfWork:
    """A session on the application database, with the registry the run uses."""

    session: Session
    registry: MunicipalityRegistry

    def state(self, round_def: RoundDefinition, as_of: datetime) -> TrialState:
        """The round as it stood at ``as_of``, read in this transaction."""
        return load_trial_state(self.session, round_def, self.registry, as_of)

    def apply(
        self,
        agenda: Agenda,
        state: TrialState,
        *,
        actor: str,
        mail_from: str,
        staff_address: str,
    ) -> AppliedAgenda:
        """Queue the agenda's letters and record its facts, idempotently; never commits."""
        applied = AppliedAgenda()
        for letter in agenda.letters:
            self._queue(letter, state, applied, actor, mail_from, staff_address)
        for fact in agenda.facts:
            self._record(fact, state, applied, actor)
        return applied

    def commit(self) -> None:
        self.session.commit()

    def _queue(
        self,
        letter: Letter,
        state: TrialState,
        applied: AppliedAgenda,
        actor: str,
        mail_from: str,
        staff_address: str,
    ) -> None:
        from tasks.mail.letters import compose_letter, letter_recipients  # templates: only to queue

        round_id = state.round_def.id
        recipients = letter_recipients(letter, state, staff_address=staff_address)
        if not recipients:
            applied.unaddressed.append(letter)
            mark = f"unaddressed:{letter.key}"
            if not self._marked(round_id, mark):
                self._mark(round_id, "letters", mark, state.as_of, letter.kind)
                record_audit(
                    self.session,
                    at=state.as_of,
                    actor=actor,
                    round_id=round_id,
                    kommunenummer=letter.kommunenummer,
                    what="letter_without_recipient",
                    detail={"key": letter.key, "kind": letter.kind, "roles": letter.roles},
                )
            return
        composed = compose_letter(letter, state, recipients, mail_from=mail_from)
        queued = enqueue_mail(
            self.session,
            key=letter.key,
            round_id=round_id,
            kommunenummer=letter.kommunenummer,
            kind=letter.kind,
            recipients=[r.email for r in recipients],
            subject=composed.subject,
            body=composed.body,
            due_at=letter.due_at,
            now=state.as_of,
            obligation=letter.obligation,
            attachments=list(composed.attachments),
            language=composed.standard,
        )
        if not queued:
            return
        applied.queued.append(letter.key)
        if letter.calendar is not None and letter.calendar.announces and letter.kommunenummer:
            start, end = event_instants(letter.calendar.event)
            self.session.add(
                AnnouncementRecord(
                    round_id=round_id,
                    kommunenummer=letter.kommunenummer,
                    event_key=letter.calendar.event.key,
                    sequence=letter.calendar.sequence,
                    start=start,
                    end=end,
                    method=letter.calendar.method,
                    mail_key=letter.key,
                    announced_at=state.as_of,
                )
            )
        record_audit(
            self.session,
            at=state.as_of,
            actor=actor,
            round_id=round_id,
            kommunenummer=letter.kommunenummer,
            what="letter_queued",
            detail={
                "key": letter.key,
                "kind": letter.kind,
                "standard": composed.standard,
                "recipients": [r.kommunenummer for r in recipients],
            },
        )

    def _record(
        self,
        fact: ApplicationWindowClosed | ParticipationWentLive,
        state: TrialState,
        applied: AppliedAgenda,
        actor: str,
    ) -> None:
        round_id = state.round_def.id
        if isinstance(fact, ApplicationWindowClosed):
            if self._marked(round_id, WINDOW_CLOSED):
                return
            self._mark(
                round_id,
                "application-deadline",
                WINDOW_CLOSED,
                state.as_of,
                f"{fact.applications} applications",
            )
            record_audit(
                self.session,
                at=state.as_of,
                actor=actor,
                round_id=round_id,
                what="application window closed",
                detail={
                    "closed_at": fact.at,
                    "applications": fact.applications,
                    "late": fact.late,
                    "not_applied": list(fact.not_applied),
                },
            )
            applied.recorded.append("ApplicationWindowClosed")
            return
        row = self.session.exec(
            select(ParticipationRecord).where(
                ParticipationRecord.round_id == round_id,
                ParticipationRecord.kommunenummer.in_(  # type: ignore[attr-defined]
                    state.registry.lineage(fact.kommunenummer)
                    if fact.kommunenummer in state.registry
                    else [fact.kommunenummer]
                ),
            )
        ).first()
        if row is None or row.live_since is not None:
            return
        row.live_since = min(datetime.combine(fact.on, time(0), tzinfo=OSLO), state.as_of)
        self.session.add(row)
        record_audit(
            self.session,
            at=state.as_of,
            actor=actor,
            round_id=round_id,
            kommunenummer=fact.kommunenummer,
            what="participation live",
            detail={"go_live": fact.on, "not_done": list(fact.not_done)},
        )
        applied.recorded.append(f"ParticipationWentLive:{fact.kommunenummer}")

    def _marked(self, round_id: str, mark: str) -> bool:
        return (
            self.session.exec(
                select(StageMark.id).where(StageMark.round_id == round_id, StageMark.mark == mark)
            ).first()
            is not None
        )

    def _mark(self, round_id: str, stage: str, mark: str, at: datetime, detail: str) -> None:
        self.session.add(
            StageMark(round_id=round_id, stage=stage, mark=mark, done_at=at, detail=detail)
        )
        self.session.flush()


@contextmanager
def unit_of_work(
    database_url: str, registry: MunicipalityRegistry | None = None
) -> Iterator[UnitOfWork]:
    """A unit of work on ``database_url``; rolled back unless ``commit`` is called."""
    if registry is None:
        from tasks.records.municipality_lookup import registry as load_registry

        registry = load_registry(database_url)
    with session_for(database_url) as session:
        yield UnitOfWork(session, registry)


__all__ = ["AppliedAgenda", "UnitOfWork", "unit_of_work"]
