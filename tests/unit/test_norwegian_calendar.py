"""The working-day calendar: holidays, rolled deadlines, reminder offsets, DST offsets."""

from datetime import date, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sio_domain.norwegian_calendar import (
    effective_deadline,
    is_public_holiday,
    is_working_day,
    meeting_day,
    nth_working_day_of_month,
    oslo_datetime,
    working_days_before,
)

days = st.dates(min_value=date(2010, 1, 1), max_value=date(2035, 12, 31))


def test_public_holidays_of_2016_are_the_norwegian_ones():
    for holiday in [
        "2016-01-01",
        "2016-03-24",
        "2016-03-25",
        "2016-03-27",
        "2016-03-28",
        "2016-05-01",
        "2016-05-05",
        "2016-05-15",
        "2016-05-16",
        "2016-05-17",
        "2016-12-25",
        "2016-12-26",
    ]:
        assert is_public_holiday(date.fromisoformat(holiday)), holiday


def test_christmas_eve_and_new_years_eve_are_working_days():
    assert is_working_day(date(2020, 12, 24))
    assert is_working_day(date(2020, 12, 31))


def test_go_live_2016_is_a_sunday_holiday_and_not_a_working_day():
    assert not is_working_day(date(2016, 5, 1))


def test_deadline_on_easter_sunday_rolls_past_easter_monday():
    assert effective_deadline(date(2018, 4, 1)) == date(2018, 4, 3)


def test_deadline_on_a_saturday_rolls_to_monday():
    assert effective_deadline(date(2017, 4, 1)) == date(2017, 4, 3)


def test_deadline_on_a_working_day_stays():
    assert effective_deadline(date(2015, 12, 1)) == date(2015, 12, 1)


@given(days)
def test_a_rolled_deadline_is_a_working_day_never_early_and_at_most_a_few_days_late(nominal):
    effective = effective_deadline(nominal)
    assert is_working_day(effective)
    assert nominal <= effective <= nominal + timedelta(days=6)
    if is_working_day(nominal):
        assert effective == nominal


@given(days, st.integers(min_value=1, max_value=20))
def test_reminder_offsets_count_working_days_backwards(deadline, count):
    reminder = working_days_before(deadline, count)
    assert is_working_day(reminder)
    assert reminder < deadline
    between = [reminder + timedelta(days=i) for i in range(1, (deadline - reminder).days)]
    assert sum(is_working_day(d) for d in between) == count - 1


def test_fourteen_working_days_before_the_2016_agreement_deadline():
    # 01.02.2016 (Monday): 14 working days back is 13.01.2016 (no holidays in between).
    assert working_days_before(date(2016, 2, 1), 14) == date(2016, 1, 12)
    assert working_days_before(date(2016, 2, 1), 1) == date(2016, 1, 29)


def test_a_second_tuesday_on_a_holiday_moves_to_the_next_working_day():
    # The 3rd Tuesday of May 2016 is 17 May (Constitution Day): the meeting moves to Wednesday.
    assert meeting_day(2016, 5, "tuesday", 3) == date(2016, 5, 18)
    assert meeting_day(2016, 6, "tuesday", 2) == date(2016, 6, 14)


def test_fifth_working_day_of_april_2016_skips_the_weekend():
    assert nth_working_day_of_month(2016, 4, 5) == date(2016, 4, 7)
    assert nth_working_day_of_month(2019, 1, 5) == date(2019, 1, 8)


def test_oslo_offsets_follow_daylight_saving_time():
    assert oslo_datetime(date(2016, 3, 26), time(9)).isoformat() == "2016-03-26T09:00:00+01:00"
    assert oslo_datetime(date(2016, 3, 28), time(9)).isoformat() == "2016-03-28T09:00:00+02:00"
    assert oslo_datetime(date(2016, 10, 31), time(9)).isoformat() == "2016-10-31T09:00:00+01:00"
