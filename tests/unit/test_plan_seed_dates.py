"""The plan reproduces every date in the seeds (seed 004, 000, 001, 002)."""

from datetime import date, datetime

import pytest

from sio_domain.norwegian_calendar import is_working_day
from sio_domain.plan import PlanEvent, PlanOverrides, build_plan
from tasks.intake.round_files import load_round

R2016 = load_round("sio-2016")
R2019 = load_round("sio-2019")
R2021 = load_round("sio-2021")


def _one(events: list[PlanEvent], kind: str) -> PlanEvent:
    found = [e for e in events if e.kind == kind]
    assert len(found) == 1, (kind, found)
    return found[0]


def _months(events: list[PlanEvent], kind: str = "status_meeting") -> list[str]:
    return [e.day.strftime("%Y-%m") for e in events if e.kind == kind]


@pytest.fixture(scope="module")
def plan_a():
    return build_plan(R2016, model="A")


@pytest.fixture(scope="module")
def plan_b():
    return build_plan(R2016, model="B")


def test_round_2016_deadlines_are_the_seeds(plan_a):
    assert _one(plan_a, "invitation").start == date(2015, 6, 30)
    application = _one(plan_a, "application_deadline")
    assert (application.start, application.nominal) == (date(2015, 12, 1), date(2015, 12, 1))
    assert _one(plan_a, "selection_deadline").start == date(2016, 1, 15)
    agreement = _one(plan_a, "agreement_deadline")
    assert (agreement.start, agreement.nominal) == (date(2016, 2, 1), date(2016, 2, 1))
    assert agreement.responsible == "municipality"


def test_round_2016_model_a_gatherings_are_two_days_in_march_and_april(plan_a):
    two_day = [(e.start, e.end) for e in plan_a if e.kind == "gathering" and e.start != e.end]
    assert two_day == [(date(2016, 3, 8), date(2016, 3, 9)), (date(2016, 4, 12), date(2016, 4, 13))]
    contact = [e for e in plan_a if e.kind == "gathering" and "kontaktpersoner" in e.title]
    assert len(contact) == 1 and not contact[0].firm
    assert contact[0].source == "seed 000, Bilag 1 model A row 5"


def test_round_2016_go_live_is_1_may_2016_and_not_moved(plan_a):
    go_live = _one(plan_a, "go_live")
    assert go_live.start == date(2016, 5, 1) and go_live.nominal is None
    assert _one(plan_a, "abf_start").start == date(2016, 5, 1)


def test_round_2016_model_a_status_meetings_follow_rows_10_and_11(plan_a):
    assert _months(plan_a) == [
        "2016-06",
        "2016-07",
        "2016-08",
        "2016-09",
        "2016-11",
        "2017-01",
        "2017-04",
        "2017-07",
        "2017-10",
        "2018-01",
        "2018-04",
        "2018-07",
        "2018-10",
        "2019-01",
        "2019-04",
        "2019-07",
    ]
    meetings = [e for e in plan_a if e.kind == "status_meeting"]
    assert all(not e.firm and e.responsible == "directorate" for e in meetings)
    assert all(is_working_day(e.day) for e in meetings)
    first = meetings[0]
    assert first.start.isoformat() == "2016-06-14T10:00:00+02:00"
    assert first.end.isoformat() == "2016-06-14T11:30:00+02:00"
    assert meetings[4].start.isoformat() == "2016-11-08T10:00:00+01:00"
    assert meetings[0].source == "seed 000, Bilag 1 model A row 10"
    assert meetings[-1].source == "seed 000, Bilag 1 model A row 11"


def test_round_2016_model_b_has_its_four_status_meetings(plan_b):
    assert _months(plan_b) == ["2016-11", "2017-05", "2018-05", "2019-05"]
    assert all(e.model == "B" for e in plan_b if e.kind == "status_meeting")
    assert not any(e.kind == "abf_start" for e in plan_b)


def test_round_2016_bilag_1_activities_keep_their_end_dates(plan_a, plan_b):
    ict_a = [e for e in plan_a if e.kind == "activity" and e.source.endswith("row 3")][0]
    assert (ict_a.start, ict_a.end) == (date(2016, 3, 1), date(2016, 5, 1))  # a holiday, not moved
    rows_a = sorted(e.source.rsplit(" ", 1)[1] for e in plan_a if e.kind == "activity")
    assert rows_a == ["1", "2", "3", "4", "8"]
    start_up_b = [e for e in plan_b if e.kind == "activity" and "row 9" in e.source][0]
    assert (start_up_b.start, start_up_b.end) == (date(2016, 2, 1), date(2016, 3, 15))


def test_round_2016_ends_30_april_2019(plan_a):
    assert _one(plan_a, "trial_end").start == date(2019, 4, 30)


def test_network_gatherings_are_marked_not_firm(plan_a, plan_b):
    for plan in (plan_a, plan_b):
        network = [e for e in plan if e.kind == "network_gathering"]
        assert network and all(not e.firm for e in network)


def test_report_deadlines_roll_off_weekends_and_easter(plan_a):
    reports = {e.nominal: e.start for e in plan_a if e.kind == "report_deadline"}
    assert reports[date(2017, 4, 1)] == date(2017, 4, 3)  # Saturday
    assert reports[date(2018, 4, 1)] == date(2018, 4, 3)  # Easter Sunday, then Easter Monday


def test_payout_runs_are_on_the_fifth_working_day_at_six(plan_a):
    runs = [e for e in plan_a if e.kind == "payout_run"]
    assert runs[0].start.isoformat() == "2016-04-07T06:00:00+02:00"
    assert runs[-1].title.endswith("2019Q3")
    assert all(is_working_day(e.day) for e in runs)


def test_events_are_in_date_order_and_carry_a_source(plan_a):
    assert [e.day for e in plan_a] == sorted(e.day for e in plan_a)
    assert all(e.source for e in plan_a)


def test_a_deadline_placed_on_a_holiday_moves_and_keeps_its_nominal_date():
    moved = R2016.model_copy(
        update={
            "milestones": R2016.milestones.model_copy(
                update={
                    "agreement_deadline": R2016.milestones.agreement_deadline.model_copy(
                        update={"date": date(2016, 3, 25)}
                    )
                }
            )
        }  # Good Friday
    )
    agreement = _one(build_plan(moved, model="A"), "agreement_deadline")
    assert agreement.nominal == date(2016, 3, 25)
    assert agreement.start == date(2016, 3, 29)  # after Easter Monday


def test_a_moved_status_meeting_is_firm_for_that_municipality_only():
    agreed = datetime.fromisoformat("2016-06-16T13:00:00+02:00")
    events = build_plan(
        R2016,
        model="A",
        municipality="1714",
        overrides=PlanOverrides(status_meetings={"2016-06": agreed}),
    )
    june = [e for e in events if e.kind == "status_meeting"][0]
    assert june.start == agreed and june.firm and june.municipality == "1714"
    assert june.end.isoformat() == "2016-06-16T14:30:00+02:00"


def test_round_2016_needs_a_model_for_a_municipality_not_yet_selected():
    with pytest.raises(ValueError, match="--model"):
        build_plan(R2016, municipality="1714")


def test_round_2019_application_deadline_and_cohort_starts():
    events = build_plan(R2019)
    assert _one(events, "application_deadline").start == date(2018, 12, 31)
    starts = {e.start for e in events if e.kind == "participation_start"}
    assert starts == {date(2019, 7, 1)}
    assert _one(events, "go_live").start == date(2019, 5, 1)
    assert {e.start for e in events if e.kind == "abf_start"} == {
        date(2019, 5, 1),
        date(2020, 1, 1),
    }


def test_round_2019_indre_ostfold_has_its_postponed_abf_start():
    events = build_plan(R2019, municipality="3014", held_numbers=["0122", "3014"])
    assert _one(events, "abf_start").start == date(2021, 1, 1)


def test_round_2019_selbu_starts_1_july_2019_with_abf_from_2020():
    events = build_plan(R2019, municipality="5032")
    assert _one(events, "participation_start").start == date(2019, 7, 1)
    assert not any(e.kind == "go_live" for e in events)
    assert _one(events, "abf_start").start == date(2020, 1, 1)
    assert _months(events)[:5] == ["2019-08", "2019-09", "2019-10", "2019-11", "2019-12"]


def test_round_2019_ended_early_on_31_december_2021():
    events = build_plan(R2019)
    assert _one(events, "trial_end").start == date(2021, 12, 31)
    assert max(_months(events)) <= "2021-12"


def test_round_2019_has_no_model_b():
    with pytest.raises(ValueError, match="has no model B"):
        build_plan(R2019, model="B")


def test_round_2021_info_meeting_reply_deadline_and_abf_start():
    events = build_plan(R2021)
    info = _one(events, "info_meeting")
    assert info.start.isoformat() == "2020-11-18T12:30:00+01:00"
    assert info.end.isoformat() == "2020-11-18T14:30:00+01:00"
    assert _one(events, "reply_deadline").start == date(2020, 12, 31)
    assert _one(events, "go_live").start == date(2021, 1, 1)
    assert _one(events, "abf_start").start == date(2021, 7, 1)
    assert _months(events)[:6] == ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05", "2021-06"]
