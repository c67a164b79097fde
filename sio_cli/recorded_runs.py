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
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

REQUEST_TIMEOUT_SECONDS = 30.0
MAX_RETRIES = 5
"""As Prefect's client (``PREFECT_CLIENT_MAX_RETRIES``): a busy SQLite behind the API says 503."""
RETRY_CODES = frozenset({408, 429, 502, 503})
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
) -> str:
    """Record a finished run of ``flow_name`` that found nothing due; returns the run's id.

    The run is created *Running* (Prefect then sets its start time) and proposed *Completed*
    through the same orchestration as any flow run, so the UI shows its start, end and
    duration. ``message`` is both the completed state's message and the run's one log line.
    """
    api = _Api(api_url)
    flow = api.post("/flows/", {"name": flow_name})
    run = api.post(
        "/flow_runs/",
        {
            "flow_id": flow["id"],
            "name": run_name,
            "parameters": parameters,
            "tags": tags,
            "state": {"type": "RUNNING", "name": "Running"},
            "idempotency_key": f"sio-run-{uuid.uuid4()}",  # asked again: the same run
        },
    )
    run_id = str(run["id"])
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
    answer = api.post(
        f"/flow_runs/{run_id}/set_state",
        {"state": {"type": "COMPLETED", "name": "Completed", "message": message}, "force": False},
    )
    state = answer.get("state") or {}
    if answer.get("status") != "ACCEPT" and state.get("type") != "COMPLETED":
        reason = (answer.get("details") or {}).get("reason") or answer.get("status")
        raise PrefectApiError(f"Prefect did not accept the run {run_name!r} as completed: {reason}")
    return run_id


class _Api:
    """JSON over HTTP to one Prefect API, with the credentials Prefect's client would send."""

    def __init__(self, api_url: str) -> None:
        self.base = api_url.rstrip("/")
        self.connected = False
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth_string = os.environ.get("PREFECT_API_AUTH_STRING")
        api_key = os.environ.get("PREFECT_API_KEY")
        if auth_string:
            token = base64.b64encode(auth_string.encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        elif api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, path: str, body: object) -> dict[str, Any]:
        """POST ``body`` as JSON; a busy server (408, 429, 502, 503, or a timeout or reset once
        connected) is asked again after a pause, as Prefect's own client does — every request
        here is safe to repeat (the run has an idempotency key, the state proposal is checked)."""
        data = json.dumps(body, ensure_ascii=False).encode()
        for attempt in range(MAX_RETRIES + 1):
            request = urllib.request.Request(  # noqa: S310 — the API address the user configured
                f"{self.base}{path}", data=data, headers=self.headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:  # noqa: S310
                    content = answer.read()
                self.connected = True
                break
            except urllib.error.HTTPError as error:
                if error.code in RETRY_CODES and attempt < MAX_RETRIES:
                    time.sleep(_pause(attempt, error.headers.get("Retry-After")))
                    continue
                detail = error.read()[:200].decode(errors="replace").replace("\n", " ")
                raise PrefectApiError(
                    f"the Prefect API at {self.base} answered {error.code} to {path}: {detail}"
                ) from None
            except (OSError, ValueError) as error:
                refused = isinstance(getattr(error, "reason", error), ConnectionRefusedError)
                if self.connected and not refused and attempt < MAX_RETRIES:
                    time.sleep(_pause(attempt, None))
                    continue
                raise PrefectApiError(
                    f"the Prefect API at {self.base} did not answer {path}: {error}"
                ) from None
        try:
            decoded = json.loads(content) if content else {}
        except ValueError:
            raise PrefectApiError(
                f"the Prefect API at {self.base} answered {path} with something not JSON"
            ) from None
        return decoded if isinstance(decoded, dict) else {}


def _pause(attempt: int, retry_after: str | None) -> float:
    """Seconds before asking again: the server's ``Retry-After`` if it gave seconds, else
    0.5, 1, 2, 4, 8."""
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), 30.0)
        except ValueError:
            pass
    return float(min(0.5 * 2**attempt, 8.0))
