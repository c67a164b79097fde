"""Go-live (oppstartstidspunkt): readiness against Bilag 1, staff alerted, participation goes live.

seed 000 §1.4: «Frem mot Oppstartstidspunktet skal Partene forberede oppstart iht. det tidsskjema
som fremkommer i bilag 1» — the activities due before go-live (project leader in place, ICT
adaptation, changes reported). What is not done is reported to staff before the date; on the date
the participation goes live (an effective date: it does not move, even on a holiday).
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import select

from sio_domain.norwegian_calendar import OSLO, working_days_before
from tasks.audit import record_audit
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.tables import ParticipationRecord
from tasks.trial_state import load_round_view

READINESS_WARNING_DAYS = 10
"""Staff hear about unfinished preparations this many working days before go-live."""


def review_go_live(run: StageRun) -> StageSummary:
    """Alert staff about unfinished pre-go-live activities; set participations live on the date."""
    round_def = run.round_def
    summary = StageSummary("go-live", round_def.id, run.as_of.isoformat())
    today = run.as_of.astimezone(OSLO).date()
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        participations = session.exec(
            select(ParticipationRecord).where(ParticipationRecord.round_id == round_def.id)
        ).all()
        for participation in participations:
            knr = view.canonical(participation.kommunenummer)
            if not run.concerns(view, knr):
                continue
            participant = view.state.participants.get(knr)
            plan = participant.plan if participant else ()
            required = [e for e in plan if e.kind == "activity" and e.before_go_live]
            missing = [
                e
                for e in required
                if (knr, f"activity:{e.key.split(':')[3]}") not in view.state.done
            ]
            start = participation.start
            warn_from = working_days_before(start, READINESS_WARNING_DAYS)
            if missing and warn_from <= today <= start:
                if queue_letter(
                    session,
                    run,
                    view,
                    key=f"readiness:{round_def.id}:{knr}:{start.isoformat()}",
                    kind="readiness_alert",
                    kommunenummer=knr,
                    recipients=[run.settings.staff_address],
                    due_at=run.as_of,
                    standard="bokmål",
                    context={
                        "municipality": view.name(knr),
                        "kommunenummer": knr,
                        "round_title": round_def.title,
                        "go_live": start,
                        "missing": [{"title": e.title, "due": e.end} for e in missing],
                    },
                ):
                    summary.queued_mail += 1
            status = "live" if participation.live_since else "preparing"
            if participation.live_since is None and today >= start:
                participation.live_since = _start_instant(start, run.as_of)
                session.add(participation)
                record_audit(
                    session,
                    at=run.as_of,
                    actor=run.actor,
                    round_id=round_def.id,
                    kommunenummer=knr,
                    what="participation live",
                    detail={"go_live": start, "not_done": [e.title for e in missing]},
                )
                status = "live"
            summary.rows.append(
                {
                    "kommunenummer": knr,
                    "municipality": view.name(knr),
                    "go_live": start.isoformat(),
                    "status": status,
                    "not_done": "; ".join(e.title for e in missing) or "–",
                }
            )
        session.commit()
    return summary


def _start_instant(start: date, as_of: datetime) -> datetime:
    """The go-live instant: midnight Oslo time on the date (or as_of, if that is earlier)."""
    return min(datetime.combine(start, time(0), tzinfo=OSLO), as_of)
