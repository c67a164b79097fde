"""Replanning decisions change the plan from their decision date on, and only from then."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sio_domain.agendas.invitations import status_meetings_agenda
from sio_domain.norwegian_calendar import OSLO
from sio_domain.plan import build_plan
from sio_domain.replanning import ReplanDecision, ReplanRefused, refuse_unless_valid, round_in_force
from sio_domain.trial_state import Announcement
from tasks.intake.round_files import load_round
from tests.support.trial_states import at, contact, trial_state

R2016 = load_round("sio-2016")
R2021 = load_round("sio-2021")


def go_live_moved(to: date, decided_on: date = date(2016, 3, 1)) -> ReplanDecision:
    return ReplanDecision(
        "move_milestone", decided_on, "system not ready", "directorate", "go_live", to_date=to
    )


def test_moving_go_live_moves_the_meetings_and_the_first_payout_run():
    moved = round_in_force(R2016, [go_live_moved(date(2016, 9, 1))], date(2016, 3, 2))
    plan = build_plan(moved, model="A")
    meetings = [e.day for e in plan if e.kind == "status_meeting"]
    assert meetings[0] == date(2016, 10, 11)  # June → October, second Tuesday
    first_payout = min(e.day for e in plan if e.kind == "payout_run")
    assert first_payout.month == 7  # the quarter of the new go-live (2016Q3)
    assert [e.day for e in plan if e.kind == "abf_start"] == [date(2016, 9, 1)]


def test_a_decision_is_not_known_before_its_decision_date():
    decision = go_live_moved(date(2016, 9, 1), decided_on=date(2016, 3, 1))
    assert round_in_force(R2016, [decision], date(2016, 2, 29)) is R2016


def test_a_move_that_breaks_the_milestone_order_is_refused_in_one_line():
    with pytest.raises(ReplanRefused, match="go_live .* must come after agreement_deadline"):
        refuse_unless_valid(R2016, go_live_moved(date(2016, 1, 20)))


def test_the_2021_early_end_is_unknown_until_the_budget_was_proposed():
    before = round_in_force(R2021, [], date(2021, 10, 11))
    after = round_in_force(R2021, [], date(2021, 10, 12))
    assert before.milestones.early_end is None
    assert after.milestones.effective_end == date(2021, 12, 31)


def test_the_early_end_cancels_the_2022_meetings_already_announced():
    arendal = "0906"
    january = f"sio-2021:status_meeting:A:-:{arendal}:2022-01"
    start = datetime(2022, 1, 11, 10, tzinfo=OSLO)
    announced = Announcement(
        arendal, january, 0, start, start.replace(hour=11, minute=30), "REQUEST", "meeting-k0"
    )
    state = trial_state(
        "sio-2021",
        at(date(2021, 12, 28)),
        contacts=[contact(arendal)],
        selected={arendal: "A"},
        decided_on=date(2020, 12, 15),
        announcements=[announced],
    )
    state = type(state)(
        **{
            **state.__dict__,
            "round_def": round_in_force(state.round_def, [], state.today),
            "original_round": state.round_def,
            "_plans": {},
        }
    )
    letters = [
        letter
        for letter in status_meetings_agenda(state).letters
        if letter.kind.endswith("cancellation")
    ]
    [cancel] = letters
    assert cancel.calendar.method == "CANCEL" and cancel.calendar.sequence == 1
    assert cancel.calendar.event.key == january
    assert not [
        letter
        for letter in status_meetings_agenda(state).letters
        if letter.kind == "meeting_invitation"
    ]


def test_a_cancelled_meeting_is_cancelled_for_that_municipality_only():
    stjordal, os_ = "1714", "1243"
    key = f"sio-2016:status_meeting:A:-:{stjordal}:2016-06"
    start = datetime(2016, 6, 14, 10, tzinfo=OSLO)
    cancel = ReplanDecision(
        "cancel_event", date(2016, 6, 1), "sommerferie", "directorate", key, stjordal
    )
    state = trial_state(
        "sio-2016",
        at(date(2016, 6, 2)),
        contacts=[contact(stjordal), contact(os_)],
        selected={stjordal: "A", os_: "A"},
        decided_on=date(2016, 1, 14),
        announcements=[
            Announcement(
                stjordal, key, 0, start, start.replace(hour=11, minute=30), "REQUEST", "meeting-k0"
            ),
        ],
    )
    state = type(state)(**{**state.__dict__, "replans": (cancel,)})
    letters = status_meetings_agenda(state).letters
    cancellations = [letter for letter in letters if letter.kind == "meeting_cancellation"]
    assert [letter.kommunenummer for letter in cancellations] == [stjordal]
    assert cancellations[0].key.endswith(":1")
