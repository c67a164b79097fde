"""The simulation through the real Prefect flows (``sio simulate --prefect``).

The same loop as the in-process simulation (``tasks.runs.simulation``), but every stage run is the
stage's flow (``flows.lifecycle``, ``flows.selection``) and every payout run the ``payout`` flow,
called with the round and the instant as their deployments call them, so the Prefect UI holds the
round's runs and artifacts. Runs report to the server in ``PREFECT_API_URL``, else to Prefect's
temporary local server under the simulation's own folder. The flows read their settings from the
environment: for the simulation's duration it points at the simulation's temporary database and
``.eml`` outbox, and is restored afterwards.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from sio_domain.round_definition import RoundDefinition
from sio_domain.scenario import Scenario
from tasks.runs.simulation import STAFF_ADDRESS, SimulationResult, simulate

OUTSIDE = (
    "SIO_DATABASE_URL",
    "SIO_SMTP_HOST",
    "SIO_SMTP_PORT",
    "SIO_SMTP_USER",
    "SIO_SMTP_PASSWORD",
    "SIO_SMTP_STARTTLS",
    "SIO_MAIL_FROM",
    "SIO_STAFF_EMAIL",
    "SIO_HOME",
)


def simulate_through_prefect(
    round_def: RoundDefinition,
    scenario: Scenario,
    *,
    round_ref: str,
    until: date,
    municipalities: int | None = None,
    origin: str = "scenario",
) -> SimulationResult:
    """Simulate ``round_def`` with each run a Prefect flow run; the same summary as in process."""
    with tempfile.TemporaryDirectory(prefix="sio-simulate-") as folder:
        home = Path(folder)
        with _environment(home):
            from deployments.settings import load_settings
            from sio_cli.prefect_environment import configure, quick_runs

            configure(load_settings())
            url = load_settings().resolved_database_url
            from prefect import tags

            from flows.catalogue import flow_named

            def stage(name: str, at: datetime) -> None:
                flow_named(name)(round_ref=round_ref, as_of=at.isoformat())

            def payout(label: str, at: datetime) -> None:
                # The flow computes the proposal; the simulated staff approve it, as on the CLI.
                from tasks.runs.simulation import approve_simulated_run

                flow_named("payout")(round_ref=round_ref, run=label, as_of=at.isoformat())
                approve_simulated_run(round_def, label, database_url=url, at=at)

            with quick_runs(), tags(f"round:{round_def.id}", "simulation"):
                return simulate(
                    round_def,
                    scenario,
                    until=until,
                    municipalities=municipalities,
                    origin=origin,
                    workdir=home,
                    stage_runner=stage,
                    payout_runner=payout,
                )


@contextmanager
def _environment(home: Path) -> Iterator[None]:
    timeout = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
    saved = {name: os.environ.get(name) for name in (*OUTSIDE, "PREFECT_HOME", timeout)}
    for name in OUTSIDE:
        os.environ.pop(name, None)
    os.environ["SIO_HOME"] = str(home)
    os.environ["SIO_DATABASE_URL"] = f"sqlite:///{home / 'sio.db'}"
    os.environ["SIO_STAFF_EMAIL"] = STAFF_ADDRESS
    os.environ.setdefault(timeout, "120")  # a busy machine starts the temporary server slowly
    try:
        yield
    except RuntimeError as error:  # Prefect's "could not connect" and the like: one line
        raise OSError(f"--prefect: {error}") from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
