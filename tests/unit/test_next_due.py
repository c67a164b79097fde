"""The next-due calendar never misses a run the daily schedules would have had work in, and never
names one that has none: compared with running every weekday's schedule over a period."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sio_domain.agendas import ApplicationWindowClosed, ParticipationWentLive
from sio_domain.agendas.application_window import WINDOW_CLOSED
from sio_domain.agendas.invitations import event_instants
from sio_domain.next_due import STAGE_AGENDAS, due_at, due_runs, next_due
from sio_domain.norwegian_calendar import OSLO
from sio_domain.stage_times import payout_instants, stage_schedule
from sio_domain.trial_state import Announcement, TrialState
from tests.support.trial_states import at, contact, trial_state

ROLES = ("contact_person", "project_leader", "chief_executive", "finance_officer")
APPLICANTS_2016 = ("1714", "1243", "0926", "0138", "1664", "0123", "1241")
MODELS_2016 = {"1714": "A", "1243": "A", "0926": "A", "0138": "A", "1664": "B", "0123": "B"}


def settled(state: TrialState, stages: tuple[str, ...] = tuple(STAGE_AGENDAS)) -> TrialState:
    """The state after ``stages`` ran at its instant: what was due then has gone."""
    for _ in range(3 if len(stages) > 1 else 1):
        sent = set(state.sent_keys)
        announcements = dict(state.announcements)
        announced_at = dict(state.announced_at)
        marks = set(state.marks)
        participations = dict(state.participations)
        for stage in stages:
            agenda = STAGE_AGENDAS[stage](state)
            for letter in agenda.letters:
                sent.add(letter.key)
                if letter.calendar is not None and letter.kommunenummer:
                    start, end = event_instants(letter.calendar.event)
                    key = (letter.kommunenummer, letter.calendar.event.key)
                    announcements[key] = (
                        *announcements.get(key, ()),
                        Announcement(
                            letter.kommunenummer,
                            letter.calendar.event.key,
                            letter.calendar.sequence,
                            start,
                            end,
                            "REQUEST",
                            letter.key,
                        ),
                    )
                    announced_at[letter.key] = state.as_of
            for fact in agenda.facts:
                if isinstance(fact, ApplicationWindowClosed):
                    marks.add(WINDOW_CLOSED)
                if isinstance(fact, ParticipationWentLive):
                    participations[fact.kommunenummer] = replace(
                        participations[fact.kommunenummer], live_since=state.as_of
                    )
        state = replace(
            state,
            sent_keys=frozenset(sent),
            announcements=announcements,
            announced_at=announced_at,
            marks=frozenset(marks),
            participations=participations,
        )
    return state


def daily_first(state: TrialState, after: datetime, until: datetime) -> tuple[str, datetime] | None:
    """The first run with work, found by running every stage every weekday (the crons)."""
    schedule = sorted(stage_schedule(state.round_def).items(), key=lambda item: item[1])
    day = after.astimezone(OSLO).date()
    while datetime.combine(day, time(0), tzinfo=OSLO) <= until:
        if day.weekday() < 5:
            for stage, clock in schedule:
                instant = datetime.combine(day, clock, tzinfo=OSLO)
                if after < instant <= until and due_at(state, stage, instant) is not None:
                    return stage, instant
        day += timedelta(days=1)
    return None


def round_2016(
    as_of: datetime, applied: list[str], selected: bool, signed: list[str], done: list[str]
) -> TrialState:
    contacts = [
        contact(k, role, f"{role}@{k}.no") for k in (*APPLICANTS_2016, "0122") for role in ROLES
    ]
    decided = date(2016, 1, 14)
    known = selected and as_of.date() >= decided
    models = {k: m for k, m in MODELS_2016.items() if k in applied} if known else {}
    return trial_state(
        "sio-2016",
        as_of,
        contacts=contacts,
        applied={
            k: at(date(2015, 11, 2) + timedelta(days=i), time(12)) for i, k in enumerate(applied)
        },
        selected=models,
        rejected=[k for k in applied if k not in MODELS_2016] if known else [],
        decided_on=decided,
        signed={k: date(2016, 1, 25) for k in signed if k in models},
        done={(k, key): date(2016, 1, 20) for k in models for key in done},
    )


def walk(state: TrialState, until: datetime, step) -> list[tuple[str, datetime]]:  # type: ignore[no-untyped-def]
    """Every run with work up to ``until``, each applied before the next is looked for."""
    runs = []
    now = state.as_of
    while (found := step(state, now, until)) is not None:
        stage, instant = found
        runs.append(found)
        state = settled(replace(state, as_of=instant), (stage,))
        now = instant
    return runs


def calendar_step(
    state: TrialState, after: datetime, until: datetime
) -> tuple[str, datetime] | None:
    found = next_due(state, after, stage_schedule(state.round_def), until=until)
    return (found.stage, found.at) if found else None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.dates(date(2015, 6, 20), date(2017, 3, 1)),
    minute=st.integers(0, 24 * 60 - 1),
    applied=st.lists(st.sampled_from(APPLICANTS_2016), unique=True),
    selected=st.booleans(),
    signed=st.lists(st.sampled_from(list(MODELS_2016)), unique=True),
    done=st.lists(
        st.sampled_from(
            ["activity:project_leader", "activity:ict_adaptation", "annual_report:2016"]
        ),
        unique=True,
    ),
)
def test_next_due_is_the_first_run_the_daily_schedules_would_have_work_in(
    day: date, minute: int, applied: list[str], selected: bool, signed: list[str], done: list[str]
) -> None:
    after = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=OSLO)
    state = settled(round_2016(after, applied, selected, signed, done))
    until = after + timedelta(days=45)
    expected = daily_first(state, after, until)
    found = next_due(state, after, stage_schedule(state.round_def), until=until)
    assert ((found.stage, found.at) if found else None) == expected


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.sampled_from(
        [date(2015, 11, 2), date(2016, 1, 14), date(2016, 2, 25), date(2016, 8, 1)]
    ),
    applied=st.lists(st.sampled_from(APPLICANTS_2016), min_size=3, unique=True),
    signed=st.lists(st.sampled_from(list(MODELS_2016)), unique=True),
)
def test_walking_the_calendar_gives_the_runs_of_every_weekday_schedule(
    day: date, applied: list[str], signed: list[str]
) -> None:
    after = datetime.combine(day, time(6), tzinfo=OSLO)
    state = settled(round_2016(after, applied, True, signed, []))
    until = after + timedelta(days=100)
    assert walk(state, until, calendar_step) == walk(state, until, daily_first)


def test_next_due_in_round_2021_finds_the_info_meeting_invitation_and_the_reply_reminders() -> None:
    applied = ["4203", "4627", "3028", "4214", "4225", "1851"]
    contacts = [contact(k, role, f"{role}@{k}.no") for k in applied for role in ROLES]
    state = trial_state(
        "sio-2021",
        at(date(2020, 10, 20)),
        contacts=contacts,
        applied={k: at(date(2020, 10, 12), time(12)) for k in applied},
    )
    state = settled(state)
    schedule = stage_schedule(state.round_def)
    found = next_due(state, state.as_of, schedule)
    assert found is not None
    assert (found.stage, found.at, set(found.kinds)) == (
        "gatherings",
        datetime(2020, 11, 4, 9, 10, tzinfo=OSLO),
        {"gathering_invitation"},
    )
    assert daily_first(state, state.as_of, found.at) == (found.stage, found.at)


def test_due_runs_lists_each_letter_once_in_the_coming_weeks() -> None:
    state = settled(round_2016(at(date(2016, 2, 1), time(10)), list(MODELS_2016), True, [], []))
    runs = due_runs(
        state, state.as_of, state.as_of + timedelta(days=60), stage_schedule(state.round_def)
    )
    keys = [key for run in runs for key in run.letters]
    assert len(keys) == len(set(keys)) > 0
    assert [run.at for run in runs] == sorted(run.at for run in runs)
    first = next_due(state, state.as_of, stage_schedule(state.round_def))
    assert first is not None and (runs[0].stage, runs[0].at) == (first.stage, first.at)
    assert "gathering invitation" in " ".join(run.label for run in runs)


def test_the_pure_schedule_is_the_deployments_schedule() -> None:
    from deployments.schedules import payout_times, stage_time
    from tasks.intake.round_files import load_round
    from tasks.runs.stages import AGENDAS

    assert dict(STAGE_AGENDAS) == AGENDAS
    for round_id in ("sio-2016", "sio-2019", "sio-2021"):
        round_def = load_round(round_id)
        assert stage_schedule(round_def) == {s: stage_time(s, round_def) for s in AGENDAS}
        after = datetime(2015, 1, 1, tzinfo=OSLO)
        assert payout_instants(round_def, after) == payout_times(round_def, after)
