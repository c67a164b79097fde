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


NO_MAIL: dict[str, int] = {"sent": 0, "skipped": 0}
"""A delivery that found nothing to send."""


def stage_run_title(stage: str, parameters: dict[str, Any]) -> str:
    """A stage run's name in the Prefect UI: ``reminders · sio-2016 · 1714 · 2016-01-12T09:00``.

    The stage, the round, the municipality when the run is for one, and the instant as given
    (``now`` when none was): the same for a run of the flow and for a run recorded without it.
    """
    parts = [stage, str(parameters.get("round_ref", "?"))]
    if parameters.get("kommune"):
        parts.append(str(parameters["kommune"]))
    parts.append(str(parameters.get("as_of") or "now"))
    return " · ".join(parts)


def stage_result(summary: StageSummary, mail: dict[str, int] | None = None) -> dict[str, Any]:
    """A stage run's return value: JSON-friendly, shown by ``sio run``."""
    return {
        "stage": summary.stage,
        "round": summary.round_id,
        "as_of": summary.as_of,
        "queued_mail": summary.queued_mail,
        "mail": mail or {},
        "waiting_for_input": summary.waiting_for_input,
        "notes": summary.notes,
        "rows": summary.rows,
    }
