"""When each stage runs (Europe/Oslo). The one place that says *when*.

The lifecycle stages run every working-day morning and do what is due at their instant (the
trial's state is in SQL, so a run that finds nothing due ends in a second). The reminder sweep runs
at the round's send time (09:00). Payout runs are dated one-off runs on the 5th working day of each
quarter (created by ``sio up``, so the UI shows the trial's calendar; PREFECT-NOTES.md).
Schedules of a round that has ended are kept but inactive.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from prefect.schedules import Cron, Schedule

from sio_domain.plan import build_plan
from sio_domain.round_definition import RoundDefinition

TIMEZONE = "Europe/Oslo"

STAGE_TIMES = {
    "application-deadline": "0 7",
    "selection": "10 7",
    "signing": "20 7",
    "gatherings": "30 7",
    "go-live": "40 7",
    "status-meetings": "50 7",
}
"""Minute and hour of each stage's working-day run: after the payout run (06:00), before the
reminder sweep (09:00), never between 02:00 and 03:00 (the spring-forward quirk)."""


def round_is_running(round_def: RoundDefinition, today: date) -> bool:
    """True until a quarter after the round's effective end (the last payout run)."""
    return today <= round_def.milestones.effective_end + timedelta(days=100)


def stage_schedules(stage: str, round_def: RoundDefinition, today: date) -> list[Schedule]:
    """The schedule(s) of one stage's deployment for one round."""
    active = round_is_running(round_def, today)
    if stage == "reminders":
        at = round_def.reminders.send_at
        return [Cron(f"{at.minute} {at.hour} * * 1-5", timezone=TIMEZONE, active=active)]
    if stage in STAGE_TIMES:
        return [Cron(f"{STAGE_TIMES[stage]} * * 1-5", timezone=TIMEZONE, active=active)]
    return []


def payout_times(round_def: RoundDefinition, after: datetime) -> list[tuple[str, datetime]]:
    """The round's payout runs still to come: (``YYYYQn``, instant), from the plan."""
    runs = []
    for event in build_plan(round_def):
        if event.kind == "payout_run" and isinstance(event.start, datetime):
            if event.start > after:
                runs.append((event.title.rsplit(" ", 1)[1], event.start))
    return runs
