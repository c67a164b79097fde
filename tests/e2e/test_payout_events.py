"""``sio payout approve`` puts the run it pays into Prefect's Event Feed, once, as the flow does.

Round 2016: Stjørdal (1714) signed and payable, Hobøl (0138) taking part but unsigned. The
2016Q3 run is held and approved on the command line against the session's Prefect server; the
feed then has one ``sio.payout.paid`` for Stjørdal and one ``sio.payout.held`` for Hobøl, made by
the flow's own definition, and a repeated approval or hold adds none. Without a Prefect API the
approval still pays, and one line says the events were not sent.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from deployments.settings import load_settings
from tasks.storage.database import session_for
from tasks.storage.tables import ParticipationRecord
from tests.e2e.test_finance_commands import invoke, stjordal  # noqa: F401 — the fixture
from tests.e2e.test_sio_up import _api
from tests.support.free_port import free_tcp_port
from tests.support.payout_approval import ATTESTANT, DISPONENT

SETTLE_SECONDS = 6.0
"""How long the feed is watched after the events arrived, for any that would come twice."""


def _hobol_unsigned() -> None:
    with session_for(load_settings().resolved_database_url) as session:
        session.add(
            ParticipationRecord(
                round_id="sio-2016",
                kommunenummer="0138",
                model="A",
                start=date(2016, 5, 1),
                end=date(2019, 4, 30),
                abf_start=date(2016, 5, 1),
            )
        )
        session.commit()


def _approve(role: str, name: str) -> tuple[int, str]:
    code, _, err = invoke(
        "payout", "approve", "sio-2016", "--run", "2016Q3", "--as", role, "--name", name
    )
    return code, err


def _payout_events(api: str, since: datetime) -> list[dict[str, Any]]:
    found = _api(
        api,
        "/events/filter",
        {
            "filter": {
                "occurred": {"since": since.isoformat()},
                "event": {"prefix": ["sio.payout."]},
                "any_resource": {"id_prefix": ["sio.payout.sio-2016.2016q3."]},
            },
            "limit": 50,
        },
        auth=None,
    )
    return found["events"]  # type: ignore[index,no-any-return]


@pytest.mark.usefixtures("stjordal")
def test_a_payout_approved_on_the_command_line_is_in_each_municipalitys_feed_once(
    reporting_to_prefect_server: str,
) -> None:
    api, since = reporting_to_prefect_server, datetime.now(UTC) - timedelta(seconds=1)
    _hobol_unsigned()
    code, out, err = invoke("payout", "sio-2016", "--run", "2016Q3", "--format", "json")
    assert code == 0 and json.loads(out)["status"] == "awaiting_approval", err
    code, err = _approve("disponent", DISPONENT)
    assert code == 0 and "events" not in err, err  # nothing is paid yet: nothing to tell
    code, err = _approve("attestant", ATTESTANT)
    assert code == 0 and "2 events of run 2016Q3 sent to Prefect's Event Feed" in err, err
    assert _approve("attestant", ATTESTANT)[0] == 1  # refused: the run is paid already
    code, out, _ = invoke("payout", "sio-2016", "--run", "2016Q3", "--format", "json")
    paid = json.loads(out)
    assert code == 0 and paid["status"] == "already_run"

    deadline = time.monotonic() + 60
    while len(events := _payout_events(api, since)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(SETTLE_SECONDS)
    events = _payout_events(api, since)
    by_kind = sorted((e["event"], e["resource"]["prefect.resource.id"]) for e in events)
    assert by_kind == [
        ("sio.payout.held", "sio.payout.sio-2016.2016q3.0138"),
        ("sio.payout.paid", "sio.payout.sio-2016.2016q3.1714"),
    ]
    held, payment = sorted(events, key=lambda e: e["event"])
    lines = [line for line in paid["lines"] if line["kommunenummer"] == "1714"]
    amount = sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))
    assert payment["payload"] == {
        "run": "2016Q3",
        "amount": f"{amount:.2f}",
        "lines": len(lines),
        "as_of": payment["payload"]["as_of"],
    }
    assert (
        "the directorate has not received the agreement signed by the municipality"
        in (
            held["payload"]["reasons"]  # the machine-readable reasons, as the flow sends them
        )
    )
    kommune = {
        r["prefect.resource.id"]
        for r in payment["related"] + held["related"]
        if r["prefect.resource.role"] == "kommune"
    }
    assert kommune == {"sio.kommune.1714", "sio.kommune.0138"}


@pytest.mark.usefixtures("stjordal")
def test_without_a_prefect_api_the_approval_pays_and_one_line_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nobody = f"http://127.0.0.1:{free_tcp_port('127.0.0.1')}/api"
    monkeypatch.setenv("PREFECT_API_URL", nobody)
    code, _, err = invoke("payout", "sio-2016", "--run", "2016Q3")
    assert code == 0, err
    assert _approve("disponent", DISPONENT)[0] == 0
    code, err = _approve("attestant", ATTESTANT)
    lines = [line for line in err.splitlines() if "events" in line]
    assert code == 0 and "approved" in err and "and paid" in err, err
    assert lines == [
        "sio: run 2016Q3 is approved and paid, but its events (sio.payout.paid, sio.payout.held)"
        f" could not be sent: no Prefect API answers at {nobody} (start `sio up` or set"
        " PREFECT_API_URL)"
    ]
    code, out, _ = invoke("payout", "sio-2016", "--run", "2016Q3", "--format", "json")
    assert code == 0 and json.loads(out)["status"] == "already_run"  # the payment stands


@pytest.mark.usefixtures("stjordal")
def test_the_active_prefect_profile_names_the_api_as_for_sio_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_tcp_port('127.0.0.1')}/api"
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'active = "trial"\n[profiles.trial]\nPREFECT_API_URL = "{nobody}"\n', encoding="utf-8"
    )
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    assert invoke("payout", "sio-2016", "--run", "2016Q3")[0] == 0
    assert _approve("disponent", DISPONENT)[0] == 0
    code, err = _approve("attestant", ATTESTANT)
    assert code == 0 and f"could not be sent: no Prefect API answers at {nobody}" in err, err
