"""An idle ``sio run`` records its run through Prefect's REST API as Prefect's client would: a
busy answer (503 when the server's database is locked, 429, 502) is tried again, and a run it
could not finish recording is not left *Running* for ever (nothing sends it a heartbeat).

The server is a real Prefect server (the session's); between it and the recorder sits a proxy
that answers chosen requests itself, the way a busy server or a gateway would.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from sio_cli.recorded_runs import PrefectApiError, record_idle_run


@dataclass
class Answer:
    """Answer requests whose path ends in ``path`` ``times`` times with ``status``/``body``."""

    path: str
    times: int
    status: int
    body: bytes = b'{"exception_message":"Service Unavailable"}'
    headers: dict[str, str] = field(default_factory=dict)
    after_forwarding: bool = False
    """Pass the request on first, then answer it so: the server did it, the answer was lost."""


class Gateway:
    """A proxy to ``upstream`` that answers the requests its rules name itself."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Answer] = []
        self.requests: list[str] = []
        self.answered: list[tuple[str, int]] = []  # (request, status) in the order answered
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                gateway.requests.append(f"{self.command} {self.path}")
                for rule in gateway.rules:
                    if self.path.endswith(rule.path) and rule.times > 0:
                        rule.times -= 1
                        if rule.after_forwarding:
                            self._forward(body, reply=False)
                        self._reply(rule.status, rule.body, rule.headers)
                        return
                self._forward(body, reply=True)

            def _forward(self, body: bytes | None, *, reply: bool) -> None:
                path = self.path.removeprefix("/api")
                forwarded = urllib.request.Request(
                    gateway.upstream + path,
                    data=body,
                    method=self.command,
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(forwarded, timeout=30) as answer:
                        status, content = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, content = error.code, error.read()
                if reply:
                    self._reply(status, content, {})

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                gateway.answered.append((f"{self.command} {self.path}", status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(prefect_api_url: str) -> Iterator[Gateway]:
    proxy = Gateway(prefect_api_url)
    yield proxy
    proxy.close()


def _runs_named(api_url: str, name: str) -> list[dict[str, object]]:
    """The runs of that name; a 503 (the server's SQLite busy on a loaded machine) is retried."""
    for attempt in range(10):
        request = urllib.request.Request(
            f"{api_url}/flow_runs/filter",
            data=json.dumps({"flow_runs": {"name": {"any_": [name]}}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                runs: list[dict[str, object]] = json.loads(answer.read())
            return runs
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 9:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def _name() -> str:
    return f"reminders · sio-test · {uuid.uuid4()}"


def _record(gateway: Gateway, name: str) -> str:
    """Record an idle run named ``name`` through the gateway; returns its id."""
    return record_idle_run(
        gateway.url,
        flow_name="reminders",
        run_name=name,
        parameters={"round_ref": "sio-2016", "as_of": None, "kommune": None},
        tags=["round:sio-2016"],
        message="Ingenting forfaller.",
    )


BUSY = {"Retry-After": "0"}  # as Prefect's server may say; the test need not wait


@pytest.mark.parametrize("path", ["/flows/", "/flow_runs/", "/logs/", "/set_state"])
@pytest.mark.parametrize("status", [503, 429, 502])
def test_a_busy_answer_is_tried_again_and_the_run_recorded_once(
    gateway: Gateway, prefect_api_url: str, path: str, status: int
):
    rule = Answer(path, 2, status, headers=BUSY)
    gateway.rules.append(rule)
    name = _name()
    run_id = _record(gateway, name)
    [run] = _runs_named(prefect_api_url, name)
    assert run["id"] == run_id and run["state_type"] == "COMPLETED"
    answers = [code for request, code in gateway.answered if request.endswith(path)]
    # Both busy answers were given and then one got through. The real server may add a 503 of
    # its own on a loaded machine (its SQLite busy): that is retried like the others.
    assert rule.times == 0 and answers[:2] == [status, status], answers
    assert [code for code in answers if code < 400] == [answers[-1]], answers


def test_a_create_whose_answer_was_lost_is_not_recorded_twice(
    gateway: Gateway, prefect_api_url: str
):
    """The server made the run but its answer was lost (a gateway's 502): the retry finds the
    run the first attempt made (its idempotency key) and completes that one."""
    gateway.rules.append(Answer("/flow_runs/", 1, 502, after_forwarding=True, headers=BUSY))
    name = _name()
    run_id = _record(gateway, name)
    runs = _runs_named(prefect_api_url, name)
    assert [(r["id"], r["state_type"]) for r in runs] == [(run_id, "COMPLETED")]


@pytest.mark.parametrize("path", ["/logs/", "/set_state"])
def test_a_run_that_could_not_be_finished_is_not_left_running(
    gateway: Gateway, prefect_api_url: str, path: str
):
    gateway.rules.append(Answer(path, 1, 500, b'{"exception_message":"Internal Server Error"}'))
    name = _name()
    with pytest.raises(PrefectApiError, match=f"answered 500 to .*{path}"):
        _record(gateway, name)
    assert _runs_named(prefect_api_url, name) == []  # withdrawn, not Running for ever


def test_a_server_still_busy_after_the_retries_is_one_line(gateway: Gateway):
    gateway.rules.append(Answer("/flows/", 99, 503, headers=BUSY))
    with pytest.raises(PrefectApiError, match="answered 503 to /flows/"):
        _record(gateway, _name())
    assert len(gateway.requests) == 6  # the first try and Prefect's five retries


def test_an_answer_that_is_not_json_says_which_api_answered_it(gateway: Gateway):
    gateway.rules.append(Answer("/flows/", 1, 200, b"<!doctype html><title>Prefect</title>"))
    with pytest.raises(PrefectApiError, match=r"answered /flows/ with something not JSON"):
        _record(gateway, _name())
