"""What every stage run carries: the round, the instant it acts at, who acts, and where state is.

A Prefect flow, ``sio run``, a simulation and the tests run the same stage code; the instant
``as_of`` is always passed in (the trial lasts years, a run does what is due at its instant and
stops), and the database and mail settings come from the one wiring point (``deployments``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deployments.settings import Settings
from sio_domain.round_definition import RoundDefinition


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
    queued_keys: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    """The facts this run recorded (a fact recorded before is not recorded again)."""

    @property
    def changed_anything(self) -> bool:
        """True when the run queued a letter or recorded a fact."""
        return bool(self.queued_mail or self.recorded)

    def note(self, text: str) -> None:
        self.notes.append(text)
