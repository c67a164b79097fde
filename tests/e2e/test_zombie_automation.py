"""The automation that crashes killed runs must leave runs waiting for staff input alone.

A selection or payout approval suspended for its form sends no heartbeats; if its *Suspended*
event did not close the automation's window, the run would be marked crashed three heartbeat
periods later. A server set up by an older ``sio up`` (without those events) is brought up to
date on the next start, keeping the automation's id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
from prefect.automations import Automation
from deployments import serving

WAITING = {"prefect.flow-run.Suspended", "prefect.flow-run.Paused"}
assert serving.ensure_zombie_automation() is True, "not created"
created = Automation.read(name=serving.ZOMBIE_AUTOMATION)
assert WAITING <= created.trigger.expect, created.trigger.expect
assert serving.ensure_zombie_automation() is False, "created twice"

created.trigger.expect = created.trigger.expect - WAITING  # as an older sio up made it
created.update()
assert not WAITING & Automation.read(name=serving.ZOMBIE_AUTOMATION).trigger.expect

assert serving.ensure_zombie_automation() is True, "old automation not updated"
updated = Automation.read(name=serving.ZOMBIE_AUTOMATION)
assert WAITING <= updated.trigger.expect and updated.id == created.id
print("ok")
"""


def test_runs_waiting_for_input_are_not_crashed_and_old_automations_are_updated(
    prefect_api_url: str,
) -> None:
    env = os.environ | {"PREFECT_API_URL": prefect_api_url}
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
