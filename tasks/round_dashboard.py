"""The round dashboard: per municipality, its stage, open obligations and what is late.

Published as a keyed, versioned table artifact after every stage run, so operations staff see the
round as a case list in the Prefect UI (issue 3, item 4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sio_domain.norwegian_calendar import OSLO
from sio_domain.obligations import obligations
from sio_domain.plan import build_plan
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.trial_state import RoundView, load_round_view


def dashboard_rows(database_url: str, round_ref_def: Any, as_of: datetime) -> list[dict[str, str]]:
    """One row per municipality known to the round."""
    round_def = round_ref_def
    with session_for(database_url) as session:
        view = load_round_view(session, round_def, registry(database_url), as_of)
    return rows_for(view, as_of)


def rows_for(view: RoundView, as_of: datetime) -> list[dict[str, str]]:
    """Dashboard rows from a loaded round view."""
    round_def = view.round_def
    today = as_of.astimezone(OSLO).date()
    state = view.state
    items = obligations(
        build_plan(round_def), state, reply_round=round_def.milestones.reply_deadline is not None
    )
    known = sorted(state.candidates | set(state.applied) | set(state.selected) | state.rejected)
    rows = []
    for knr in known:
        mine = [o for o in items if o.kommunenummer == knr]
        open_items = [o for o in mine if o.is_open() and o.deadline >= today]
        late = [o for o in mine if o.is_late(today)]
        rows.append(
            {
                "kommunenummer": knr,
                "municipality": view.name(knr),
                "stage": _stage(view, knr, today),
                "open": "; ".join(f"{o.title} ({o.deadline:%d.%m.%Y})" for o in open_items) or "–",
                "late": "; ".join(
                    f"{o.title} ({o.deadline:%d.%m.%Y}"
                    + (f", mottatt {o.fulfilled_on:%d.%m.%Y})" if o.fulfilled_on else ")")
                    for o in late
                )
                or "–",
            }
        )
    return rows


def _stage(view: RoundView, knr: str, today: Any) -> str:
    state = view.state
    if knr in state.participants:
        participant = state.participants[knr]
        live = [e for e in participant.plan if e.kind in ("go_live", "participation_start")]
        if live and today >= live[0].day:
            return f"participating (model {participant.model})"
        return f"selected, preparing (model {participant.model})"
    if knr in state.selected:
        return f"selected (model {state.selected[knr]})"
    if knr in state.rejected:
        return "rejected"
    if knr in state.applied:
        return "applied"
    return "invited"
