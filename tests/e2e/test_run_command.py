"""``sio run FLOW`` runs a stage as its deployment would, on Prefect's local ephemeral server.

No SMTP configured: mail lands as .eml files in SIO_HOME/outbox (INTERFACE.md, settings).
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


def sio(home: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_sio_run_reminders_sends_the_due_reminders_to_the_file_outbox(tmp_path):
    # A contact registered today for Bjørnafjorden (4624, formed 2020 from Os 1243 and Fusa 1241)
    # receives, for round 2016, the application reminder of each municipality it now stands for.
    home = tmp_path / "home"
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        "4624,Olav Kontakt,contact_person,olav@bjornafjorden.kommune.no,\n",
        encoding="utf-8",
    )
    assert sio(home, "import", "contacts", str(contacts)).returncode == 0
    done = sio(home, "run", "reminders", "--round", "sio-2016", "--as-of", "2015-11-20T09:00")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stage"] == "reminders" and result["mail"] == {"sent": 2, "skipped": 0}
    files = sorted((home / "outbox").glob("*.eml"))
    bodies = []
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["To"] == "olav@bjornafjorden.kommune.no"
        bodies.append(message.get_body().get_content())
    assert all("1. desember 2015" in b and "Venleg helsing" in b for b in bodies)  # nynorsk
    assert sorted("Fusa kommune" in b for b in bodies) == [False, True]
    assert sorted("Os kommune" in b for b in bodies) == [False, True]
    again = sio(home, "run", "reminders", "--round", "sio-2016", "--as-of", "2015-11-20T09:00")
    assert json.loads(again.stdout)["mail"] == {"sent": 0, "skipped": 0}
    assert len(list((home / "outbox").glob("*.eml"))) == 2


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
        done = sio(tmp_path / "home", *args, timeout=120)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_sio_db_upgrade_creates_the_schema_and_is_repeatable(tmp_path):
    home = tmp_path / "home"
    first = sio(home, "db", "upgrade", timeout=120)
    assert first.returncode == 0 and "(was empty)" in first.stderr
    second = sio(home, "db", "upgrade", timeout=120)
    from tasks.database import head_revision

    assert second.returncode == 0 and f"(was {head_revision()})" in second.stderr
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
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"sio: error: --port: 127.0.0.1:{port} is already in use (another sio up or Prefect "
        "server?); choose another with --port"
    )
