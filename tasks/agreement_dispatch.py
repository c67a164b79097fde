"""Signing: send the cooperation agreement, and follow who has returned it and who is late.

seed 000: the selected municipalities «akseptere vilkårene ... og signere samarbeidsavtale»; the
agreement is made out in two signed copies, one for each party; the signed copy is returned to the
directorate by the agreement deadline (a return date, DOMAIN.md). In rounds with a reply deadline
(seed 002) the agreement follows the municipality's acceptance of the offer.
"""

from __future__ import annotations

from sqlmodel import select

from sio_domain.plan import build_plan
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.tables import SignatureRecord
from tasks.trial_state import load_round_view

AGREEMENT_ROLES = ("chief_executive", "contact_person")


def dispatch_agreements(run: StageRun) -> StageSummary:
    """Queue each selected municipality's agreement once; report returned, missing and late."""
    from tasks.agreement_text import agreement_attachment

    round_def = run.round_def
    summary = StageSummary("signing", round_def.id, run.as_of.isoformat())
    deadlines = {e.kind: e for e in build_plan(round_def) if e.kind.endswith("_deadline")}
    agreement_deadline = deadlines.get("agreement_deadline")
    reply_round = round_def.milestones.reply_deadline is not None
    today = run.as_of.date()
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        state = view.state
        signatures = session.exec(
            select(SignatureRecord).where(SignatureRecord.round_id == round_def.id)
        ).all()
        by_party = {(view.canonical(s.kommunenummer), s.party): s for s in signatures}
        for knr, model in sorted(state.selected.items()):
            if not run.concerns(view, knr):
                continue
            reply = state.replies.get(knr)
            if reply_round and (reply is None or not reply[0]):
                summary.rows.append(
                    {
                        "kommunenummer": knr,
                        "municipality": view.name(knr),
                        "status": "awaiting reply" if reply is None else "declined",
                    }
                )
                continue
            name = view.name(knr)
            attachment = agreement_attachment(
                model,  # type: ignore[arg-type]
                municipality=name,
                kommunenummer=knr,
            )
            if queue_letter(
                session,
                run,
                view,
                key=f"agreement:{round_def.id}:{knr}",
                kind="agreement",
                kommunenummer=knr,
                recipients=view.recipients(knr, AGREEMENT_ROLES),
                due_at=run.as_of,
                context={
                    "municipality": name,
                    "kommunenummer": knr,
                    "round_title": round_def.title,
                    "model": model,
                    "agreement_deadline": agreement_deadline.day if agreement_deadline else None,
                    "filename": attachment.filename,
                },
                attachments=[attachment],
            ):
                summary.queued_mail += 1
            own = by_party.get((knr, "municipality"))
            theirs = by_party.get((knr, "directorate"))
            if own is None:
                late = agreement_deadline is not None and today > agreement_deadline.day
                status = "missing, late" if late else "awaiting signed copy"
            else:
                status = "returned late" if own.late else "returned"
                if theirs is None:
                    status += "; directorate has not signed"
            summary.rows.append({"kommunenummer": knr, "municipality": name, "status": status})
        session.commit()
    return summary
