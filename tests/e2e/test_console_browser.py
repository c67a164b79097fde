"""The Prefect UI as staff use it, in a real browser (Debian's Chromium, driven by Playwright).

``sio up`` on a free port with its own SIO_HOME and the test SMTP server; Hobøl and Stjørdal have
applied to round 2016 and the selection is made. Then, at 1 280 × 800 as a person would: the
deployments page lists the staff forms; the round's overview links each municipality to its case
file; Hobøl's case file shows its decision letter; the signature form is filled and submitted; the
task «vår signatur mangler» appears on the task list, and disappears once the directorate's
signature is submitted too. Screenshots are saved under the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

import pytest

from sio_domain.norwegian_calendar import OSLO
from tests.e2e.test_sio_up import ROOT, _api, _logs, _wait
from tests.support.free_port import free_tcp_port

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_IMG = ROOT / "docs" / "img"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def console(tmp_path_factory, smtp_server):
    """``sio up`` with two applicants imported; yields the UI's base URL and the API's."""
    home = tmp_path_factory.mktemp("console-home")
    port = free_tcp_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env.update(
        SIO_HOME=str(home),
        SIO_SMTP_HOST=smtp_server.host,
        SIO_SMTP_PORT=str(smtp_server.port),
        SIO_STAFF_EMAIL="staff@helsedir.no",
    )
    (home / "contacts.csv").write_text(
        "kommunenummer,name,role,email,phone\n"
        "0138,Hanne Hobøl,chief_executive,radmann@hobol.kommune.no,\n"
        "0138,Kari Kontakt,contact_person,kontakt@hobol.kommune.no,\n"
        "1714,Randi Rådmann,chief_executive,radmann@stjordal.kommune.no,\n",
        encoding="utf-8",
    )
    (home / "applications.csv").write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,"
        "attachment\n0138,2015-11-26T12:00,rådmann,2015-11-10,Gerica,s.pdf\n"
        "1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n",
        encoding="utf-8",
    )
    for kind in ("contacts", "applications"):
        done = subprocess.run(
            [sys.executable, "-m", "sio_cli", "import", kind, str(home / f"{kind}.csv")]
            + ["--round", "sio-2016"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    log = (home / "sio-up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sio_cli", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def served():
        try:
            return _api(base + "/api", "/deployments/name/registrer-signatur/skjema")
        except OSError:
            return None

    try:
        _wait(served, 240, "sio up to serve the staff forms")
        yield base, base + "/api"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _select(api: str) -> None:
    """The selection as staff submit it on the suspended run (the form the UI shows)."""
    deployment = _api(api, "/deployments/name/selection/sio-2016")
    as_of = datetime.combine(date(2016, 1, 15), clock(10), tzinfo=OSLO).isoformat()
    run = _api(
        api,
        f"/deployments/{deployment['id']}/create_flow_run",
        {
            "parameters": {"round_ref": "sio-2016", "as_of": as_of},
            "state": {
                "type": "SCHEDULED",
                "state_details": {"scheduled_time": datetime.now(UTC).isoformat()},
            },
        },
    )

    def state() -> dict:
        return _api(api, f"/flow_runs/{run['id']}")["state"]  # type: ignore[index,return-value]

    _wait(lambda: state()["type"] == "PAUSED", 120, "the selection to wait for input")
    form = {
        "run_input": {
            "decided_by": "ministry",
            "decided_on": "2016-01-14",
            "decisions": [
                {"kommunenummer": k, "municipality": n, "decision": "selected", "model": "A"}
                for k, n in (("0138", "Hobøl"), ("1714", "Stjørdal"))
            ],
        }
    }

    def resumed():
        answer = _api(api, f"/flow_runs/{run['id']}/resume", form)
        return None if "schema not found" in str(answer["details"]) else answer  # type: ignore[index]

    _wait(resumed, 60, "the input form to be ready")
    _wait(lambda: state()["type"] in ("COMPLETED", "FAILED"), 120, "the selection to finish")
    assert state()["type"] == "COMPLETED", _logs(api, run["id"])


def _submit_signature(page, base: str, api: str, party: str) -> dict:
    """Fill the signature form in the UI and submit it; returns the run it started."""
    deployment = _api(api, "/deployments/name/registrer-signatur/skjema")
    page.goto(f"{base}/deployments/deployment/{deployment['id']}/run")
    page.get_by_text("Kommunenummer", exact=True).wait_for()
    selects = page.locator(".p-select-button__control")
    for index, value in ((0, "sio-2016"), (1, party)):
        selects.nth(index).focus()
        page.keyboard.press("ArrowDown")
        page.locator(".p-select-option__text", has_text=value).first.click()
    areas = page.locator("textarea")
    areas.nth(0).fill("0138")
    areas.nth(1).fill("Hobøl" if party == "municipality" else "Oslo")
    areas.nth(2).fill("Rådmann" if party == "municipality" else "Direktør")
    page.locator(".p-date-button__control").nth(0).click(force=True)
    page.locator("input[type=date]").first.fill("2016-01-20")
    page.get_by_role("button", name="Apply").click()
    before = _runs_of(api, deployment["id"])
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/deployments/deployment/**tab=Runs**")  # the deployment's runs
    run_id = _wait(
        lambda: next(iter(_runs_of(api, deployment["id"]) - before), None),
        30,
        "the form's run to be created",
    )

    def finished():
        state = _api(api, f"/flow_runs/{run_id}")["state"]  # type: ignore[index]
        return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    state = _wait(finished, 90, "the signature run to finish")
    assert state["type"] == "COMPLETED", (state["message"], _logs(api, run_id))
    return state


def _runs_of(api: str, deployment_id: str) -> set[str]:
    found = _api(
        api, "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 50}
    )
    return {run["id"] for run in found}  # type: ignore[union-attr,index]


def _artifact(page, base: str, key: str, shot: Path, expect: str) -> str:
    """Open an artifact as a person does: its key's page, then its latest version."""
    page.goto(f"{base}/artifacts/key/{key}")
    page.locator("a[href*='/artifacts/artifact/']").first.click()
    page.get_by_text(expect).first.wait_for(timeout=30_000)
    page.screenshot(path=str(shot), full_page=True)
    return page.inner_text("main") if page.locator("main").count() else page.inner_text("body")


def test_staff_run_the_round_from_the_prefect_ui(console, tmp_path):
    from playwright.sync_api import sync_playwright

    base, api = console
    _select(api)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{base}/deployments")
            page.get_by_placeholder("Search deployments").fill("skjema")
            page.get_by_text("registrer-signatur").first.wait_for()
            page.screenshot(path=str(tmp_path / "deployments.png"))
            assert page.get_by_text("skjema").count() >= 1

            text = _artifact(
                page,
                base,
                "round-dashboard-sio-2016-oversikt",
                tmp_path / "dashboard.png",
                "Hobøl 0138",
            )
            assert "venter på oss" in text and "forbereder (A)" in text
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"the overview is {width} px wide"
            link = page.get_by_role("link", name="Hobøl 0138").first
            href = link.get_attribute("href") or ""
            assert href.startswith("/artifacts/artifact/"), href
            page.goto(base + href)  # the UI's markdown links open a new tab
            page.get_by_text("tilbud om deltakelse").first.wait_for()
            page.screenshot(path=str(tmp_path / "case-file.png"), full_page=True)
            case_file = page.inner_text("body")
            assert "Kari Kontakt" in case_file and "signert samarbeidsavtale" in case_file

            _submit_signature(page, base, api, "municipality")
            tasks = _artifact(
                page, base, "oppgaver-sio-2016", tmp_path / "tasks.png", "vår signatur mangler"
            )
            assert "Hobøl (0138)" in tasks
            _submit_signature(page, base, api, "directorate")
            after = _artifact(
                page, base, "oppgaver-sio-2016", tmp_path / "tasks-after.png", "venter siden"
            )
            assert "vår signatur mangler" not in after
        finally:
            browser.close()
    events = _api(
        api,
        "/events/filter",
        {"filter": {"related": {"id": ["sio.kommune.0138"]}}, "limit": 50},
    )
    names = {e["event"] for e in events["events"]}  # type: ignore[index]
    assert {"sio.municipality.selected", "sio.letter.sent", "sio.agreement.received"} <= names, (
        names
    )
    if os.environ.get("SIO_UPDATE_DOCS_IMG"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for name in ("dashboard.png", "case-file.png"):
            shutil.copy(tmp_path / name, DOCS_IMG / name)
