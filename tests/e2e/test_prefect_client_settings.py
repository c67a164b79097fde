"""``sio run`` reports where Prefect's own client would: to the server the active Prefect profile
names, and through a server that demands CSRF tokens — also when the run is idle and recorded
without Prefect's engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.serving import prefect_environment, start_server
from deployments.settings import Settings
from sio_cli.recorded_runs import record_idle_run
from tests.e2e.conftest import _stop as stop_server
from tests.e2e.test_idle_run_recording import _runs_named
from tests.support.free_port import free_tcp_port

IDLE_AS_OF = "2015-09-01T09:00"  # before the invitation: nothing due, no mail waiting


def _sio_run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", "run", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(tmp_path / "sio")
    return env


def test_an_idle_run_reports_to_the_server_the_active_prefect_profile_names(
    tmp_path: Path, prefect_api_url: str
):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'active = "ops"\n[profiles.ops]\nPREFECT_API_URL = "{prefect_api_url}"\n', "utf-8"
    )
    env = _clean_env(tmp_path) | {"PREFECT_PROFILES_PATH": str(profiles)}
    done = _sio_run(env, tmp_path, "reminders", "--round", "sio-2016", "--as-of", IDLE_AS_OF)
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("sio: nothing due: ") and prefect_api_url.removesuffix("/api") in line
    run_id = line.rsplit("/", 1)[1]
    runs = _runs_named(prefect_api_url, f"reminders · sio-2016 · {IDLE_AS_OF}")
    assert run_id in {run["id"] for run in runs}


def test_a_dotenv_naming_the_server_leaves_the_run_to_prefects_engine(
    tmp_path: Path, prefect_api_url: str
):
    """Settings in the working directory are Prefect's to read: the flow runs as a flow (with
    task runs), reports to the server the file names, and no temporary server is started."""
    (tmp_path / ".env").write_text(f"PREFECT_API_URL={prefect_api_url}\n", encoding="utf-8")
    env = _clean_env(tmp_path)
    as_of = "2015-09-01T09:05"  # a run name of its own on the shared server
    done = _sio_run(env, tmp_path, "reminders", "--round", "sio-2016", "--as-of", as_of)
    assert done.returncode == 0, done.stderr
    assert "nothing due" not in done.stderr and "temporary" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["queued_mail"] == 0
    [run] = _runs_named(prefect_api_url, f"reminders · sio-2016 · {as_of}")
    assert run["state_type"] == "COMPLETED"
    assert not (tmp_path / "sio" / "prefect" / "server.log").exists()


@pytest.fixture(scope="module")
def csrf_protected_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server that refuses every change without a CSRF token."""
    home = tmp_path_factory.mktemp("csrf-server")
    env = prefect_environment(Settings(home=home), "127.0.0.1", free_tcp_port("127.0.0.1"))
    env["PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED"] = "true"
    server = start_server(env, home / "server.log")
    try:
        yield env["PREFECT_API_URL"]
    finally:
        stop_server(server)


def test_an_idle_run_is_recorded_on_a_server_that_demands_csrf_tokens(csrf_protected_api: str):
    refused = urllib.request.Request(
        f"{csrf_protected_api}/flows/", data=b'{"name": "x"}', method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as without_token:
        urllib.request.urlopen(refused, timeout=30)
    assert without_token.value.code == 403  # the server does protect changes
    name = f"reminders · sio-test · {uuid.uuid4()}"
    run_id = record_idle_run(
        csrf_protected_api,
        flow_name="reminders",
        run_name=name,
        parameters={"round_ref": "sio-2016", "as_of": None, "kommune": None},
        tags=["round:sio-2016"],
        message="Ingenting forfaller.",
    )
    [run] = _runs_named_protected(csrf_protected_api, name)
    assert run["id"] == run_id and run["state_type"] == "COMPLETED"


def _runs_named_protected(api_url: str, name: str) -> list[dict[str, object]]:
    """Reading is a POST too: it needs a token of its own."""
    client = str(uuid.uuid4())
    with urllib.request.urlopen(f"{api_url}/csrf-token?client={client}", timeout=30) as answer:
        token = json.loads(answer.read())["token"]
    request = urllib.request.Request(
        f"{api_url}/flow_runs/filter",
        data=json.dumps({"flow_runs": {"name": {"any_": [name]}}}).encode(),
        headers={
            "Content-Type": "application/json",
            "Prefect-Csrf-Token": token,
            "Prefect-Csrf-Client": client,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        runs: list[dict[str, object]] = json.loads(answer.read())
    return runs
