"""Selection: who still awaits a decision, and the decision letters (vedtaksbrev) once decided.

Municipalities cannot choose their model (seed 004: «Kommunene kan ikke selv velge hvilken modell
de deltar i»): staff decide per applicant selected/rejected and the model; each applicant then gets
a decision letter naming the model (an offer) or a rejection (seed 003: «Vedtaksbrev»).
"""

from __future__ import annotations

from sqlmodel import select

from sio_domain.plan import build_plan
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.tables import SelectionDecisionRecord
from tasks.trial_state import RoundView, load_round_view

LETTER_ROLES = ("chief_executive", "contact_person")


def awaiting_decision(view: RoundView) -> list[str]:
    """Applicants (or, where applications predate sio, nobody) still without a decision."""
    state = view.state
    decided = set(state.selected) | set(state.rejected)
    return sorted(set(state.applied) - decided)


def load_view(run: StageRun) -> RoundView:
    """The round's state now (a fresh read: the staff may have decided since the last run)."""
    with session_for(run.database_url) as session:
        return load_round_view(session, run.round_def, registry(run.database_url), run.as_of)


def send_decision_letters(run: StageRun) -> StageSummary:
    """Queue one decision letter per decided applicant (idempotent by key)."""
    round_def = run.round_def
    summary = StageSummary("selection", round_def.id, run.as_of.isoformat())
    deadlines = {e.kind: e for e in build_plan(round_def) if e.kind.endswith("_deadline")}
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        decisions = session.exec(
            select(SelectionDecisionRecord).where(SelectionDecisionRecord.round_id == round_def.id)
        ).all()
        for decision in decisions:
            knr = view.canonical(decision.kommunenummer)
            if not run.concerns(view, knr):
                continue
            selected = decision.decision == "selected"
            agreement = deadlines.get("agreement_deadline")
            reply = deadlines.get("reply_deadline")
            if queue_letter(
                session,
                run,
                view,
                key=f"decision:{round_def.id}:{knr}",
                kind="decision_offer" if selected else "decision_rejection",
                kommunenummer=knr,
                recipients=view.recipients(knr, LETTER_ROLES),
                due_at=run.as_of,
                context={
                    "municipality": view.name(knr),
                    "kommunenummer": knr,
                    "round_title": round_def.title,
                    "model": decision.model,
                    "model_title": round_def.models[decision.model].title  # type: ignore[index]
                    if selected and decision.model in round_def.models
                    else None,
                    "decided_by": decision.decided_by,
                    "decided_on": decision.decided_on,
                    "agreement_deadline": agreement.day if agreement else None,
                    "reply_deadline": reply.day if reply else None,
                    "go_live": round_def.milestones.go_live.date,
                    "end": round_def.milestones.effective_end,
                },
            ):
                summary.queued_mail += 1
            summary.rows.append(
                {
                    "kommunenummer": knr,
                    "municipality": view.name(knr),
                    "decision": decision.decision,
                    "model": decision.model or "–",
                    "decided_by": decision.decided_by,
                }
            )
        session.commit()
    return summary
