"""A stage run that found nothing due, recorded in Prefect without Prefect's flow engine.

Most runs of a daily stage find nothing due (no letter to queue, no mail waiting, no staff task
to escalate). Starting Prefect's flow engine in a fresh ``sio run`` process costs more than the
run's whole decision — importing ``prefect.flows`` alone takes 1.5–2.7 s on the trial's 2-core
machine — so ``sio run`` decides first (without Prefect) and, when the run is idle, records it
through Prefect's REST API the way Prefect's own client does: the flow by name, a flow run with
the same name, parameters and tags as the flow would give it, a log line for staff and the run
finished as *Completed* with a message saying what was found. Staff see it in the UI beside the
flow's other runs; three or four requests instead of eighteen.

A run with anything due goes through the flow as before, so every step that writes (queue,
deliver, publish) keeps Prefect's task runs, retries and artifacts.

Like Prefect's client, a busy answer (503 while the server's database is locked, 429, 502, 408)
is tried again, and the run is created under an idempotency key so that a retried create finds
it instead of making a second one. A run that could not be finished (its log line or its
*Completed* refused) is deleted again: nothing sends it a heartbeat, so it would stay *Running*.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from sio_cli.prefect_client_settings import ClientSettings

REQUEST_TIMEOUT_SECONDS = 30.0
RETRIED_STATUSES = frozenset({408, 429, 502, 503})
"""Answers Prefect's own client tries again (``prefect.client.base``): its server answers 503
when its database is busy, a proxy 502, a rate limit 429."""
MAX_RETRIES = 5
"""As Prefect's client (``PREFECT_CLIENT_MAX_RETRIES``): waits of 2, 4, 8, 16 and 32 s, or what
the server's ``Retry-After`` asks."""
MAX_WAIT_SECONDS = 60.0
LOGGER_NAME = "sio.stage_run"
"""The logger name shown beside the run's log line (Prefect's own are ``prefect.flow_runs``)."""


class PrefectApiError(RuntimeError):
    """The Prefect API refused or did not answer; the message is one line."""


def record_idle_run(
    api_url: str,
    *,
    flow_name: str,
    run_name: str,
    parameters: dict[str, Any],
    tags: list[str],
    message: str,
    client: ClientSettings | None = None,
) -> str:
    """Record a finished run of ``flow_name`` that found nothing due; returns the run's id.

    The run is created *Running* (Prefect then sets its start time) and proposed *Completed*
    through the same orchestration as any flow run, so the UI shows its start, end and
    duration. ``message`` is both the completed state's message and the run's one log line.
    ``client`` carries the credentials, TLS and header settings Prefect's client would use
    (by default the credentials in the environment).
    """
    api = _Api(api_url, client or _from_environment())
    flow = api.post("/flows/", {"name": flow_name})
    run = api.post(
        "/flow_runs/",
        {
            "flow_id": _field(flow, "id", "/flows/", api.base),
            "name": run_name,
            "parameters": parameters,
            "tags": tags,
            "state": {"type": "RUNNING", "name": "Running"},
            # A retried create (its answer lost) finds this run instead of making a second one.
            "idempotency_key": f"sio-run-{uuid.uuid4()}",
        },
    )
    run_id = str(_field(run, "id", "/flow_runs/", api.base))
    try:
        api.post(
            "/logs/",
            [
                {
                    "name": LOGGER_NAME,
                    "level": 20,
                    "message": message,
                    "timestamp": datetime.now(UTC).isoformat(),
                    "flow_run_id": run_id,
                }
            ],
        )
        completed = {"type": "COMPLETED", "name": "Completed", "message": message}
        answer = api.post(f"/flow_runs/{run_id}/set_state", {"state": completed, "force": False})
        # A retried proposal after an accepted one is refused, the run already Completed.
        now = (answer.get("state") or {}).get("type")
        if answer.get("status") != "ACCEPT" and now != "COMPLETED":
            reason = (answer.get("details") or {}).get("reason") or answer.get("status")
            raise PrefectApiError(
                f"Prefect did not accept the run {run_name!r} as completed: {reason}"
            )
    except PrefectApiError:
        api.withdraw(run_id)  # not left Running for ever: nothing sends it a heartbeat
        raise
    return run_id


def _field(answer: dict[str, Any], name: str, path: str, base: str) -> Any:
    """``answer[name]``, or one line saying the API answered something else."""
    if name not in answer:
        raise PrefectApiError(f"the Prefect API at {base} answered {path} without its {name!r}")
    return answer[name]


class _Api:
    """JSON over HTTP to one Prefect API, with the credentials Prefect's client would send."""

    def __init__(self, api_url: str, client: ClientSettings) -> None:
        self.base = api_url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        # Custom headers first: like Prefect's client, they never replace its own.
        self.headers.update(
            {k: v for k, v in client.custom_headers.items() if k.lower() not in _OWN_HEADERS}
        )
        if client.auth_string:
            token = base64.b64encode(client.auth_string.encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        elif client.api_key:
            self.headers["Authorization"] = f"Bearer {client.api_key}"
        self.context: ssl.SSLContext | None = None
        if self.base.startswith("https:"):
            self.context = _tls_context(client)
        self.csrf_support = client.csrf_support
        self.csrf_client = str(uuid.uuid4())

    def post(self, path: str, body: object) -> dict[str, Any]:
        """POST ``body`` to ``path``; tried again on the answers Prefect's own client retries."""
        data = json.dumps(body, ensure_ascii=False).encode()
        for attempt in range(1, MAX_RETRIES + 2):
            try:
                content = self._send(path, data, "POST")
            except _Retry as busy:
                if attempt > MAX_RETRIES:
                    raise busy.error from None
                backoff = min(2.0**attempt, MAX_WAIT_SECONDS)
                time.sleep(busy.wait if busy.wait is not None else backoff)
                continue
            try:
                decoded = json.loads(content) if content else {}
            except ValueError:
                raise PrefectApiError(
                    f"the Prefect API at {self.base} answered {path} with something not JSON: "
                    f"{content[:80].decode(errors='replace')!r} (is PREFECT_API_URL its /api?)"
                ) from None
            return decoded if isinstance(decoded, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover

    def withdraw(self, run_id: str) -> None:
        """Delete a run this process created and could not finish recording (best effort)."""
        try:
            self._send(f"/flow_runs/{run_id}", None, "DELETE")
        except (PrefectApiError, _Retry):
            pass  # the API refuses even that: the error already reported says why

    def _send(self, path: str, data: bytes | None, method: str) -> bytes:
        try:
            return self._request(path, data, method)
        except _CsrfRefused as refused:
            if not self.csrf_support or "Prefect-Csrf-Token" in self.headers:
                raise refused.error from None
        # The server protects changes with CSRF tokens: fetch one, as Prefect's client does.
        token = self._csrf_token()
        self.headers["Prefect-Csrf-Token"] = token
        self.headers["Prefect-Csrf-Client"] = self.csrf_client
        try:
            return self._request(path, data, method)
        except _CsrfRefused as refused:
            raise refused.error from None

    def _csrf_token(self) -> str:
        path = f"/csrf-token?client={self.csrf_client}"
        try:
            content = self._request(path, None, "GET")
            token = json.loads(content).get("token")
        except _CsrfRefused as refused:
            raise refused.error from None
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            raise PrefectApiError(f"the Prefect API at {self.base} gave no CSRF token at {path}")
        return token

    def _request(self, path: str, data: bytes | None, method: str) -> bytes:
        request = urllib.request.Request(  # noqa: S310 — the API address the user configured
            f"{self.base}{path}", data=data, headers=self.headers, method=method
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=REQUEST_TIMEOUT_SECONDS, context=self.context
            ) as answer:
                content: bytes = answer.read()
                return content
        except urllib.error.HTTPError as error:
            detail = error.read()[:200].decode(errors="replace").replace("\n", " ")
            failure = PrefectApiError(
                f"the Prefect API at {self.base} answered {error.code} to {path}: {detail}"
            )
            if error.code in RETRIED_STATUSES:
                raise _Retry(failure, _retry_after(error.headers.get("Retry-After"))) from None
            if error.code == 403 and "CSRF token" in detail:
                raise _CsrfRefused(failure) from None
            raise failure from None
        except (OSError, ValueError) as error:
            raise PrefectApiError(
                f"the Prefect API at {self.base} did not answer {path}: {error}"
            ) from None


_OWN_HEADERS = frozenset({"user-agent", "prefect-csrf-token", "prefect-csrf-client"})
"""Headers Prefect's client sets itself, never from ``PREFECT_CLIENT_CUSTOM_HEADERS``."""


def _from_environment() -> ClientSettings:
    return ClientSettings(
        auth_string=os.environ.get("PREFECT_API_AUTH_STRING") or None,
        api_key=os.environ.get("PREFECT_API_KEY") or None,
    )


def _tls_context(client: ClientSettings) -> ssl.SSLContext:
    """The TLS context Prefect's client builds: its CA file (or certifi's), or no checks at all
    when ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY`` says so."""
    if client.tls_insecure_skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = client.ssl_cert_file
    if cafile is None:
        import certifi  # Prefect's client verifies against certifi's bundle, not the system's

        cafile = certifi.where()
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as error:
        raise PrefectApiError(
            f"PREFECT_API_SSL_CERT_FILE: {cafile!r} is unusable: {error}"
        ) from None


class _CsrfRefused(Exception):
    """The server wants a CSRF token with every change."""

    def __init__(self, error: PrefectApiError) -> None:
        super().__init__(str(error))
        self.error = error


class _Retry(Exception):
    """A busy answer: try again after ``wait`` seconds (None: back off)."""

    def __init__(self, error: PrefectApiError, wait: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header's wait in seconds (a number or an HTTP date), within bounds."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)
