"""``sio up``'s guards: no API beyond localhost without auth, a port in TIME-WAIT is reusable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deployments.serving import (
    HEARTBEAT_SECONDS,
    ServerStartError,
    ensure_port_free,
    ensure_safe_binding,
    prefect_environment,
)
from deployments.settings import Settings
from tests.support.free_port import free_tcp_port

ROOT = Path(__file__).resolve().parents[2]


def test_binding_beyond_localhost_needs_the_auth_string(tmp_path: Path) -> None:
    open_settings = Settings(home=tmp_path)
    with pytest.raises(ServerStartError, match="SIO_API_AUTH=user:password"):
        ensure_safe_binding("0.0.0.0", open_settings)
    ensure_safe_binding("127.0.0.1", open_settings)
    ensure_safe_binding("0.0.0.0", Settings(home=tmp_path, api_auth="staff:s3cret"))


def test_sio_up_on_every_interface_without_auth_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "sio_cli", "up", "--host", "0.0.0.0", "--port", "4299"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("sio: error: --host 0.0.0.0: refusing") and "SIO_API_AUTH" in line


def test_the_auth_string_reaches_server_and_clients_and_runs_send_heartbeats(
    tmp_path: Path,
) -> None:
    env = prefect_environment(Settings(home=tmp_path, api_auth="staff:s3cret"), "0.0.0.0", 4300)
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == env["PREFECT_API_AUTH_STRING"] == "staff:s3cret"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4300/api"
    assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == str(HEARTBEAT_SECONDS)
    assert "PREFECT_API_AUTH_STRING" not in prefect_environment(Settings(home=tmp_path), "::1", 1)


def test_a_bad_auth_setting_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments.settings import SettingsError, load_settings

    monkeypatch.setenv("SIO_API_AUTH", "justapassword")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "SIO_API_AUTH=(hidden)" in str(refused.value) and "justapassword" not in str(
        refused.value
    )


def test_a_port_in_time_wait_counts_as_free() -> None:
    port = free_tcp_port("127.0.0.1")
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection is in TIME-WAIT
    client.recv(1)
    client.close()
    server.close()

    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # TIME-WAIT is real: a probe without SO_REUSEADDR fails
    ensure_port_free("127.0.0.1", port)  # a restarted `sio up` may bind at once

    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(ServerStartError, match="already in use"):
            ensure_port_free("127.0.0.1", port)
