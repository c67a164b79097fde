"""The daily reminder sweep: every deadline reminder due, to whom it concerns, once.

Issue 3: "every deadline reminder due (default 14, 7 and 1 working days before, from the round
file) to whom it concerns — application, reply, agreement, Bilag 1 activities, annual report — only
while the obligation is open". Which reminder is due is decided by ``sio_domain.obligations``; this
module looks up recipients and queues the letters under keys that make each go exactly once.
"""

from __future__ import annotations

from sio_domain.obligations import REMINDER_ROLES, due_reminders, obligations
from sio_domain.plan import build_plan
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.trial_state import load_round_view

REMINDER_KINDS = {
    "application": "application_reminder",
    "reply": "reply_reminder",
    "agreement": "agreement_reminder",
    "activity": "activity_reminder",
    "annual_report": "report_reminder",
}
"""The letter sent for each kind of obligation."""


def sweep_reminders(run: StageRun) -> StageSummary:
    """Queue the reminders due at ``run.as_of``; returns what was queued and who has no contact."""
    round_def = run.round_def
    summary = StageSummary("reminders", round_def.id, run.as_of.isoformat())
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        items = obligations(
            build_plan(round_def),
            view.state,
            reply_round=round_def.milestones.reply_deadline is not None,
        )
        due = due_reminders(
            items,
            offsets=round_def.reminders.deadline_offsets,
            send_at=round_def.reminders.send_at,
            now=run.as_of,
        )
        for reminder in due:
            obligation = reminder.obligation
            knr = obligation.kommunenummer
            if not run.concerns(view, knr):
                continue
            recipients = view.recipients(knr, REMINDER_ROLES[obligation.kind])
            if not recipients:
                summary.note(f"{knr}: no contact to remind of {obligation.key}")
                continue
            queued = queue_letter(
                session,
                run,
                view,
                key=f"reminder:{round_def.id}:{knr}:{obligation.key}:{reminder.offset}",
                kind=REMINDER_KINDS[obligation.kind],
                kommunenummer=knr,
                recipients=recipients,
                due_at=reminder.due_at,
                obligation=obligation.key,
                context={
                    "municipality": view.name(knr),
                    "kommunenummer": knr,
                    "round_title": round_def.title,
                    "title": obligation.title,
                    "deadline": obligation.deadline,
                    "nominal": obligation.nominal,
                    "working_days_left": reminder.offset,
                    "reply_deadline": obligation.deadline,
                    "agreement_deadline": obligation.deadline,
                    "activity": obligation.title,
                    "due": obligation.deadline,
                    "year": obligation.key.split(":", 1)[-1],
                },
            )
            if queued:
                summary.queued_mail += 1
                summary.rows.append(
                    {
                        "kommunenummer": knr,
                        "obligation": obligation.key,
                        "deadline": obligation.deadline.isoformat(),
                        "offset": reminder.offset,
                    }
                )
        session.commit()
    return summary
