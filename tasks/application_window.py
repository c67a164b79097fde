"""The application window: receipts for applications, and closing the window at the deadline.

Late applications are accepted and flagged (DOMAIN.md **D**); at the effective deadline (the end
of that working day, Europe/Oslo) the window closes once and a summary is published.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import select

from sio_domain.norwegian_calendar import OSLO, effective_deadline
from tasks.audit import record_audit
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.tables import ApplicationRecord, StageMark
from tasks.trial_state import load_round_view

RECEIPT_ROLES = ("contact_person", "chief_executive")


def window_closes_at(run: StageRun) -> datetime | None:
    """The instant the window closes: midnight after the effective deadline day, Oslo time."""
    deadline = run.round_def.milestones.application_deadline
    if deadline is None:
        return None
    day = effective_deadline(deadline.date) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=OSLO)


def handle_application_window(run: StageRun) -> StageSummary:
    """Send receipts for new applications; close the window and summarise once it has passed."""
    round_def = run.round_def
    summary = StageSummary("application-deadline", round_def.id, run.as_of.isoformat())
    closes = window_closes_at(run)
    if closes is None:
        summary.note(f"round {round_def.id} has no application deadline in its file")
        return summary
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        applications = session.exec(
            select(ApplicationRecord).where(ApplicationRecord.round_id == round_def.id)
        ).all()
        for application in applications:
            knr = view.canonical(application.kommunenummer)
            if application.imported_at > run.as_of or not run.concerns(view, knr):
                continue
            findings = [line for line in application.findings.splitlines() if line]
            if queue_letter(
                session,
                run,
                view,
                key=f"receipt:{round_def.id}:{knr}",
                kind="application_received",
                kommunenummer=knr,
                recipients=view.recipients(knr, RECEIPT_ROLES),
                due_at=run.as_of,
                context={
                    "municipality": view.name(knr),
                    "kommunenummer": knr,
                    "round_title": round_def.title,
                    "received_at": application.submitted_at,
                    "late": application.late,
                    "findings": findings,
                    "deadline": closes.date() - timedelta(days=1),
                },
            ):
                summary.queued_mail += 1
            summary.rows.append(
                {
                    "kommunenummer": knr,
                    "municipality": view.name(knr),
                    "submitted_at": application.submitted_at.astimezone(OSLO).isoformat(),
                    "late": application.late,
                    "findings": "; ".join(findings) or "–",
                }
            )
        not_applied = sorted(view.state.candidates - set(view.state.applied))
        if run.as_of >= closes:
            mark = session.exec(
                select(StageMark).where(
                    StageMark.round_id == round_def.id,
                    StageMark.stage == "application-deadline",
                    StageMark.mark == "window_closed",
                )
            ).first()
            if mark is None:
                session.add(
                    StageMark(
                        round_id=round_def.id,
                        stage="application-deadline",
                        mark="window_closed",
                        done_at=run.as_of,
                        detail=f"{len(applications)} applications",
                    )
                )
                record_audit(
                    session,
                    at=run.as_of,
                    actor=run.actor,
                    round_id=round_def.id,
                    what="application window closed",
                    detail={
                        "applications": len(applications),
                        "late": sum(a.late for a in applications),
                        "not_applied": not_applied,
                    },
                )
            summary.note(
                f"window closed {closes.isoformat()}: {len(applications)} applications, "
                f"{sum(a.late for a in applications)} late, "
                f"{len(not_applied)} invited did not apply"
            )
        else:
            summary.note(f"window open until {closes.isoformat()}")
        session.commit()
    return summary
