"""``sio up`` finds every scheduled dated run of a round, however many runs its daily schedules
keep ahead: a dated run it did not see would never be withdrawn.

On a real Prefect server (the session's): a round's deployment with more scheduled runs than the
API returns in one answer (its default limit is 200; a round's daily schedules keep about 70 per
stage ahead), a few of them dated runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from deployments.dated_runs import PAGE, scheduled_dated_runs


@pytest.fixture
def client(prefect_api_url: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api_url}):
        with get_client(sync_client=True) as prefect:
            yield prefect


def test_every_scheduled_dated_run_of_a_round_is_found_beyond_one_page(client):
    from prefect.states import Scheduled

    round_id = f"sio-paging-{uuid.uuid4().hex[:8]}"
    flow_id = client.create_flow_from_name("reminders")
    deployment = client.create_deployment(flow_id=flow_id, name=round_id)
    other = client.create_deployment(flow_id=flow_id, name=f"{round_id}-b")  # a prefix of it
    start = datetime.now(UTC) + timedelta(days=1)
    dated = set()
    for hour in range(PAGE + 60):
        key = f"dated-reminders-{round_id}-{hour}" if hour % 20 == 0 else None
        client.create_flow_run_from_deployment(
            deployment, state=Scheduled(scheduled_time=start + timedelta(hours=hour)),
            idempotency_key=key,
        )  # fmt: skip
        if key:
            dated.add(key)
    client.create_flow_run_from_deployment(
        other, state=Scheduled(scheduled_time=start), idempotency_key=f"dated-x-{round_id}-b"
    )

    found = scheduled_dated_runs(client, round_id)
    assert set(found) == dated
    assert {run.deployment_id for run in found.values()} == {deployment}
