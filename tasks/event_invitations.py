"""Invitations with calendar files to gatherings and status meetings, and the reminder before.

DOMAIN.md **D**: an invitation (with ``.ics``) goes out ``meeting_invitation`` working days before
(default 10) and a reminder ``meeting_reminder`` working days before (default 2), at the round's
send time, on working days only. A meeting moved to an agreed time is invited again (a new key,
the same calendar UID and a higher SEQUENCE, so calendars update the entry).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from sio_domain.norwegian_calendar import OSLO, is_working_day, working_days_before
from sio_domain.plan import PlanEvent, build_plan
from tasks.calendar_files import plan_calendar
from tasks.database import session_for
from tasks.municipality_lookup import registry
from tasks.outbox import calendar_attachment
from tasks.stage_run import StageRun, StageSummary, queue_letter
from tasks.tables import MeetingRecord, OutgoingMail
from tasks.trial_state import RoundView, load_round_view

MEETING_ROLES = ("contact_person", "project_leader")


@dataclass(frozen=True)
class Invitee:
    """One municipality invited to one event, and whom there."""

    kommunenummer: str
    event: PlanEvent
    roles: Sequence[str]
    sequence: int = 0


def _start_instant(event: PlanEvent, run: StageRun) -> datetime:
    if isinstance(event.start, datetime):
        return event.start
    return datetime.combine(event.start, run.round_def.reminders.send_at, tzinfo=OSLO)


def send_invitations(
    session: Session,
    run: StageRun,
    view: RoundView,
    invitees: Iterable[Invitee],
    summary: StageSummary,
    *,
    kind: str,
) -> None:
    """Queue the invitation and the reminder that are due now for each invitee."""
    rules = run.round_def.reminders
    local = run.as_of.astimezone(OSLO)
    today = local.date()
    if not is_working_day(today):
        return
    for invitee in invitees:
        event = invitee.event
        knr = invitee.kommunenummer
        starts = _start_instant(event, run)
        if run.as_of >= starts or not run.concerns(view, knr):
            continue
        recipients = view.recipients(knr, invitee.roles)
        if not recipients:
            summary.note(f"{knr}: no {'/'.join(invitee.roles)} to invite to {event.title}")
            continue
        stamp = starts.isoformat()
        steps = {
            step: working_days_before(event.day, offset)
            for step, offset in (
                ("invitation", rules.meeting_invitation),
                ("reminder", rules.meeting_reminder),
            )
        }
        due = [
            s
            for s, day in steps.items()
            if day < today or (day == today and local.time() >= rules.send_at)
        ]
        invited_before = f"{kind}-invitation:{run.round_def.id}:{knr}:{event.key}:"
        due_at = None
        if invitee.sequence > 0 and "invitation" not in due and _sent(session, invited_before):
            due, due_at = ["invitation"], run.as_of  # moved after it was announced: update now
        if not due:
            continue
        invitation_key = invited_before + stamp
        # An invitation not yet sent goes first, alone: never an invitation and a reminder at once.
        step = "invitation" if not _sent(session, invitation_key) else due[-1]
        if step == "invitation" and "invitation" not in due:
            continue
        if step == "invitation":
            key = invitation_key
        else:
            key = f"{kind}-reminder:{run.round_def.id}:{knr}:{event.key}:{stamp}"
        ics = plan_calendar(
            [event],
            name=event.title,
            stamp=run.as_of,
            method="REQUEST",
            organizer=run.settings.mail_from,
            attendees=recipients,
            sequence=invitee.sequence,
        )
        if queue_letter(
            session,
            run,
            view,
            key=key,
            kind=f"{kind}_{step}",
            kommunenummer=knr,
            recipients=recipients,
            due_at=due_at or datetime.combine(steps[step], rules.send_at, tzinfo=OSLO),
            context={
                "municipality": view.name(knr),
                "kommunenummer": knr,
                "round_title": run.round_def.title,
                "title": event.title,
                "start": event.start,
                "end": event.end,
                "all_day": event.all_day,
                "firm": event.firm,
                "moved": invitee.sequence > 0,
            },
            attachments=[calendar_attachment(ics)],
        ):
            summary.queued_mail += 1
            summary.rows.append(
                {
                    "kommunenummer": knr,
                    "event": event.title,
                    "start": str(event.start),
                    "sent": step,
                }
            )


def _sent(session: Session, key_prefix: str) -> bool:

    return (
        session.exec(
            select(OutgoingMail.id).where(OutgoingMail.key.startswith(key_prefix))  # type: ignore[attr-defined]
        ).first()
        is not None
    )


def invite_to_gatherings(run: StageRun) -> StageSummary:
    """Training gatherings, network gatherings and information meetings (seed 000, 002).

    Before the selection the audience is the applicants (seed 002: the information meeting is for
    «alle 14 kommuner som har søkt»); after it, the participants of the gathering's model. Events
    known only to the month are not invited to until a date is agreed.
    """
    round_def = run.round_def
    summary = StageSummary("gatherings", round_def.id, run.as_of.isoformat())
    plan = build_plan(round_def)
    selection = next((e.day for e in plan if e.kind == "selection_deadline"), None)
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        invitees: list[Invitee] = []
        for event in plan:
            if event.kind not in ("gathering", "network_gathering", "info_meeting"):
                continue
            if event.month_only:
                continue
            before_selection = selection is not None and event.day <= selection
            audience = (
                sorted(view.state.applied)
                if before_selection
                else [k for k, m in view.state.selected.items() if m == event.model]
            )
            invitees.extend(Invitee(k, event, event.audience) for k in audience)
        send_invitations(session, run, view, invitees, summary, kind="gathering")
        session.commit()
    return summary


def invite_to_status_meetings(run: StageRun) -> StageSummary:
    """Each participant's status meetings (statusmøter) on the round's cadence, by video."""
    round_def = run.round_def
    summary = StageSummary("status-meetings", round_def.id, run.as_of.isoformat())
    with session_for(run.database_url) as session:
        view = load_round_view(session, round_def, registry(run.database_url), run.as_of)
        agreed = {
            (view.canonical(m.kommunenummer), m.event_key): m
            for m in session.exec(
                select(MeetingRecord).where(MeetingRecord.round_id == round_def.id)
            )
        }
        invitees = []
        for knr, participant in sorted(view.state.participants.items()):
            for event in participant.plan:
                if event.kind != "status_meeting":
                    continue
                record = agreed.get((knr, event.key))
                if record is None:
                    assert isinstance(event.start, datetime) and isinstance(event.end, datetime)
                    record = MeetingRecord(
                        round_id=round_def.id,
                        kommunenummer=knr,
                        event_key=event.key,
                        kind="status_meeting",
                        start=event.start,
                        end=event.end,
                        agreed=False,
                    )
                    session.add(record)
                    agreed[(knr, event.key)] = record
                sequence = 0
                if record.agreed:
                    moved = record.start.astimezone(OSLO)
                    event = event.model_copy(
                        update={"start": moved, "end": record.end.astimezone(OSLO), "firm": True}
                    )
                    sequence = 1
                invitees.append(Invitee(knr, event, MEETING_ROLES, sequence))
        send_invitations(session, run, view, invitees, summary, kind="meeting")
        session.commit()
    return summary


def upcoming(events: Iterable[PlanEvent], after: date) -> list[PlanEvent]:
    """Events on or after a day (for the dashboard)."""
    return [e for e in events if e.day >= after]
