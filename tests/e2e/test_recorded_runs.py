"""An idle run recorded through Prefect's REST API survives a busy server, as Prefect's own client
does: a 503 (its SQLite busy) is asked again, and asking again never makes a second run.

Between the recorder and the session's real Prefect server sits a small proxy that answers the
first request to each path with 503 (``Retry-After: 0``) and forwards every other one — or, for
the run's creation, forwards the first and loses its answer, so that asking again must find the
run made, not make a second.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from sio_cli.recorded_runs import MAX_RETRIES, PrefectApiError, record_idle_run


class _BusyFirst(http.server.BaseHTTPRequestHandler):
    upstream = ""
    busy_times = 1
    answer_lost: frozenset[str] = frozenset()
    seen: Counter[str] = Counter()

    def do_POST(self) -> None:  # noqa: N802 — the handler's name is fixed by http.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen[self.path] += 1
        lose_answer = self.path in self.answer_lost and self.seen[self.path] == 1
        if self.seen[self.path] <= self.busy_times and not lose_answer:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(b'{"exception_message": "Service Unavailable"}')
            return
        request = urllib.request.Request(
            self.upstream + self.path,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, content = answer.status, answer.read()
        except urllib.error.HTTPError as error:  # the server itself busy: passed on as it is
            status, content = error.code, error.read()
        if lose_answer:  # done upstream, but the answer lost on the way: as a busy proxy might
            status, content = 503, b'{"exception_message": "Service Unavailable"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy_proxy(prefect_api_url: str) -> Iterator[type[_BusyFirst]]:
    handler = type("Handler", (_BusyFirst,), {"seen": Counter()})
    handler.upstream = prefect_api_url.removesuffix("/api")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.address = f"http://127.0.0.1:{server.server_address[1]}/api"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _runs_named(api_url: str, name: str) -> list[dict]:
    request = urllib.request.Request(
        f"{api_url}/flow_runs/filter",
        data=json.dumps({"flow_runs": {"name": {"any_": [name]}}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _record(api_url: str, name: str) -> str:
    return record_idle_run(
        api_url,
        flow_name="reminders",
        run_name=name,
        parameters={"round_ref": "sio-2016", "as_of": None, "kommune": None},
        tags=["round:sio-2016"],
        message="Ingenting forfaller (test)",
    )


def test_a_busy_prefect_api_is_asked_again_and_the_run_is_recorded_once(
    busy_proxy, prefect_api_url
):
    busy_proxy.answer_lost = frozenset({"/api/flow_runs/"})  # the run made, its answer lost
    name = f"reminders · busy-{uuid.uuid4().hex[:8]}"
    run_id = _record(busy_proxy.address, name)
    [run] = _runs_named(prefect_api_url, name)
    assert run["id"] == run_id and run["state_type"] == "COMPLETED"
    # every request refused once, then answered (or refused by the busy server itself, again)
    assert min(busy_proxy.seen.values()) >= 2
    assert len(busy_proxy.seen) == 4  # the flow, the run, its log line, its completion


def test_a_prefect_api_that_stays_busy_is_one_line(busy_proxy):
    busy_proxy.busy_times = MAX_RETRIES + 1
    with pytest.raises(PrefectApiError) as refused:
        _record(busy_proxy.address, f"reminders · always-busy-{uuid.uuid4().hex[:8]}")
    assert "answered 503 to /flows/" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert busy_proxy.seen["/api/flows/"] == MAX_RETRIES + 1  # asked again, then given up
