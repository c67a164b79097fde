"""The round dashboard: per municipality, what needs attention, its stage and next deadline.

Published as a keyed, versioned table artifact after every stage run, so operations staff see the
round as a case list in the Prefect UI. Headers and values are in bokmål (text for staff).
"""

from __future__ import annotations

from datetime import date, datetime

from sio_domain.obligations import obligations
from sio_domain.round_definition import RoundDefinition
from sio_domain.trial_state import TrialState
from tasks.storage.unit_of_work import unit_of_work


def dashboard_rows(
    database_url: str, round_def: RoundDefinition, as_of: datetime
) -> list[dict[str, str]]:
    """One row per municipality known to the round, as of ``as_of``."""
    with unit_of_work(database_url) as uow:
        state = uow.state(round_def, as_of)
    return rows_for(state)


def rows_for(state: TrialState) -> list[dict[str, str]]:
    """Dashboard rows from a loaded state: late first, then open items of the coming weeks."""
    today = state.today
    items = obligations(state)
    known = sorted(
        state.candidates() | set(state.applications) | set(state.selected) | state.rejected
    )
    window_closed = any(o.kind == "application" and today > o.deadline for o in items)
    rows = []
    for knr in known:
        mine = [o for o in items if o.kommunenummer == knr]
        if window_closed and knr not in state.applications and knr not in state.decisions:
            mine = [o for o in mine if o.kind != "application"]  # invited, never applied
        open_items = [o for o in mine if o.is_open() and today <= o.deadline]
        soon = [o for o in open_items if (o.deadline - today).days <= 42]
        late = [o for o in mine if o.is_late(today)]
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "for sent": "; ".join(
                    f"{o.title} ({o.deadline:%d.%m.%Y}"
                    + (f", mottatt {o.fulfilled_on:%d.%m.%Y})" if o.fulfilled_on else ")")
                    for o in late
                )
                or "–",
                "fase": _stage(state, knr, today),
                "neste frist": next(
                    (
                        f"{o.title} ({o.deadline:%d.%m.%Y})"
                        for o in sorted(soon, key=lambda item: item.deadline)
                    ),
                    "–",
                ),
            }
        )
    return sorted(rows, key=lambda row: (row["for sent"] == "–", row["kommunenummer"]))


def _stage(state: TrialState, knr: str, today: date) -> str:
    participation = state.participations.get(knr)
    if participation is not None:
        if today >= participation.start:
            return f"deltar (modell {participation.model})"
        return f"valgt ut, forbereder (modell {participation.model})"
    if knr in state.selected:
        return f"valgt ut (modell {state.selected[knr]})"
    if knr in state.rejected:
        return "avslått"
    if knr in state.applications:
        return "har søkt"
    if any(e.kind == "application_deadline" and today > e.day for e in state.round_plan()):
        return "søkte ikke"
    return "invitert"
