"""Invitations with calendar files to gatherings and status meetings, and the reminder before.

D: an invitation (with ``.ics``) is due ``meeting_invitation`` working days before the event
(default 10) and a reminder ``meeting_reminder`` working days before (default 2), from the round's
send time (09:00) on that working day — so the 10-day invitation goes exactly 10 working days
ahead. Status meetings are proposed until agreed (seed 000: «Tidspunkt avtales med den enkelte
kommune»); a meeting whose time changes after it was announced is announced again at once with the
same UID and a higher SEQUENCE (RFC 5546), saying it replaces the earlier invitation — only then.

Never two letters about one event in one run: an invitation not yet sent goes first, alone, and
the reminder follows only when the invitation went before the reminder's day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sio_domain.agendas import Agenda, CalendarEntry, Letter, send_instant
from sio_domain.norwegian_calendar import OSLO, working_days_before
from sio_domain.plan import PlanEvent
from sio_domain.trial_state import Announcement, TrialState

MEETING_ROLES = ("contact_person", "project_leader")
GATHERING_KINDS = ("gathering", "network_gathering", "info_meeting")


@dataclass(frozen=True)
class Invitee:
    """One municipality invited to one event (as it stands now), and whom there."""

    kommunenummer: str
    event: PlanEvent
    roles: Sequence[str]


def event_instants(event: PlanEvent) -> tuple[datetime, datetime]:
    """(start, end) of an event as instants: an all-day event runs from midnight to midnight."""
    if isinstance(event.start, datetime) and isinstance(event.end, datetime):
        return event.start, event.end
    start = datetime.combine(event.day, time(0), tzinfo=OSLO)
    last = event.end.date() if isinstance(event.end, datetime) else event.end
    return start, datetime.combine(last, time(23, 59), tzinfo=OSLO)


def invitation_key(prefix: str, round_id: str, knr: str, event_key: str, sequence: int) -> str:
    """``meeting-invitation:<round>:<kommunenummer>:<event key>:<sequence>``."""
    return f"{prefix}-invitation:{round_id}:{knr}:{event_key}:{sequence}"


def reminder_key(prefix: str, round_id: str, knr: str, event_key: str, start: datetime) -> str:
    """One reminder per event and announced time."""
    return f"{prefix}-reminder:{round_id}:{knr}:{event_key}:{start.isoformat()}"


def invitation_letters(
    state: TrialState, invitees: Iterable[Invitee], *, prefix: str
) -> list[Letter]:
    """The invitation, update or reminder due now for each invitee (at most one each)."""
    rules = state.round_def.reminders
    letters = []
    for invitee in invitees:
        event, knr = invitee.event, invitee.kommunenummer
        start, end = event_instants(event)
        if state.as_of >= start:
            continue
        announced = state.announcements.get((knr, event.key), ())
        last = announced[-1] if announced else None
        invite_day = working_days_before(event.day, rules.meeting_invitation)
        remind_day = working_days_before(event.day, rules.meeting_reminder)
        if last is None:
            due_at = send_instant(invite_day, rules.send_at)
            if state.as_of >= due_at:
                letters.append(_invitation(state, invitee, prefix, 0, due_at, moved=False))
            continue
        if last.method == "REQUEST" and (last.start, last.end) != (start, end):
            letters.append(
                _invitation(state, invitee, prefix, last.sequence + 1, state.as_of, moved=True)
            )
            continue
        due_at = send_instant(remind_day, rules.send_at)
        key = reminder_key(prefix, state.round_def.id, knr, event.key, start)
        if (
            last.method == "REQUEST"
            and state.as_of >= due_at
            and key not in state.sent_keys
            and _announced_before(last, due_at, state)
        ):
            letters.append(
                Letter(
                    key=key,
                    kind=f"{prefix}_reminder",
                    kommunenummer=knr,
                    roles=tuple(invitee.roles),
                    due_at=due_at,
                    context=_context(state, invitee, moved=False),
                    calendar=CalendarEntry(event, last.sequence, announces=False),
                )
            )
    return letters


def _announced_before(last: Announcement, reminder_due: datetime, state: TrialState) -> bool:
    """A reminder follows an invitation sent before the reminder's day, never the same day."""
    sent = state.announced_at.get(last.mail_key)
    return sent is None or sent.astimezone(OSLO).date() < reminder_due.astimezone(OSLO).date()


def _invitation(
    state: TrialState,
    invitee: Invitee,
    prefix: str,
    sequence: int,
    due_at: datetime,
    *,
    moved: bool,
) -> Letter:
    return Letter(
        key=invitation_key(
            prefix, state.round_def.id, invitee.kommunenummer, invitee.event.key, sequence
        ),
        kind=f"{prefix}_invitation",
        kommunenummer=invitee.kommunenummer,
        roles=tuple(invitee.roles),
        due_at=due_at,
        context=_context(state, invitee, moved=moved),
        calendar=CalendarEntry(invitee.event, sequence),
    )


def _context(state: TrialState, invitee: Invitee, *, moved: bool) -> dict[str, object]:
    event = invitee.event
    return {
        "municipality": state.name(invitee.kommunenummer),
        "kommunenummer": invitee.kommunenummer,
        "round_title": state.round_def.title,
        "title": event.title,
        "start": event.start,
        "end": event.end,
        "all_day": event.all_day,
        "firm": event.firm,
        "moved": moved,
    }


def gatherings_agenda(state: TrialState) -> Agenda:
    """Gatherings, network gatherings and information meetings (seed 000 rows 5–7, 12, 14; 002).

    Before the selection the audience is the applicants (seed 002: the information meeting is for
    «alle 14 kommuner som har søkt»); after it, the participants of the gathering's model. Events
    known only to the month are not invited to until a date is agreed.
    """
    plan = state.round_plan()
    selection = next((e.day for e in plan if e.kind == "selection_deadline"), None)
    invitees = []
    for event in plan:
        if event.kind not in GATHERING_KINDS or event.month_only:
            continue
        before_selection = selection is not None and event.day <= selection
        audience = (
            sorted(state.applications)
            if before_selection
            else [k for k, m in sorted(state.selected.items()) if m == event.model]
        )
        for knr in audience:
            planned = state.planned_event(knr, event)
            if planned is not None:
                invitees.append(Invitee(knr, planned, event.audience))
    letters = invitation_letters(state, invitees, prefix="gathering")
    letters += cancellations(state, invitees, prefix="gathering")
    return Agenda("gatherings", letters=tuple(letters), rows=_rows(state, letters))


def status_meetings_agenda(state: TrialState) -> Agenda:
    """Each participant's status meetings (statusmøter) on the round's cadence, by video."""
    invitees = []
    for knr, participation in sorted(state.participations.items()):
        for event in state.plan_for(knr):
            if event.kind != "status_meeting" or event.day > participation.end:
                continue
            planned = state.planned_event(knr, event)
            if planned is not None:
                invitees.append(Invitee(knr, planned, MEETING_ROLES))
    letters = invitation_letters(state, invitees, prefix="meeting")
    letters += cancellations(state, invitees, prefix="meeting")
    return Agenda("status-meetings", letters=tuple(letters), rows=_rows(state, letters))


def cancellations(state: TrialState, invitees: Sequence[Invitee], *, prefix: str) -> list[Letter]:
    """METHOD:CANCEL, same UID and a higher SEQUENCE, for every announced event no longer planned.

    An event drops out of the plan when it is cancelled, when the round ends early before it, or
    when its municipality no longer takes part; a calendar entry that was sent must then go.
    """
    planned = {(invitee.kommunenummer, invitee.event.key) for invitee in invitees}
    letters = []
    for (knr, event_key), announced in sorted(state.announcements.items()):
        last = announced[-1]
        if (
            (knr, event_key) in planned
            or last.method != "REQUEST"
            or not last.mail_key.startswith(f"{prefix}-")
            or state.as_of >= last.start
        ):
            continue
        event = state.announced_event(knr, event_key)
        if event is None:
            continue
        as_announced = _moved_to(event, last)
        sequence = last.sequence + 1
        letters.append(
            Letter(
                key=invitation_key(prefix, state.round_def.id, knr, event_key, sequence),
                kind=f"{prefix}_cancellation",
                kommunenummer=knr,
                roles=tuple(event.audience or MEETING_ROLES),
                due_at=state.as_of,
                context=_context(state, Invitee(knr, as_announced, ()), moved=False),
                calendar=CalendarEntry(as_announced, sequence, "CANCEL"),
            )
        )
    return letters


def _moved_to(event: PlanEvent, announcement: Announcement) -> PlanEvent:
    if event.all_day:
        return event
    return event.model_copy(
        update={
            "start": announcement.start.astimezone(OSLO),
            "end": announcement.end.astimezone(OSLO),
        }
    )


def _rows(state: TrialState, letters: Sequence[Letter]) -> tuple[dict[str, str], ...]:
    return tuple(
        {
            "kommunenummer": letter.kommunenummer or "",
            "kommune": state.name(letter.kommunenummer or ""),
            "hendelse": str(letter.context["title"]),
            "start": str(letter.context["start"]),
            "brev": {"reminder": "påminnelse", "cancellation": "avlysning"}.get(
                letter.kind.rsplit("_", 1)[1], "invitasjon"
            ),
        }
        for letter in letters
    )
