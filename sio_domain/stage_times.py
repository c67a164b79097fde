"""When each stage runs on a working day (Europe/Oslo), as the shipped schedules run it.

The pure part of the deployments' schedules, for the next-due calendar and the simulation: the
stages whose letters are due at once run every weekday morning from 07:00, after the payout run
(06:00); the stages whose mail is due from the round's send time (09:00, design decision D) run at
or just after it, so a letter due on a day goes that day. The crons run Monday to Friday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sio_domain.plan import build_plan
from sio_domain.round_definition import RoundDefinition

STAGE_TIMES = {
    "application-deadline": time(7, 0),
    "selection": time(7, 10),
    "signing": time(7, 20),
    "go-live": time(7, 40),
}
"""Stages whose letters are due at once: their time of day."""

AFTER_SEND_TIME = {"reminders": 0, "gatherings": 10, "status-meetings": 20}
"""Stages whose mail is due from the send time: minutes after it."""


def stage_time(stage: str, round_def: RoundDefinition) -> time:
    """The Europe/Oslo time of day a stage's deployment runs on weekdays."""
    if stage in STAGE_TIMES:
        return STAGE_TIMES[stage]
    send_at = round_def.reminders.send_at
    moment = datetime.combine(date(2000, 1, 3), send_at) + timedelta(minutes=AFTER_SEND_TIME[stage])
    return moment.time()


def stage_schedule(round_def: RoundDefinition) -> dict[str, time]:
    """Every lifecycle stage → its time of day."""
    return {stage: stage_time(stage, round_def) for stage in (*STAGE_TIMES, *AFTER_SEND_TIME)}


def payout_instants(round_def: RoundDefinition, after: datetime) -> list[tuple[str, datetime]]:
    """The round's payout runs after ``after``: (``YYYYQn``, instant), from the plan (seed 004:
    quarterly; D: the 5th working day of the quarter, 06:00)."""
    runs = []
    for event in build_plan(round_def):
        if event.kind == "payout_run" and isinstance(event.start, datetime):
            if event.start > after:
                runs.append((event.title.rsplit(" ", 1)[1], event.start))
    return runs
