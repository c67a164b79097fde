"""What every stage run carries: the round, the instant it acts at, who acts, and where state is.

Why a value and not globals: a Prefect flow, ``sio run`` and the tests run the same stage code; the
instant ``as_of`` is always passed in (the trial lasts years, a run does what is due at its
instant and stops), and the database and mail settings come from the one wiring point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from deployments.settings import Settings
from sio_domain.round_definition import RoundDefinition
from tasks.trial_state import RoundView


@dataclass(frozen=True)
class StageRun:
    """One run of one stage for one round at one instant."""

    round_def: RoundDefinition
    as_of: datetime
    settings: Settings
    actor: str
    kommune: str | None = None

    @property
    def database_url(self) -> str:
        return self.settings.resolved_database_url

    def concerns(self, view: RoundView, kommunenummer: str) -> bool:
        """False when the run is limited to one municipality (``--kommune``) and this is another."""
        return self.kommune is None or view.canonical(self.kommune) == kommunenummer


@dataclass
class StageSummary:
    """What a stage run did, for its return value, log and artifact."""

    stage: str
    round_id: str
    as_of: str
    queued_mail: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    waiting_for_input: bool = False

    def note(self, text: str) -> None:
        self.notes.append(text)


def queue_letter(
    session: Session,
    run: StageRun,
    view: RoundView,
    *,
    key: str,
    kind: str,
    kommunenummer: str | None,
    recipients: Sequence[str],
    due_at: datetime,
    context: dict[str, Any],
    obligation: str | None = None,
    attachments: Sequence[Any] = (),
    standard: str | None = None,
) -> bool:
    """Render a letter in the municipality's written standard and put it in the outbox once."""
    from tasks.mail_templates import render_mail
    from tasks.outbox import enqueue_mail

    if not recipients:
        return False
    chosen = standard or (view.written_standard(kommunenummer) if kommunenummer else "bokmål")
    rendered = render_mail(kind, chosen, **context)  # type: ignore[arg-type]
    return enqueue_mail(
        session,
        key=key,
        round_id=run.round_def.id,
        kommunenummer=kommunenummer,
        kind=kind,
        recipients=list(recipients),
        subject=rendered.subject,
        body=rendered.body,
        due_at=due_at,
        now=run.as_of,
        obligation=obligation,
        attachments=list(attachments),
    )
