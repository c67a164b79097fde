"""``sio up`` started as a user starts it (``make run`` runs the same command), for e2e tests.

One way to start and stop it for every test that needs the served deployments. The port is
picked free just before the start; another process on the machine may take it in between (the
other xdist worker's servers, another developer's), so a start that fails on a taken port is
tried again on another one instead of failing the test. The log is appended to, so a test that
restarts ``sio up`` in the same home can count what every start reported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.support.free_port import free_tcp_port

ROOT = Path(__file__).resolve().parents[2]
PORT_TAKEN = ("is already in use", "the Prefect server stopped at start")
ATTEMPTS = 3
T = TypeVar("T")


def sio_environment(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any sio or Prefect setting, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env.update(SIO_HOME=str(home), **settings)
    return env


def start_sio_up(
    env: dict[str, str],
    log: Path,
    ready: Callable[[str], T | None],
    timeout: float = 300,
    what: str = "sio up to serve",
) -> tuple[subprocess.Popen[bytes], str, T]:
    """Start ``sio up`` on a free port and wait until ``ready(api_base)`` is truthy.

    Returns the process (stop it with :func:`stop_sio_up`), its API's base URL and what
    ``ready`` returned. Fails with the log's tail when ``sio up`` exits or ``timeout`` passes.
    """
    for attempt in range(1, ATTEMPTS + 1):
        port = free_tcp_port("127.0.0.1")
        before = log.stat().st_size if log.exists() else 0
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "sio_cli", "up", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = ready(base)
            except BaseException:
                stop_sio_up(process)
                raise
            if value:
                return process, base, value
            if process.poll() is not None:
                break
            time.sleep(1)
        else:
            stop_sio_up(process)
            raise AssertionError(f"timed out waiting for {what}:\n{_tail(log, before)}")
        written = _tail(log, before)
        if attempt < ATTEMPTS and any(reason in written for reason in PORT_TAKEN):
            continue  # the port was taken between the probe and the start: another one
        raise AssertionError(f"sio up exited ({process.returncode}) before {what}:\n{written}")
    raise AssertionError("unreachable")


def stop_sio_up(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to its process group (as a user stops it), then SIGKILL if it hangs.

    The Prefect server runs in a session of its own (``sio up`` stops it on Ctrl-C); when
    ``sio up`` has to be killed, the server is killed too rather than left running.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        children = _descendants(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc; none where there is no /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def read_log(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def _tail(log: Path, start: int) -> str:
    return read_log(log).encode()[start:].decode(errors="replace")[-4000:]
