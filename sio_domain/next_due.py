"""The next-due calendar (neste forfall): when, after an instant, any stage next has work to do.

Why: the trial lasts years but its stages have something to do on a few hundred mornings only.
A simulation skips the idle days, and ``sio up`` creates dated runs named after what they will do,
so the UI's upcoming runs are the trial's calendar. The daily runs remain the safety net.

How, exactly: every threshold an agenda compares "now" with comes from a plan date shifted by a
number of working days — deadline reminders 14, 7 and 1 working days before (design decision D),
invitations and reminders 10 and 2 working days before an event (D), the readiness warning
10 working days before go-live (seed 000 §1.4), the event or deadline itself and the day after it
(the application window closes at the end of its day). Facts already known (an application not yet
receipted, a decision not yet written) are due at the first run after the instant. Each candidate
(stage, instant) is confirmed by running the stage's pure agenda on the same state moved to that
instant; the first that yields a letter with recipients or a fact is the answer. Outside events
(an application arriving, a signature) change the state: the caller asks again after applying one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sio_domain.agendas import Agenda
from sio_domain.agendas.application_window import application_window_agenda
from sio_domain.agendas.decision_letters import decision_letters_agenda
from sio_domain.agendas.go_live import READINESS_WARNING_DAYS, go_live_agenda
from sio_domain.agendas.invitations import gatherings_agenda, status_meetings_agenda
from sio_domain.agendas.reminders import reminders_agenda
from sio_domain.agendas.signing import signing_agenda
from sio_domain.norwegian_calendar import OSLO, working_days_before
from sio_domain.plan import PlanEvent
from sio_domain.trial_state import TrialState

STAGE_AGENDAS: Mapping[str, Callable[[TrialState], Agenda]] = {
    "application-deadline": application_window_agenda,
    "selection": decision_letters_agenda,
    "signing": signing_agenda,
    "gatherings": gatherings_agenda,
    "go-live": go_live_agenda,
    "status-meetings": status_meetings_agenda,
    "reminders": reminders_agenda,
}
"""Stage name → its pure agenda (the same functions the stage runs use)."""


@dataclass(frozen=True)
class DueRun:
    """A stage run at an instant that will do something: the letters it sends, facts it records."""

    stage: str
    at: datetime
    letters: tuple[str, ...]
    kinds: tuple[str, ...]
    facts: int

    @property
    def label(self) -> str:
        """What the run will do, for its name: the letter kinds, else the stage."""
        kinds = sorted(set(self.kinds))
        return ", ".join(k.replace("_", " ") for k in kinds) if kinds else self.stage


def agenda_work(agenda: Agenda, state: TrialState) -> tuple[list[str], list[str], int]:
    """The letters of ``agenda`` that would really go (not sent yet, someone to receive them)."""
    keys, kinds = [], []
    for letter in agenda.letters:
        if letter.key in state.sent_keys:
            continue
        if not letter.to_staff:
            if letter.kommunenummer is None:
                continue
            if not state.recipients(letter.kommunenummer, letter.roles):
                continue
        keys.append(letter.key)
        kinds.append(letter.kind)
    return keys, kinds, len(agenda.facts)


def due_at(state: TrialState, stage: str, at: datetime) -> DueRun | None:
    """What ``stage`` would do if it ran at ``at`` with what the state knows, or None."""
    moved = replace(state, as_of=at)
    keys, kinds, facts = agenda_work(STAGE_AGENDAS[stage](moved), moved)
    if not keys and not facts:
        return None
    return DueRun(stage, at, tuple(keys), tuple(kinds), facts)


def next_due(
    state: TrialState,
    after: datetime,
    schedule: Mapping[str, time],
    *,
    until: datetime | None = None,
) -> DueRun | None:
    """The first stage run strictly after ``after`` (and not after ``until``) with work to do.

    ``schedule`` is each stage's time of day on working days (Europe/Oslo), as the deployments
    run them. None when nothing more is due on what the state knows.
    """
    for at, stage in candidates(state, after, schedule):
        if until is not None and at > until:
            return None
        found = due_at(state, stage, at)
        if found is not None:
            return found
    return None


def due_runs(
    state: TrialState, after: datetime, until: datetime, schedule: Mapping[str, time]
) -> list[DueRun]:
    """Every run in (after, until] with work on the state as it stands (nothing applied between).

    For ``sio up``'s dated runs: what is due in the coming weeks if nothing else happens. A run
    does not see the letters of the runs before it, so a letter is listed once, at its first run.
    """
    seen: set[str] = set()
    result = []
    for at, stage in candidates(state, after, schedule):
        if at > until:
            break
        found = due_at(state, stage, at)
        if found is None:
            continue
        fresh = tuple(k for k in found.letters if k not in seen)
        if not fresh and not found.facts:
            continue
        seen.update(fresh)
        kinds = tuple(
            kind for key, kind in zip(found.letters, found.kinds, strict=True) if key in fresh
        )
        result.append(DueRun(stage, at, fresh, kinds, found.facts))
    return result


def candidates(
    state: TrialState, after: datetime, schedule: Mapping[str, time]
) -> Iterator[tuple[datetime, str]]:
    """Candidate (instant, stage) pairs after ``after``, in time order (a superset of the due)."""
    start = after.astimezone(OSLO).date()
    days = {start, start + timedelta(days=1)}
    days |= {d for d in candidate_days(state) if d >= start}
    working = sorted({_weekday_on_or_after(d) for d in days})
    ordered = sorted(schedule.items(), key=lambda item: item[1])
    for day in working:
        for stage, clock in ordered:
            at = datetime.combine(day, clock, tzinfo=OSLO)
            if at > after:
                yield at, stage


def candidate_days(state: TrialState) -> set[date]:
    """Every day a threshold of an agenda falls on, from the plans and the agreed meeting times."""
    key = (
        id(state.round_def),
        tuple(sorted(state.participations.items())),
        tuple(sorted(state.meeting_times.items())),
        tuple(sorted((k, d.decided_on, d.model) for k, d in state.decisions.items())),
    )
    return set(_days_for(key, state))


_DAYS: dict[object, frozenset[date]] = {}


def _days_for(key: object, state: TrialState) -> frozenset[date]:
    """``_candidate_days`` memoised on what it reads (the plans depend on nothing else)."""
    found = _DAYS.get(key)
    if found is None:
        if len(_DAYS) > 256:
            _DAYS.clear()
        found = _DAYS[key] = frozenset(_candidate_days(state))
    return found


def _candidate_days(state: TrialState) -> set[date]:
    rules = state.round_def.reminders
    offsets = {
        0,
        *rules.deadline_offsets,
        rules.meeting_invitation,
        rules.meeting_reminder,
        READINESS_WARNING_DAYS,
    }
    anchors: set[date] = set()
    for event in _events(state):
        anchors |= _event_days(event)
    for start, end in state.meeting_times.values():
        anchors.add(start.astimezone(OSLO).date())
        anchors.add(end.astimezone(OSLO).date())
    for participation in state.participations.values():
        anchors.add(participation.start)
    for decision in state.decisions.values():
        anchors.add(decision.decided_on)
    days: set[date] = set()
    for anchor in anchors:
        days.add(anchor + timedelta(days=1))
        for offset in offsets:
            days.add(_before(anchor, offset) if offset else anchor)
    return days


@lru_cache(maxsize=65536)
def _before(day: date, count: int) -> date:
    return working_days_before(day, count)


def _events(state: TrialState) -> Iterable[PlanEvent]:
    yield from state.round_plan()
    for knr in state.participations:
        yield from state.plan_for(knr)


def _event_days(event: PlanEvent) -> set[date]:
    days = {event.day}
    end = event.end
    days.add(end.astimezone(OSLO).date() if isinstance(end, datetime) else end)
    if event.nominal is not None:
        days.add(event.nominal)
    return days


def _weekday_on_or_after(day: date) -> date:
    """The first day the crons run on or after ``day``: they run Monday to Friday, holidays too."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
