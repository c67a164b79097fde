"""``sio simulate`` as a user runs it: the summary and letters log of the contract, one-line
refusals, and the user's own data untouched."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SIO = [sys.executable, "-m", "sio_cli"]


def sio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIO_HOME": str(home)}
    return subprocess.run([*SIO, *args], capture_output=True, text=True, env=env, timeout=600)


def test_simulate_prints_the_summary_and_writes_the_letters_log(sio_home: Path, tmp_path: Path):
    log = tmp_path / "letters.csv"
    done = sio(
        "simulate",
        "sio-2016",
        "--until",
        "2016-01-20",
        "--format",
        "json",
        "--letters",
        str(log),
        home=sio_home,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == {
        "round",
        "until",
        "municipalities",
        "flow_runs",
        "mails",
        "payouts",
        "late",
        "seconds",
    }
    assert summary["round"] == "sio-2016" and summary["until"] == "2016-01-20"
    assert summary["mails"]["by_kind"]["decision_offer"] == 6
    with log.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "date",
        "kind",
        "kommunenummer",
        "recipient_kommunenummer",
        "written_standard",
        "key",
    ]
    assert len({row["key"] for row in rows}) == summary["mails"]["total"]
    assert list(sio_home.iterdir()) == []  # the user's SIO_HOME is never touched


def test_simulate_table_names_the_kinds_of_mail(sio_home: Path):
    done = sio("simulate", "sio-2021", "--until", "2020-11-30", home=sio_home)
    assert done.returncode == 0, done.stderr
    assert "gathering_invitation" in done.stdout and "e-post:" in done.stdout


@pytest.mark.parametrize(
    ("args", "contents", "message"),
    [
        (["--until", "2016-13-01"], None, "--until: '2016-13-01' is not a date"),
        (["--until", "2016-02-01", "--format", "xml"], None, "--format: 'xml'"),
        (["--until", "2016-02-01", "--municipalities", "0"], None, "--municipalities: 0"),
        (
            ["--until", "2016-02-01"],
            '[[applications]]\nkommunenummer = "17x4"\nsubmitted_at = 2015-11-19T12:00:00+01:00\n',
            "applications.0.kommunenummer",
        ),
        (
            ["--until", "2016-02-01"],
            '[[decisions]]\nkommunenummer = "1714"\ndecision = "selected"\n'
            "decided_on = 2016-01-14\n",
            "decisions.0.model: a selected municipality needs a model",
        ),
        (["--until", "2016-02-01"], "round = ", "is not valid TOML"),
        (
            ["--until", "2016-02-01"],
            '[[applications]]\nkommunenummer = "9999"\nsubmitted_at = 2015-11-19T12:00:00+01:00\n',
            "kommunenummer: '9999' is not in the registry",
        ),
        (
            ["--until", "2016-02-01"],
            '[[applications]]\nkommunenummer = "1714"\nsubmitted_at = 2015-11-19T12:00:00+01:00\n'
            '[[signatures]]\nkommunenummer = "1714"\nreceived_on = 2016-01-20\n',
            "signature of 2016-01-20T06:02:00+01:00: kommunenummer 1714: not selected",
        ),
    ],
)
def test_bad_input_is_refused_with_one_line(
    args: list[str], contents: str | None, message: str, sio_home: Path, tmp_path: Path
):
    extra: list[str] = []
    if contents is not None:
        scenario = tmp_path / "scenario.toml"
        scenario.write_text(contents, encoding="utf-8")
        extra = ["--scenario", str(scenario)]
    done = sio("simulate", "sio-2016", *args, *extra, home=sio_home)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sio: error: "), done.stderr
    assert message in done.stderr
    assert done.stdout == ""


@pytest.mark.usefixtures("reporting_to_prefect_server")  # one Prefect server for the session
def test_through_prefect_the_summary_equals_the_in_process_one(sio_home: Path):
    args = ("simulate", "sio-2016", "--until", "2015-11-24", "--format", "json")
    in_process = sio(*args, home=sio_home)
    through_prefect = sio(*args, "--prefect", home=sio_home)
    assert in_process.returncode == 0, in_process.stderr
    assert through_prefect.returncode == 0, through_prefect.stderr[-2000:]
    expected, found = json.loads(in_process.stdout), json.loads(through_prefect.stdout)
    expected.pop("seconds")
    found.pop("seconds")
    assert found == expected
    assert found["flow_runs"] > 0 and found["mails"]["by_kind"]["application_received"] > 0
