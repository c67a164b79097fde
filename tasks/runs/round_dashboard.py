"""The round dashboard: per municipality, what needs attention, its stage and next deadline.

Published as a keyed, versioned table artifact after every stage run, so operations staff see the
round as a case list in the Prefect UI. Headers and values are in bokmål (text for staff); five
short columns fit a 1 280 px window, and each municipality's details are in its case file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sio_domain.obligations import obligations
from sio_domain.round_definition import RoundDefinition
from sio_domain.staff_tasks import StaffTask
from sio_domain.trial_state import TrialState
from tasks.storage.unit_of_work import unit_of_work

MAX_CELL = 38
"""Characters per cell: five short columns fit a 1 280 px window; the rest is in the case file."""


def dashboard_rows(
    database_url: str, round_def: RoundDefinition, as_of: datetime
) -> list[dict[str, str]]:
    """One row per municipality known to the round, as of ``as_of``."""
    from tasks.console.staff_tasks import tasks_in

    with unit_of_work(database_url) as uow:
        state = uow.state(round_def, as_of)
        waiting = tasks_in(uow.session, state)
    return rows_for(state, waiting)


def known_municipalities(state: TrialState) -> list[str]:
    """Every municipality the round knows of: invited, applied, decided."""
    return sorted(
        state.candidates() | set(state.applications) | set(state.selected) | state.rejected
    )


def rows_for(state: TrialState, waiting: Sequence[StaffTask] = ()) -> list[dict[str, str]]:
    """Dashboard rows: late first, then waiting for us, then the rest; open items of six weeks."""
    today = state.today
    items = obligations(state)
    window_closed = any(o.kind == "application" and today > o.deadline for o in items)
    ours: dict[str, list[StaffTask]] = {}
    for task in waiting:
        if task.kommunenummer:
            ours.setdefault(task.kommunenummer, []).append(task)
    rows = []
    for knr in known_municipalities(state):
        mine = [o for o in items if o.kommunenummer == knr]
        if window_closed and knr not in state.applications and knr not in state.decisions:
            mine = [o for o in mine if o.kind != "application"]  # invited, never applied
        open_items = [o for o in mine if o.is_open() and today <= o.deadline]
        soon = [o for o in open_items if (o.deadline - today).days <= 42]
        late = [o for o in mine if o.is_open() and o.is_late(today)]
        for_us = ours.get(knr, [])
        rows.append(
            {
                "kommune": f"{_short(state.name(knr), 28)} {knr}",
                "for sent": _short(
                    f"{len(late)}: {late[0].title}"
                    if len(late) > 1
                    else late[0].title
                    if late
                    else "–"
                ),
                "venter på oss": _short(
                    f"{len(for_us)}: {for_us[0].kind}"
                    if len(for_us) > 1
                    else for_us[0].kind
                    if for_us
                    else "–"
                ),
                "fase": stage_of(state, knr, today),
                "neste frist": next(
                    (
                        _short(f"{o.deadline:%d.%m.} {o.title}")
                        for o in sorted(soon, key=lambda item: item.deadline)
                    ),
                    "–",
                ),
            }
        )
    return sorted(
        rows,
        key=lambda row: (row["for sent"] == "–", row["venter på oss"] == "–", row["kommune"]),
    )


def _short(text: str, limit: int = MAX_CELL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stage_of(state: TrialState, knr: str, today: date) -> str:
    """The municipality's stage in bokmål, short: «deltar (A)», «søkte ikke»."""
    participation = state.participations.get(knr)
    if participation is not None:
        if today >= participation.start:
            return f"deltar ({participation.model})"
        return f"forbereder ({participation.model})"
    if knr in state.selected:
        return f"valgt ut ({state.selected[knr]})"
    if knr in state.rejected:
        return "avslått"
    if knr in state.applications:
        return "har søkt"
    if any(e.kind == "application_deadline" and today > e.day for e in state.round_plan()):
        return "søkte ikke"
    return "invitert"
