"""When the deployments run: Europe/Oslo crons, inactive once a round has ended, payout dates."""

from datetime import date, datetime

from deployments.schedules import payout_times, round_is_running, stage_schedules
from sio_domain.norwegian_calendar import OSLO
from tasks.intake.round_files import load_round

R2016 = load_round("sio-2016")


def test_the_reminder_sweep_runs_at_nine_on_weekdays_in_oslo_time():
    [schedule] = stage_schedules("reminders", R2016, date(2016, 1, 4))
    assert schedule.cron == "0 9 * * 1-5" and schedule.timezone == "Europe/Oslo"
    assert schedule.active


def test_stage_runs_are_in_the_morning_and_never_between_two_and_three():
    for stage in ("application-deadline", "selection", "signing", "go-live"):
        [schedule] = stage_schedules(stage, R2016, date(2016, 1, 4))
        minute, hour = (int(part) for part in schedule.cron.split()[:2])
        assert 3 <= hour < 9, stage


def test_stages_that_send_invitations_run_after_the_send_time_so_their_mail_goes_that_day():
    send_at = R2016.reminders.send_at
    for stage in ("reminders", "gatherings", "status-meetings"):
        [schedule] = stage_schedules(stage, R2016, date(2016, 1, 4))
        minute, hour = (int(part) for part in schedule.cron.split()[:2])
        assert (hour, minute) >= (send_at.hour, send_at.minute), stage
        assert hour < 12, stage


def test_an_ended_round_keeps_its_schedules_but_inactive():
    assert round_is_running(R2016, date(2019, 7, 5))  # the last payout run is still to come
    assert not round_is_running(R2016, date(2026, 11, 22))
    [schedule] = stage_schedules("reminders", R2016, date(2026, 11, 22))
    assert not schedule.active


def test_payout_runs_to_come_are_the_plans_fifth_working_days_at_six():
    runs = payout_times(R2016, after=datetime(2019, 1, 1, tzinfo=OSLO))
    assert [label for label, _ in runs] == ["2019Q1", "2019Q2", "2019Q3"]
    assert runs[0][1].isoformat() == "2019-01-08T06:00:00+01:00"
    assert payout_times(R2016, after=datetime(2026, 1, 1, tzinfo=OSLO)) == []
