"""When each stage runs (Europe/Oslo). The one place that says *when*.

The lifecycle stages run every working-day morning and do what is due at their instant (the
trial's state is in SQL, so a run that finds nothing due ends in a second). Stages whose mail is
due from the round's send time (09:00: reminders, invitations) run at or just after it. Payout
runs are dated one-off runs on the 5th working day of each quarter (created by ``sio up``, so the
UI shows the trial's calendar).
Schedules of a round that has ended are kept but inactive.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from prefect.schedules import Cron, Schedule

from sio_domain.plan import build_plan
from sio_domain.round_definition import RoundDefinition

TIMEZONE = "Europe/Oslo"

STAGE_TIMES = {
    "application-deadline": time(7, 0),
    "selection": time(7, 10),
    "signing": time(7, 20),
    "go-live": time(7, 40),
}
"""Stages whose letters are due at once (receipts, decisions, agreements, readiness): each runs
every working-day morning after the payout run (06:00), never between 02:00 and 03:00 (the
spring-forward quirk)."""

AFTER_SEND_TIME = {"reminders": 0, "gatherings": 10, "status-meetings": 20}
"""Stages whose mail is due from the round's send time on its working day (09:00): they run that
many minutes after it, so a letter due on a day goes that day — the 10-working-day invitation
exactly 10 working days ahead, never one day late."""


def stage_time(stage: str, round_def: RoundDefinition) -> time:
    """The Europe/Oslo time of day a stage's deployment runs on working days."""
    if stage in STAGE_TIMES:
        return STAGE_TIMES[stage]
    send_at = round_def.reminders.send_at
    moment = datetime.combine(date(2000, 1, 3), send_at) + timedelta(minutes=AFTER_SEND_TIME[stage])
    return moment.time()


def round_is_running(round_def: RoundDefinition, today: date) -> bool:
    """True until a quarter after the round's effective end (the last payout run)."""
    return today <= round_def.milestones.effective_end + timedelta(days=100)


def stage_schedules(stage: str, round_def: RoundDefinition, today: date) -> list[Schedule]:
    """The schedule(s) of one stage's deployment for one round."""
    active = round_is_running(round_def, today)
    if stage in STAGE_TIMES or stage in AFTER_SEND_TIME:
        at = stage_time(stage, round_def)
        return [Cron(f"{at.minute} {at.hour} * * 1-5", timezone=TIMEZONE, active=active)]
    return []


def payout_times(round_def: RoundDefinition, after: datetime) -> list[tuple[str, datetime]]:
    """The round's payout runs still to come: (``YYYYQn``, instant), from the plan."""
    runs = []
    for event in build_plan(round_def):
        if event.kind == "payout_run" and isinstance(event.start, datetime):
            if event.start > after:
                runs.append((event.title.rsplit(" ", 1)[1], event.start))
    return runs
