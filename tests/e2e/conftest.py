"""Fixtures for the ``sio`` command as a user runs it: one Prefect server for the whole session.

Without a server to report to, every ``sio run`` (and ``sio simulate --prefect``) starts Prefect's
temporary server, which migrates a new Prefect database first: tens of seconds per command on a
busy machine. The tests that are not about that temporary server report to one server started
here the way ``sio up`` starts its own (``deployments.serving``), so the user's path "a Prefect
server is running, ``PREFECT_API_URL`` names it" is what they exercise. The temporary server keeps
its own tests (tests/e2e/test_run_command.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from deployments.serving import (
    ServerStartError,
    ensure_port_free,
    prefect_environment,
    start_server,
)
from deployments.settings import Settings
from tests.support.free_port import free_tcp_port


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``PREFECT_API_URL`` of a Prefect server on a free port, with its own home, for the session.

    No authentication and nothing served: commands run their flows themselves and only report.
    Tests must not assert on what other tests left on it (runs, artifacts, events).
    """
    home = tmp_path_factory.mktemp("prefect-server")
    for attempt in range(1, 4):
        # The port is free when probed; another process may take it before the server binds.
        port = free_tcp_port("127.0.0.1")
        env = prefect_environment(Settings(home=home), "127.0.0.1", port)
        try:
            ensure_port_free("127.0.0.1", port)
            server = start_server(env, home / "server.log")
            break
        except ServerStartError:
            if attempt == 3:
                raise
    try:
        yield env["PREFECT_API_URL"]
    finally:
        _stop(server)


@pytest.fixture
def reporting_to_prefect_server(prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's commands inherit ``PREFECT_API_URL`` of the session's server."""
    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)
    return prefect_api_url


def _stop(server: subprocess.Popen[bytes]) -> None:
    """End the server's own process group (it was started in a session of its own)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
