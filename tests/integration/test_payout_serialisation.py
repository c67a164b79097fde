"""One payout at a time: the database lock shared by the CLI and the flows, and the deployment's
concurrency limit (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sio_domain.norwegian_calendar import OSLO
from tasks.payouts import payout_queries
from tasks.payouts.payout_engine import PayoutResult, run_payout
from tasks.storage.database import session_for
from tests.integration import test_payout
from tests.integration.test_payout import Trial, run_instant, stjordal_2016

db = test_payout.db


def test_a_run_waits_while_another_holds_the_rounds_lock(db: Trial) -> None:
    """Whoever comes second waits for the first to commit, then sees what it wrote."""
    stjordal_2016(db)
    results: list[PayoutResult] = []
    second = threading.Thread(
        target=lambda: results.append(
            run_payout("sio-2016", "2016Q3", database_url=db.url, as_of=run_instant("2016Q3"))
        )
    )
    with session_for(db.url) as first:
        payout_queries.lock_round(first, "sio-2016")
        second.start()
        time.sleep(1.0)
        assert second.is_alive() and results == []  # blocked behind the first holder
        first.commit()
    second.join(timeout=30)
    assert [result.status for result in results] == ["awaiting_approval"]


def test_the_payout_deployments_run_one_at_a_time() -> None:
    from deployments.serving import build_deployments

    deployments = build_deployments(datetime(2026, 1, 5, tzinfo=OSLO))
    limits = {d.name: d.concurrency_limit for d in deployments if d.flow_name == "payout"}
    assert limits and set(limits.values()) == {1}
    others = {d.concurrency_limit for d in deployments if d.flow_name != "payout"}
    assert others == {None}
