"""Where things run: every stage of every shipped round as a deployment served from this process.

``sio up`` starts a local Prefect server (UI on 127.0.0.1:4200, its own SQLite under SIO_HOME,
separate from the application database — PREFECT-NOTES.md) and serves these deployments with their
schedules until stopped. To scale out, point PREFECT_API_URL at a shared server and run the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from deployments.settings import Settings

SERVER_START_TIMEOUT = 120


class ServerStartError(OSError):
    """The Prefect server could not be started; the message says why and where its log is."""


def ensure_port_free(host: str, port: int) -> None:
    """Refuse early, naming the option, when something already listens on the address."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise ServerStartError(
                f"--port: {host}:{port} is already in use (another sio up or Prefect server?); "
                "choose another with --port"
            ) from None


def prefect_environment(settings: Settings, host: str, port: int) -> dict[str, str]:
    """Environment for the Prefect server and its clients: own home, own database, local URL."""
    home = settings.home / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://{host}:{port}/api",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://{host}:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
    }


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``prefect server start`` in a child process; returns once its API answers."""
    handle = log.open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            env["PREFECT_SERVER_API_HOST"],
            "--port",
            env["PREFECT_SERVER_API_PORT"],
        ],
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Its own session: Ctrl-C reaches only `sio up`, which stops serving (pausing the
        # schedules through the still-running API) and then terminates the server itself.
        start_new_session=True,
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    health = env["PREFECT_API_URL"] + "/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the Prefect server stopped at start; see {log}")
        try:
            with urllib.request.urlopen(health, timeout=2) as answer:  # noqa: S310 (localhost)
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise ServerStartError(
        f"the Prefect server did not answer within {SERVER_START_TIMEOUT} s; see {log}"
    )


def build_deployments(today: datetime) -> list[Any]:
    """One deployment per stage and shipped round, with its schedules."""
    from deployments.schedules import stage_schedules
    from flows.catalogue import FLOW_NAMES, flow_named
    from tasks.round_files import load_round, shipped_round_ids

    result = []
    for round_id in shipped_round_ids():
        round_def = load_round(round_id)
        for stage in FLOW_NAMES:
            result.append(
                flow_named(stage).to_deployment(
                    name=round_id,
                    parameters={"round_ref": round_id},
                    schedules=stage_schedules(stage, round_def, today.date()),
                    tags=[f"round:{round_id}", f"stage:{stage}"],
                    description=f"{stage} for {round_def.title}",
                )
            )
    from deployments.staff_deployments import staff_deployments

    return result + staff_deployments()


def schedule_payout_runs(after: datetime) -> int:
    """Dated one-off payout runs for the quarters to come (same key → same run: created once)."""
    from prefect.deployments import run_deployment

    from deployments.schedules import payout_times
    from tasks.round_files import load_round, shipped_round_ids

    created = 0
    for round_id in shipped_round_ids():
        for label, at in payout_times(load_round(round_id), after)[:8]:
            run_deployment(
                f"payout/{round_id}",
                parameters={"round_ref": round_id, "run": label},
                scheduled_time=at,
                idempotency_key=f"payout-{round_id}-{label}",
                timeout=0,
            )
            created += 1
    return created
