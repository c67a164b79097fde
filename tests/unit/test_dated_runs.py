"""``sio up``'s dated runs: one per stage run the calendar says has work, named after it, keyed
so that creating them twice creates them once — on a copy of round 2016 moved 28 years ahead
(the same weekdays; its own Easter)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from deployments.dated_runs import HORIZON, dated_runs, stale_keys
from sio_domain.norwegian_calendar import OSLO, working_days_before
from sio_domain.recipients import ContactPerson
from sio_domain.round_definition import RoundDefinition
from sio_domain.round_parsing import parse_round
from sio_domain.trial_state import DecisionFact, ParticipationFact, SignatureFact, TrialState
from tasks.intake.round_files import round_file_path
from tasks.records.application_store import participation_dates
from tests.support.trial_states import shipped_registry

YEARS = 28
MODEL_A = ("1714", "1243", "0926", "0138")


def round_ahead() -> RoundDefinition:
    """Round 2016 with every year moved ``YEARS`` ahead (a test fixture: a round yet to come)."""
    text = round_file_path("sio-2016").read_text(encoding="utf-8")
    text = re.sub(r"\b(20[12]\d)(-\d\d)", lambda m: f"{int(m[1]) + YEARS}{m[2]}", text)
    text = re.sub(r"^(\d{4}) = ", lambda m: f"{int(m[1]) + YEARS} = ", text, flags=re.M)
    text = re.sub(r"unit_prices\.(\d{4})\]", lambda m: f"unit_prices.{int(m[1]) + YEARS}]", text)
    text = text.replace("price_base_year = 2016", f"price_base_year = {2016 + YEARS}")
    return parse_round(text.replace('id = "sio-2016"', 'id = "sio-2044"'), "ahead.toml")


@pytest.fixture(scope="module")
def state() -> TrialState:
    round_def = round_ahead()
    registry = shipped_registry()
    decided = date(2044, 1, 14)
    participations = {}
    for knr in MODEL_A:
        start, end, abf = participation_dates(round_def, knr, "A", registry)
        participations[knr] = ParticipationFact(knr, "A", start, end, abf, live_since=None)
    return TrialState(
        round_def,
        registry,
        datetime(2044, 5, 16, 8, tzinfo=OSLO),
        contacts=tuple(
            ContactPerson(knr, role, f"{role}@{knr}.no", role)
            for knr in MODEL_A
            for role in ("contact_person", "project_leader", "chief_executive")
        ),
        decisions={knr: DecisionFact(knr, "selected", "A", "ministry", decided) for knr in MODEL_A},
        signatures={
            (knr, "municipality"): SignatureFact(knr, "municipality", decided, decided, False)
            for knr in MODEL_A
        },
        participations=participations,
        marks=frozenset({"application-window-closed"}),
    )


def test_the_coming_status_meeting_invitations_are_one_dated_run_named_after_them(state):
    runs = dated_runs(state, "ahead.toml", state.as_of, timedelta(weeks=6))
    june = date(2044, 6, 14)  # the 2nd Tuesday of June (seed 000, Bilag 1 row 10)
    invite = datetime.combine(working_days_before(june, 10), time(9, 20), tzinfo=OSLO)
    names = {run.name: run for run in runs}
    name = f"status-meeting invitations · sio-2044 · {invite:%Y-%m-%d %H:%M}"
    assert name in names, sorted(names)
    run = names[name]
    assert run.deployment == "status-meetings/ahead.toml"
    assert run.parameters == {"round_ref": "ahead.toml", "as_of": invite.isoformat()}
    assert run.at == invite
    reminder = datetime.combine(working_days_before(june, 2), time(9, 20), tzinfo=OSLO)
    assert all(r.at <= state.as_of + timedelta(weeks=6) for r in runs)
    assert all(r.at > state.as_of for r in runs)
    # the reminder follows an invitation not yet sent: the calendar does not promise it
    assert reminder not in {r.at for r in runs if r.deployment.startswith("status-meetings")}


def test_creating_the_dated_runs_twice_gives_the_same_keys(state):
    first = dated_runs(state, "ahead.toml", state.as_of)
    second = dated_runs(state, "ahead.toml", state.as_of)
    assert [r.key for r in first] == [r.key for r in second]
    assert len({r.key for r in first}) == len(first) > 0
    assert [r.at for r in first] == sorted(r.at for r in first)


def test_what_was_sent_is_not_promised_again(state):
    from dataclasses import replace

    from sio_domain.next_due import due_at

    first = dated_runs(state, "ahead.toml", state.as_of)[0]
    stage = first.deployment.split("/")[0]
    done = due_at(state, stage, first.at)
    assert done is not None
    after = replace(state, sent_keys=frozenset(done.letters))
    assert first.key not in {r.key for r in dated_runs(after, "ahead.toml", state.as_of)}


def test_a_scheduled_dated_run_the_calendar_no_longer_has_is_stale_only_while_ahead():
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    scheduled = {
        "dated-reminders-r-kept": now + timedelta(days=3),
        "dated-reminders-r-moved": now + timedelta(days=5),
        "dated-reminders-r-starting": now,  # its instant has come: it may be starting
        "dated-reminders-r-late": now - timedelta(minutes=1),
    }
    wanted = {"dated-reminders-r-kept", "dated-reminders-r-new"}
    assert stale_keys(scheduled, wanted, now) == {"dated-reminders-r-moved"}
    assert stale_keys(scheduled, set(scheduled), now) == set()


def test_a_dated_run_beyond_this_reading_s_horizon_is_not_stale():
    """Another ``sio up`` on the same server, its clock a little ahead, made it: this reading
    does not look that far and cannot say it is no longer due."""
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    scheduled = {
        "dated-reminders-r-last": now + HORIZON,
        "dated-reminders-r-beyond": now + HORIZON + timedelta(minutes=5),
    }
    assert stale_keys(scheduled, set(), now) == {"dated-reminders-r-last"}
    assert stale_keys(scheduled, set(), now, horizon=HORIZON * 2) == set(scheduled)
