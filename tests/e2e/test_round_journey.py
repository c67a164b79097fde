"""One municipality through round 2016 by the commands staff type, ending in a paid quarter.

Apply → select → both signatures → expenditure and bank account → the payout flow run through
Prefect (``sio run payout``, reporting to a running Prefect server as with ``sio up``), which
proposes → two approvals (``sio payout approve``) pay it → the ledger. A second run of the same
quarter pays nothing more.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_sio(
    home: Path, *args: str, api_url: str, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(home)
    env["PREFECT_API_URL"] = api_url  # the session's server: no temporary server per command
    done = subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (args, done.stderr)
    return done


def test_a_selected_and_signed_municipality_is_paid_once_for_its_quarter(tmp_path, prefect_api_url):
    home = tmp_path / "home"

    def sio(*args: str) -> subprocess.CompletedProcess[str]:
        return run_sio(home, *args, api_url=prefect_api_url)

    files = {
        "contacts": "kommunenummer,name,role,email,phone\n"
        "1714,Frida Finans,finance_officer,frida@stjordal.kommune.no,\n",
        "applications": "kommunenummer,submitted_at,signed_by_title,council_resolution_date,"
        "epj_system,attachment\n1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,"
        "s.pdf\n",
        "selection": "kommunenummer,decision,model,decided_by,decided_on\n"
        "1714,selected,A,ministry,2016-01-14\n",
        "expenditure": "kommunenummer,year,function,amount\n1714,2015,254,900000000\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text, encoding="utf-8")
    sio("import", "contacts", str(paths["contacts"]))
    sio("import", "applications", str(paths["applications"]), "--round", "sio-2016")
    sio("decide", "selection", "sio-2016", "--file", str(paths["selection"]))
    for party, place in (("municipality", "Stjørdal"), ("directorate", "Oslo")):
        sio(
            "record",
            "signature",
            "sio-2016",
            "1714",
            "--party",
            party,
            "--signed-on",
            "2016-01-25",
            "--place",
            place,
            "--signatory",
            "R",
            "--received-on",
            "2016-01-28",
        )
    sio("import", "expenditure", str(paths["expenditure"]))
    sio("record", "account", "sio-2016", "1714", "--account", "8601 11 17947")

    first = json.loads(
        sio(
            "run",
            "payout",
            "--round",
            "sio-2016",
            "--run",
            "2016Q3",
            "--as-of",
            "2016-07-07T06:00",
        ).stdout
    )
    assert first["status"] == "awaiting_approval" and first["lines"]
    assert not list((home / "outbox").glob("*.eml")), "nothing is paid before approval"
    for role, name in (("disponent", "Dina Disponent"), ("attestant", "Atle Attestant")):
        sio("payout", "approve", "sio-2016", "--run", "2016Q3", "--as", role, "--name", name)
    supplement = [line for line in first["lines"] if line["component"] == "income_supplement"]
    # 4 % of 900 m × 1.027 = 36.97 m, capped at 25 m a year: Q2 (May–June) and Q3 are paid.
    assert {line["period"]: line["amount"] for line in supplement} == {
        "2016Q2": "4166666.67",
        "2016Q3": "6250000.00",
    }
    again = json.loads(
        sio(
            "run",
            "payout",
            "--round",
            "sio-2016",
            "--run",
            "2016Q3",
            "--as-of",
            "2016-07-08T06:00",
        ).stdout
    )
    assert again["status"] == "already_run"

    ledger = sio("ledger", "sio-2016", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(ledger)))
    assert len(rows) == len(first["lines"])  # the second run added nothing
    assert sum(Decimal(r["amount"]) for r in rows) == sum(
        Decimal(line["amount"]) for line in first["lines"]
    )
    statements = list((home / "outbox").glob("*.eml"))
    assert statements, "the finance officer receives the statement"
