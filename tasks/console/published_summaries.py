"""Which stage summary the Prefect UI shows already (sammendraget som er publisert).

Some stages report a status table every run, whether or not anything happened: the application
window lists every application and says whether it is open, the signing stage every selected
municipality's signing status, go-live every participation's readiness. Publishing the same table
again every working day changes nothing for staff, and it kept those stages from ever being idle.
So the publish step keeps a fingerprint of the summary it published (its rows and notes) in a
stage mark (``console`` / ``summary-published:<stage>:<scope>``), and a run whose summary has
the same fingerprint has nothing to publish. A status that changed outside the flows — a
signature recorded, a readiness activity done — changes the rows, and the next run publishes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlmodel import Session, select

from tasks.runs.stage_run import StageSummary
from tasks.storage.tables import StageMark

MARK_STAGE = "console"


def summary_mark(stage: str, kommune: str | None) -> str:
    """The stage mark naming a stage's published summary, for the round or one municipality."""
    return f"summary-published:{stage}:{kommune or 'alle'}"


def summary_fingerprint(summary: StageSummary) -> str:
    """The fingerprint of what the summary shows staff: its stage, rows and notes."""
    shown = {"stage": summary.stage, "rows": summary.rows, "notes": summary.notes}
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def published_summary(
    session: Session, round_id: str, stage: str, kommune: str | None
) -> str | None:
    """The fingerprint of the summary last published for the stage and scope, if any."""
    mark = _mark(session, round_id, stage, kommune)
    return mark.detail if mark is not None else None


def remember_summary(
    session: Session, round_id: str, summary: StageSummary, kommune: str | None, at: datetime
) -> None:
    """Keep the fingerprint of the summary just published; never commits."""
    mark = _mark(session, round_id, summary.stage, kommune)
    if mark is None:
        mark = StageMark(
            round_id=round_id,
            stage=MARK_STAGE,
            mark=summary_mark(summary.stage, kommune),
            done_at=at,
            detail="",
        )
    mark.detail, mark.done_at = summary_fingerprint(summary), at
    session.add(mark)
    session.flush()


def _mark(session: Session, round_id: str, stage: str, kommune: str | None) -> StageMark | None:
    found: StageMark | None = session.exec(
        select(StageMark).where(
            StageMark.round_id == round_id,
            StageMark.stage == MARK_STAGE,
            StageMark.mark == summary_mark(stage, kommune),
        )
    ).first()
    return found
