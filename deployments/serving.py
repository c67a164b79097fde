"""Where things run: every stage of every shipped round as a deployment served from this process.

``sio up`` starts a local Prefect server (UI on 127.0.0.1:4200, its own SQLite under SIO_HOME,
separate from the application database — and serves these deployments with their
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
HEARTBEAT_SECONDS = 60  # Prefect's minimum is 30; a killed run is crashed after 3 missed beats
ZOMBIE_AUTOMATION = "sio: mark flow runs without heartbeat crashed"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServerStartError(OSError):
    """The Prefect server could not be started; the message says why and where its log is."""


def ensure_port_free(host: str, port: int) -> None:
    """Refuse early, naming the option, when something already listens on the address."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # SO_REUSEADDR: a port whose last connections linger in TIME-WAIT (a `sio up` stopped a
        # moment ago) is free for a listening server, and the server itself binds with it too.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ServerStartError(
                f"--port: {host}:{port} is already in use (another sio up or Prefect server?); "
                "choose another with --port"
            ) from None


def is_local(host: str) -> bool:
    """Only this machine can reach a server bound to ``host``."""
    return host in LOCAL_HOSTS or host.startswith("127.")


def ensure_safe_binding(host: str, settings: Settings) -> None:
    """Refuse to offer the API and UI beyond this machine without authentication.

    Anyone who reaches an unauthenticated Prefect API can start payout runs and read every
    parameter; so ``--host`` other than localhost needs ``SIO_API_AUTH=user:password``.
    """
    if not is_local(host) and settings.api_auth is None:
        raise ServerStartError(
            f"--host {host}: refusing to serve the Prefect API and UI beyond this machine without "
            "authentication; set SIO_API_AUTH=user:password (and use TLS in front of it)"
        )


def prefect_environment(settings: Settings, host: str, port: int) -> dict[str, str]:
    """Environment for the Prefect server and its clients: own home, own database, local URL.

    With ``SIO_API_AUTH`` the server requires HTTP Basic authentication
    (``PREFECT_SERVER_API_AUTH_STRING``) and this process's clients send it
    (``PREFECT_API_AUTH_STRING``). Served flow runs send a heartbeat every
    ``HEARTBEAT_SECONDS`` (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``) so a killed run can be
    marked crashed (`ensure_zombie_automation`).
    """
    home = settings.home / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    client_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    auth: dict[str, str] = {}
    if settings.api_auth is not None:
        secret = settings.api_auth.get_secret_value()
        auth = {"PREFECT_SERVER_API_AUTH_STRING": secret, "PREFECT_API_AUTH_STRING": secret}
    return auth | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://{client_host}:{port}/api",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://{host}:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
    }


def ensure_zombie_automation() -> bool:
    """Create, once, the automation that marks a flow run crashed when its heartbeats stop.

    A run killed with ``kill -9`` (or whose machine died) cannot report its own end and would
    stay *Running* forever; Prefect's proactive trigger fires when no heartbeat, and no final
    state, followed the last heartbeat within three heartbeat periods. A run that suspends or
    pauses for staff input (the selection, a payout approval) stops its heartbeats on purpose:
    its *Suspended*/*Paused* event closes the window, and its next heartbeat after resuming opens
    a new one. An automation created by an older version without those events is brought up to
    date. Returns True if created or updated.
    """
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    wanted = Automation(
        name=ZOMBIE_AUTOMATION,
        description="A served flow run stopped sending heartbeats (killed): mark it crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
                "prefect.flow-run.Suspended",
                "prefect.flow-run.Paused",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=3 * HEARTBEAT_SECONDS),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {3 * HEARTBEAT_SECONDS} s: the run was killed",
            )
        ],
    )
    try:
        existing = Automation.read(name=ZOMBIE_AUTOMATION)  # type: ignore[unused-coroutine]
    except ValueError:
        wanted.create()
        return True
    if existing.trigger == wanted.trigger and existing.actions == wanted.actions:  # type: ignore[attr-defined]
        return False
    wanted.id = existing.id  # type: ignore[attr-defined]
    wanted.update()
    return True


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
    """One deployment per stage and served round (shipped, or in ``$SIO_HOME/rounds``)."""
    from deployments.schedules import stage_schedules
    from deployments.served_rounds import served_rounds
    from deployments.settings import load_settings
    from flows.catalogue import FLOW_NAMES, flow_named
    from sio_domain.norwegian_calendar import OSLO

    result = []
    for served in served_rounds(load_settings().home):
        round_id, round_def = served.round_def.id, served.round_def
        for stage in FLOW_NAMES:
            result.append(
                flow_named(stage).to_deployment(
                    name=round_id,
                    parameters={"round_ref": served.ref},
                    schedules=stage_schedules(stage, round_def, today.astimezone(OSLO).date()),
                    tags=[f"round:{round_id}", f"stage:{stage}"],
                    description=f"{stage} for {round_def.title}",
                    concurrency_limit=1 if stage == "payout" else None,  # one payout at a time
                )
            )
    from flows.replanning import replan

    result.append(
        replan.to_deployment(
            name="omplanlegging",
            tags=["staff-action"],
            description="Omplanlegging: flytt milepæl, avslutt tidlig, flytt eller avlys et møte",
        )
    )
    from deployments.staff_deployments import staff_deployments

    return result + staff_deployments()


def schedule_payout_runs(after: datetime) -> int:
    """Dated one-off payout runs for the quarters to come (same key → same run: created once)."""
    from prefect.deployments import run_deployment

    from deployments.schedules import payout_times
    from deployments.served_rounds import served_rounds
    from deployments.settings import load_settings

    created = 0
    for served in served_rounds(load_settings().home):
        round_id = served.round_def.id
        for label, at in payout_times(served.round_def, after)[:8]:
            run_deployment(
                f"payout/{round_id}",
                parameters={"round_ref": served.ref, "run": label},
                scheduled_time=at,
                idempotency_key=f"payout-{round_id}-{label}",
                timeout=0,
            )
            created += 1
    return created
