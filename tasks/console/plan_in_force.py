"""The round's plan in force as a calendar page in the Prefect UI (planen som gjelder).

``plan-<round>`` lists the round's milestones, deadlines, gatherings, status meetings and payout
runs by date, as the replanning decisions recorded so far have left them (seed 000 §1.3; design
decision D, "as-of truth": a decision counts from its decision date), with every decision listed
and every moved or cancelled event marked. Per-municipality agreed times are in the case files.

The page is rebuilt by the publish step of every run, but a new version is created only when the
text changed: its fingerprint is kept in a stage mark (``console`` / ``plan-published``), so an idle
run reads two small tables and makes no call to Prefect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, select

from sio_domain.plan import PlanEvent, build_plan
from sio_domain.replanning import ReplanDecision, event_moves, round_in_force
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import moved_event
from sio_domain.written_standard import format_period, short_date
from tasks.storage.tables import StageMark

MARK_STAGE, MARK = "console", "plan-published"
RESPONSIBLE = {"municipality": "kommunen", "directorate": "Hdir", "both": "begge"}
KINDS = {
    "move_milestone": "milepæl flyttet",
    "end": "avsluttet",
    "move_event": "møte flyttet",
    "cancel_event": "møte avlyst",
}


def plan_key(round_id: str) -> str:
    """The artifact key of the round's plan (lowercase letters, digits and dashes)."""
    return f"plan-{round_id}".lower()


def plan_markdown(
    round_def: RoundDefinition, decisions: Sequence[ReplanDecision], day: date
) -> str:
    """The plan in force on ``day`` as markdown: one table per year, decisions at the top.

    The text does not depend on ``day`` beyond the decisions known by then, so an unchanged plan
    gives the same text (and fingerprint) every day.
    """
    known = [d for d in decisions if d.known_on(day)]
    in_force = round_in_force(round_def, known, day)
    moves = event_moves(known, "", day)
    out = [f"# Plan: {round_def.title}", ""]
    if known:
        out += ["## Omplanlegging", "| vedtatt | av | hva | gjelder | ny dato | begrunnelse |"]
        out.append("|---|---|---|---|---|---|")
        for d in sorted(known, key=lambda item: item.decided_on):
            new = d.to_start.date() if d.to_start else d.to_date
            cells = [
                short_date(d.decided_on),
                d.decided_by,
                f"{KINDS.get(d.kind, d.kind)}" + (f": {d.target}" if d.target else ""),
                d.kommunenummer or "hele runden",
                short_date(new) if new else "–",
                d.reason,
            ]
            out.append(_row(cells))
        out.append("")
    else:
        out += ["Ingen omplanleggingsvedtak.", ""]
    year = None
    for event, note in _events(in_force, moves):
        if event.day.year != year:
            year = event.day.year
            out += ["", f"## {year}", "| dato | tid | hva | modell | ansvar | merknad |"]
            out.append("|---|---|---|---|---|---|")
        when, at = format_period(event.start, event.end, event.all_day)
        title = event.title if note != "avlyst" else f"~~{event.title}~~"
        cells = [
            when,
            at,
            title,
            event.model or "alle",
            RESPONSIBLE.get(event.responsible or "", ""),
            note,
        ]
        out.append(_row(cells))
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def _events(
    in_force: RoundDefinition, moves: dict[str, datetime | None]
) -> list[tuple[PlanEvent, str]]:
    """Every event of the round with its note: moved (from when), cancelled, or as planned."""
    result = []
    for event in build_plan(in_force):
        note = ""
        if event.key in moves:
            start = moves[event.key]
            if start is None:
                note = "avlyst"
            else:
                note = f"flyttet fra {short_date(event.day)}"
                event = moved_event(event, start)
        elif event.source.startswith("omplanlagt"):
            note = "omplanlagt"
        elif event.nominal is not None and event.nominal != event.start:
            note = f"står som {short_date(event.nominal)}"
        if not event.firm and not note:
            note = "avtales"
        result.append((event, note))
    return sorted(result, key=lambda item: (item[0].day, item[0].key))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "/").replace("\n", " ") for cell in cells) + " |"


def fingerprint(markdown: str) -> str:
    """What identifies a version of the plan page."""
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


def published_fingerprint(session: Session, round_id: str) -> str | None:
    """The fingerprint of the plan page last published for the round, if any."""
    mark = session.exec(
        select(StageMark).where(
            StageMark.round_id == round_id,
            StageMark.stage == MARK_STAGE,
            StageMark.mark == MARK,
        )
    ).first()
    return mark.detail if mark is not None else None


def remember_published(session: Session, round_id: str, digest: str, at: datetime) -> None:
    """Keep the fingerprint of the version just published; never commits."""
    mark = session.exec(
        select(StageMark).where(
            StageMark.round_id == round_id,
            StageMark.stage == MARK_STAGE,
            StageMark.mark == MARK,
        )
    ).first()
    if mark is None:
        mark = StageMark(round_id=round_id, stage=MARK_STAGE, mark=MARK, done_at=at, detail="")
    mark.detail, mark.done_at = digest, at
    session.add(mark)
    session.flush()
