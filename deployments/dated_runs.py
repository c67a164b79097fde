"""Dated runs for what is due in the coming weeks: the UI's upcoming runs are the trial's calendar.

``sio up`` serves every stage as a daily deployment (the safety net); on top of that it creates
one dated flow run per stage run that the next-due calendar (``sio_domain.next_due``) says will
have something to do, named after what it will do — ``status-meeting invitations · sio-2016 ·
2016-05-31 09:20`` — and keyed by stage, round and instant, so creating them again (every start of
``sio up``) adds nothing. A daily run at the same instant finds the work done and ends at once.

A running ``sio up`` reads the calendar again every ``SIO_DATED_RUNS_REFRESH_MINUTES`` (60): the
horizon moves forward with the days, a replanned event gets its run at the new instant, and a
scheduled run the calendar no longer has (moved, cancelled, or nothing left to send) is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sio_domain.next_due import due_runs
from sio_domain.norwegian_calendar import OSLO
from sio_domain.round_definition import RoundDefinition
from sio_domain.stage_times import stage_schedule
from sio_domain.trial_state import TrialState

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

HORIZON = timedelta(weeks=6)
"""How far ahead dated runs are created."""

LABELS = {
    "application_received": "application receipts",
    "application_reminder": "application reminders",
    "decision_offer": "decision letters",
    "decision_rejection": "decision letters",
    "agreement": "agreements",
    "agreement_reminder": "agreement reminders",
    "reply_reminder": "reply reminders",
    "activity_reminder": "activity reminders",
    "report_reminder": "annual report reminders",
    "gathering_invitation": "gathering invitations",
    "gathering_reminder": "gathering reminders",
    "meeting_invitation": "status-meeting invitations",
    "meeting_reminder": "status-meeting reminders",
    "readiness_alert": "readiness alerts",
}
"""What a run will send, by letter kind, for its name (staff read the UI in English names)."""


@dataclass(frozen=True)
class DatedRun:
    """One flow run to create: its deployment, parameters, instant, name and idempotency key."""

    deployment: str
    parameters: dict[str, str]
    at: datetime
    name: str
    key: str


def dated_runs(
    state: TrialState,
    round_ref: str,
    after: datetime,
    horizon: timedelta = HORIZON,
    *,
    deployment: str | None = None,
) -> list[DatedRun]:
    """The stage runs with work in ``(after, after + horizon]``, on what ``state`` knows.

    ``deployment`` is the name of the round's deployments (its id; default ``round_ref``).
    """
    round_def: RoundDefinition = state.round_def
    result = []
    for run in due_runs(state, after, after + horizon, stage_schedule(round_def)):
        kinds = sorted({LABELS.get(kind, kind.replace("_", " ")) for kind in run.kinds})
        what = ", ".join(kinds) if kinds else run.stage
        local = run.at.astimezone(OSLO)
        result.append(
            DatedRun(
                deployment=f"{run.stage}/{deployment or round_ref}",
                parameters={"round_ref": round_ref, "as_of": local.isoformat()},
                at=run.at,
                name=f"{what} · {round_def.id} · {local:%Y-%m-%d %H:%M}",
                key=f"dated-{run.stage}-{round_def.id}-{local.isoformat()}",
            )
        )
    return result


@dataclass(frozen=True)
class CalendarRefresh:
    """What one reading of the calendar changed among the dated runs in Prefect."""

    wanted: int
    """Dated runs the calendar has in the horizon (each created once, by its key)."""
    withdrawn: int
    """Scheduled dated runs deleted because the calendar no longer has them."""


def stale_keys(
    scheduled: Mapping[str, datetime],
    wanted: set[str],
    after: datetime,
    horizon: timedelta = HORIZON,
) -> set[str]:
    """The keys of scheduled dated runs in ``(after, after + horizon]`` the calendar no longer has.

    A plan moved by replanning, or a letter no longer due (a signature came in), leaves its
    dated run behind at the old instant: it would run, find nothing and mislead the calendar. A
    run whose instant has come is left to run (it may be starting), and so is one beyond this
    reading's horizon: a reading with a later clock made it (another ``sio up`` on the same
    server), and this reading cannot tell whether it is due.
    """
    until = after + horizon
    return {key for key, at in scheduled.items() if after < at <= until and key not in wanted}


PAGE = 200
"""Flow runs per request: the Prefect API's own default limit (``PREFECT_API_DEFAULT_LIMIT``)."""


def scheduled_dated_runs(client: SyncPrefectClient, deployment: str) -> dict[str, FlowRun]:
    """The scheduled dated runs (idempotency key ``dated-…``) of the deployments named
    ``deployment`` (a round's), by key.

    Read page by page: the round's daily schedules keep far more than one page of runs
    scheduled ahead (about 70 per stage), and a dated run left out would never be withdrawn.
    """
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    ours: dict[str, FlowRun] = {}
    offset = 0
    while True:
        page = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
            sort=FlowRunSort.ID_DESC,  # a total order: pages neither overlap nor skip
            limit=PAGE,
            offset=offset,
        )
        for run in page:
            if run.idempotency_key and run.idempotency_key.startswith("dated-"):
                ours[run.idempotency_key] = run
        if len(page) < PAGE:
            return ours
        offset += PAGE


def schedule_dated_runs(after: datetime, database_url: str | None = None) -> CalendarRefresh:
    """Create the dated runs of every served round still running (same key → created once) and
    delete the scheduled ones the calendar no longer has, so a new reading of the same key
    (the plan moved back) can create its run again."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    from deployments.schedules import round_is_running
    from deployments.served_rounds import served_rounds
    from deployments.settings import load_settings
    from tasks.storage.unit_of_work import unit_of_work

    settings = load_settings()
    database_url = database_url or settings.resolved_database_url
    wanted = 0
    withdrawn = 0
    with get_client(sync_client=True) as client:
        for served in served_rounds(settings.home):
            round_def = served.round_def
            runs: list[DatedRun] = []
            if round_is_running(round_def, after.astimezone(OSLO).date()):
                with unit_of_work(database_url) as uow:
                    state = uow.state(round_def, after)
                runs = dated_runs(state, served.ref, after, deployment=round_def.id)
            for run in runs:
                run_deployment(
                    run.deployment,
                    parameters=run.parameters,
                    scheduled_time=run.at,
                    flow_run_name=run.name,
                    idempotency_key=run.key,
                    timeout=0,
                )
                wanted += 1
            # the round's deployments are named after it: these are its dated runs
            ours = scheduled_dated_runs(client, round_def.id)
            instants = {
                key: run.expected_start_time for key, run in ours.items() if run.expected_start_time
            }
            for key in stale_keys(instants, {run.key for run in runs}, after):
                try:
                    client.delete_flow_run(ours[key].id)
                except ObjectNotFound:
                    continue  # withdrawn meanwhile (another `sio up` on the same server)
                withdrawn += 1
    return CalendarRefresh(wanted=wanted, withdrawn=withdrawn)
