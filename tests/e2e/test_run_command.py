"""``sio run FLOW`` runs a stage as its deployment would, on Prefect's local ephemeral server, or
on a running server (``PREFECT_API_URL``).

No SMTP configured: mail lands as .eml files in SIO_HOME/outbox (the command contract, settings).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sio(
    home: Path, *args: str, timeout: int = 300, api_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(home)
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_sio_run_reminders_sends_the_due_reminders_to_the_file_outbox(tmp_path, prefect_api_url):
    import pytest

    from sio_cli.prefect_environment import DEFAULT_API_URL, answers_health_check

    if answers_health_check(DEFAULT_API_URL):  # a developer's `make run` on this machine
        pytest.skip("a Prefect server answers on sio up's default address: no temporary server")
    # Os (1243) has its own contact; Bjørnafjorden (4624, formed 2020 from Os and Fusa) registered
    # one too. In 2015 only Os's own contact is written to: never a later merged municipality's.
    home = tmp_path / "home"
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        "1243,Olav Kontakt,contact_person,olav@os.kommune.no,\n"
        "4624,Bjørn Kontakt,contact_person,bjorn@bjornafjorden.kommune.no,\n",
        encoding="utf-8",
    )
    assert sio(home, "import", "contacts", str(contacts)).returncode == 0
    done = sio(home, "run", "reminders", "--round", "sio-2016", "--as-of", "2015-11-20T09:00")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stage"] == "reminders" and result["mail"] == {"sent": 1, "skipped": 0}
    [path] = sorted((home / "outbox").glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "olav@os.kommune.no"
    body = message.get_body().get_content()
    assert "1. desember 2015" in body and "Venleg helsing" in body  # Os writes nynorsk
    assert "Os kommune" in body and "Fusa" not in body
    # The first run started Prefect's temporary server; a second against a running one.
    again = sio(
        home,
        *("run", "reminders", "--round", "sio-2016", "--as-of", "2015-11-20T09:00"),
        api_url=prefect_api_url,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["mail"] == {"sent": 0, "skipped": 0}
    assert len(list((home / "outbox").glob("*.eml"))) == 1


def test_sio_run_refuses_an_unknown_flow_and_a_bad_instant_in_one_line(tmp_path):
    for args, expected in (
        (("run", "remind", "--round", "sio-2016"), "FLOW: 'remind' is not a flow"),
        (
            ("run", "reminders", "--round", "sio-2016", "--as-of", "2016-13-01"),
            "--as-of: '2016-13-01' is not an ISO 8601",
        ),
        (
            (
                "record",
                "signature",
                "sio-2016",
                "1714",
                "--party",
                "municipality",
                "--signed-on",
                "2016-01-20",
                "--place",
                "Stjørdal",
                "--signatory",
                "R",
            ),
            "kommunenummer 1714: not selected in round sio-2016",
        ),
        (
            ("record", "reply", "sio-2016", "1714", "--accept", "--on", "2016-01-20"),
            "round sio-2016: has no reply deadline",
        ),
    ):
        done = sio(tmp_path / "home", *args, timeout=300)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_sio_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path):
    home = tmp_path / "home"
    first = sio(home, "db", "upgrade", timeout=300)
    assert first.returncode == 0 and "(was empty)" in first.stderr
    second = sio(home, "db", "upgrade", timeout=300)
    from tasks.storage.database import head_revision

    head = head_revision()
    assert second.returncode == 0 and f"at revision {head} (was {head})" in second.stderr
    assert (home / "sio.db").exists()


def test_sio_up_on_a_port_in_use_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
        env["SIO_HOME"] = str(tmp_path / "home")
        done = subprocess.run(
            [sys.executable, "-m", "sio_cli", "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"sio: error: --port: 127.0.0.1:{port} is already in use (another sio up or Prefect "
        "server?); choose another with --port"
    )


def test_sio_run_refuses_a_bad_or_unknown_kommune_before_anything_runs(tmp_path):
    home = tmp_path / "home"
    for kommune, expected in (
        ("abc", "sio: error: --kommune: 'abc' is not a kommunenummer (4 digits)"),
        ("17145", "sio: error: --kommune: '17145' is not a kommunenummer (4 digits)"),
        ("9999", "sio: error: --kommune: '9999' is not a municipality in the registry"),
    ):
        done = sio(home, "run", "reminders", "--round", "sio-2016", "--kommune", kommune)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip() == expected
    assert not (home / "prefect").exists()  # refused before Prefect was set up


def test_a_temporary_server_that_does_not_start_in_time_is_one_line(tmp_path):
    import pytest

    from sio_cli.prefect_environment import DEFAULT_API_URL, answers_health_check

    if answers_health_check(DEFAULT_API_URL):
        pytest.skip("a Prefect server answers on sio up's default address")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env.update(
        SIO_HOME=str(tmp_path / "home"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0"
    )
    done = subprocess.run(
        [sys.executable, "-m", "sio_cli", "run", "reminders", "--round", "sio-2016"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sio: error: Prefect's temporary server did not start within 0 s")
    assert "sio up" in lines[0] and "PREFECT_API_URL" in lines[0]
