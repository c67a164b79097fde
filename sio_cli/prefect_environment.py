"""Prefect's settings for commands that run flows, decided before Prefect is imported.

Which server a ``sio run`` reports to, in this order: ``PREFECT_API_URL`` if set (in the
environment, in a ``.env``, ``prefect.toml`` or ``pyproject.toml`` in the working directory, or in
the active Prefect profile); else a server already answering on ``sio up``'s default address (its
health check answers within a fraction of a second); else Prefect's temporary (ephemeral) local
server, given a start-up timeout that survives a busy machine — with Prefect's 20 s default, two
busy cores made most runs fail. Its files go under SIO_HOME (not ~/.prefect), in a database separate
from sio's own (one SQLite for both locks up). Heartbeats are switched off for these short runs:
they cost a second per run.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deployments.settings import Settings
from sio_cli.prefect_client_settings import api_url_in_working_directory, client_settings

DEFAULT_API_URL = "http://127.0.0.1:4200/api"
"""Where ``sio up`` serves the Prefect API unless told otherwise (its ``--port`` default)."""

PROBE_TIMEOUT_SECONDS = 0.5
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = 240
"""How long the temporary server may take to answer its health check (Prefect's default: 20)."""


class ServerUnavailable(RuntimeError):
    """Prefect's temporary server did not start; the message is one line saying what to do."""


def configure(settings: Settings) -> None:
    """Set Prefect's home and result storage under SIO_HOME unless the user chose otherwise, and
    send ``SIO_API_AUTH`` as Prefect's API credentials (the same string ``sio up`` requires)."""
    home = settings.home / "prefect"
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(home / "storage"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
    os.environ.setdefault(
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_TIMEOUT_SECONDS)
    )
    if settings.api_auth is not None:  # the credentials `sio up` asks its clients for
        os.environ.setdefault("PREFECT_API_AUTH_STRING", settings.api_auth.get_secret_value())
    home.mkdir(parents=True, exist_ok=True)


def choose_server(default_api_url: str = DEFAULT_API_URL) -> str:
    """Point Prefect at the API to use; returns ``"given"``, ``"running"`` or ``"temporary"``.

    ``"temporary"`` means Prefect's ephemeral server, started here (not lazily inside the first
    flow run) so that a failure to start is reported in one line.
    """
    if os.environ.get("PREFECT_API_URL"):
        return "given"
    client = client_settings(os.environ, Path.cwd())
    if client is None and api_url_in_working_directory(Path.cwd()):
        return "given"  # set in a settings file here: Prefect reads it there
    if client is not None and client.api_url is not None:
        return "given"  # set in the active Prefect profile: Prefect reads it there
    if answers_health_check(default_api_url):
        os.environ["PREFECT_API_URL"] = default_api_url
        return "running"
    start_temporary_server()
    return "temporary"


def answers_health_check(api_url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when a Prefect API at ``api_url`` answers its health check within ``timeout``."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


def start_temporary_server() -> None:
    """Start Prefect's ephemeral server, or raise ServerUnavailable in one line."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    try:
        SubprocessASGIServer().start()
    except Exception as error:  # noqa: BLE001 — Prefect raises RuntimeError with its output
        cause = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise ServerUnavailable(
            f"Prefect's temporary server did not start within {timeout} s ({cause}); start "
            "`sio up` or set PREFECT_API_URL to a running Prefect server, or raise "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
        ) from None


@contextmanager
def quick_runs() -> Iterator[None]:
    """Flow runs without heartbeats (measured: ~1 s saved per run).

    The current settings are copied with heartbeats off rather than rebuilt from the environment
    (Prefect's ``temporary_settings`` reads every settings source again: a tenth of an idle run).
    """
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    settings = context.settings
    flows = settings.flows.model_copy(update={"heartbeat_frequency": None})
    with SettingsContext(
        profile=context.profile, settings=settings.model_copy(update={"flows": flows})
    ):
        yield


TESTED_PREFECT = "3.8."
"""The Prefect releases whose internals ``plain_parameters`` and ``drain_and_exit`` were measured
and tested against (``pyproject.toml`` pins one). With any other, both step aside and Prefect
runs as it comes: slower, never wrong."""


def tested_prefect(version: str | None = None) -> bool:
    """True when the installed Prefect (or ``version``) is one these shortcuts were tested on."""
    if version is None:
        import prefect

        version = prefect.__version__
    return version.startswith(TESTED_PREFECT)


def plain_parameters() -> None:
    """Send flow parameters that are plain JSON values (every stage's: round, instant,
    municipality) to the API as they are.

    Prefect passes each parameter through FastAPI's ``jsonable_encoder``, which returns such a
    value unchanged — but importing it (FastAPI and Starlette) cost an idle ``sio run`` about a
    sixth of its time. Any other value still goes through Prefect's own serialisation; with an
    untested Prefect release, every value does.
    """
    if not tested_prefect():
        return
    from prefect.flows import Flow

    original = Flow.serialize_parameters
    if getattr(original, "plain_first", False):
        return

    def serialize(self: Flow[Any, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        if all(value is None or type(value) in _PLAIN for value in parameters.values()):
            return dict(parameters)
        return original(self, parameters)

    serialize.plain_first = True  # type: ignore[attr-defined]
    Flow.serialize_parameters = serialize  # type: ignore[method-assign]


_PLAIN = (str, int, float, bool)


def drain_and_exit(code: int = 0) -> None:
    """Send what Prefect still holds (logs, events) to the API, then end the process at once.

    Only for a run against a server this process did not start: interpreter shut-down (tearing
    down Prefect's threads, loops and every module) cost a finished ``sio run`` about 0.5 s.
    With an untested Prefect release it returns and the process ends the normal way.
    """
    import sys

    if not tested_prefect():
        return  # the interpreter's own shut-down drains Prefect's services
    try:
        from prefect._internal.concurrency.services import QueueService
    except ImportError:
        return
    try:
        QueueService.drain_all(timeout=10)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
