"""Which Prefect server ``sio run`` reports to: the given one, a running one, or a temporary one."""

from __future__ import annotations

import http.server
import threading

import pytest

from sio_cli.prefect_environment import (
    PROBE_TIMEOUT_SECONDS,
    answers_health_check,
    choose_server,
)


@pytest.fixture
def health_server():
    """A local HTTP server answering /api/health like Prefect's API."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — the handler's name is fixed by http.server
            ok = self.path == "/api/health"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"true" if ok else b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_a_running_server_on_the_default_address_is_used(health_server, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert choose_server(default_api_url=health_server) == "running"
    import os

    assert os.environ["PREFECT_API_URL"] == health_server


def test_a_given_api_url_is_kept_without_probing(health_server, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert choose_server(default_api_url=health_server) == "given"


def test_the_probe_says_no_quickly_where_nothing_answers(health_server):
    import socket
    import time

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    start = time.monotonic()
    assert not answers_health_check(f"http://127.0.0.1:{port}/api")
    assert not answers_health_check(health_server.removesuffix("/api") + "/other")
    # Two probes of at most PROBE_TIMEOUT_SECONDS each; the margin is for a loaded machine (the
    # behaviour guarded is "not Prefect's 20 s client timeout", not a speed).
    assert time.monotonic() - start < 2 * PROBE_TIMEOUT_SECONDS + 4
