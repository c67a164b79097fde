"""The Prefect UI as staff use it, in a real browser (Debian's Chromium, driven by Playwright).

``sio up`` on a free port with its own SIO_HOME and the test SMTP server; Hobøl and Stjørdal have
applied to round 2016. Then, at 1 280 × 800 as a person would: the selection is made in the
suspended run's form (Resume → both selected, model A); a payout run holds Hobøl back (its
agreement is not signed); the round's overview fits the window without sideways scrolling and
links to Hobøl's case file, which shows its letters, its payouts and the held line with the reason;
the signature form is filled and submitted, the task «vår signatur mangler» appears on the task
list (which fits the pane too) and disappears once the directorate's signature is submitted; a
meeting time is recorded in its form and shows in the case file. Then Hobøl, signed now, with its
baseline and kontonummer recorded, is paid by the 2016Q3 run and held by the 2017Q2 run (its 2016
annual report, due 03.04.2017, is not recorded); both runs are approved on the command line. Its
case file shows the paid amount, to the øre, beside the held line and its reason in bokmål. The
Event Feed, opened filtered on Hobøl's resource as staff share it, lists Hobøl's events — the
payouts approved on the command line too — and not Stjørdal's. Screenshots are saved under the
test's tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

import pytest

from sio_domain.norwegian_calendar import OSLO
from tests.e2e.test_sio_up import ROOT, _api, _logs, _wait
from tests.support.sio_up import sio_environment, start_sio_up, stop_sio_up

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
    env = sio_environment(
        home,
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
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    def served(api: str):
        try:
            return _api(api, "/deployments/name/registrer-signatur/skjema")
        except OSError:
            return None

    process, api, _ = start_sio_up(
        env, home / "sio-up.log", served, 300, "sio up to serve the staff forms"
    )
    try:
        yield api.removesuffix("/api"), api, env
    finally:
        stop_sio_up(process)


def _start_selection(api: str) -> str:
    """The selection run as its schedule starts it; returns its id once it waits for input."""
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
    _wait(lambda: _state(api, run["id"])["type"] == "PAUSED", 300, "the selection to wait")
    return run["id"]  # type: ignore[no-any-return]


def _state(api: str, run_id: str) -> dict:
    return _api(api, f"/flow_runs/{run_id}")["state"]  # type: ignore[index,return-value]


def _property(scope, label: str):
    """The innermost form property with this label (a list's items each have their own)."""
    return scope.locator(".schema-form-property__label", has_text=label).locator(
        "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '),"
        " ' schema-form-property ')][1]"
    )


def _choose(page, control, value: str) -> None:
    control.focus()
    page.keyboard.press("ArrowDown")
    page.locator(".p-select-option__text", has_text=value).first.click()


def _select_in_the_form(page, base: str, api: str, run_id: str, shot: Path) -> None:
    """Resume the suspended run with its form: every applicant selected, model A."""
    page.goto(f"{base}/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Resume").first.click()
    modal = page.locator(".p-modal__card")
    modal.get_by_text("Kommunenummer").first.wait_for()
    models, decisions = _property(modal, "Modell"), _property(modal, "Vedtak")
    assert models.count() == decisions.count() == 2  # one line per applicant
    for index in range(2):
        models.nth(index).get_by_role("button", name="str", exact=True).click()
        _choose(page, decisions.nth(index).locator(".p-select-button__control"), "selected")
        _choose(page, models.nth(index).locator(".p-select-button__control"), "A")
    page.screenshot(path=str(shot))
    modal.get_by_role("button", name="Submit").click()
    _wait(
        lambda: _state(api, run_id)["type"] in ("COMPLETED", "FAILED", "CRASHED"),
        300,
        "the selection to finish",
    )
    assert _state(api, run_id)["type"] == "COMPLETED", _logs(api, run_id)


def _cli(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sio_cli", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _approve(env: dict[str, str], run: str) -> None:
    """Both approvals of the run's proposal, on the command line; the second pays the run."""
    for role, name in (("disponent", "Dina Disponent"), ("attestant", "Atle Attestant")):
        _cli(env, "payout", "approve", "sio-2016", "--run", run, "--as", role, "--name", name)


def _pay_the_quarter(env: dict[str, str]) -> None:
    """The 2016Q2 payout run, approved by two people (CLI): Hobøl is held back, unsigned."""
    _cli(env, "payout", "sio-2016", "--run", "2016Q2")
    _approve(env, "2016Q2")


def _pay_then_hold_hobol(env: dict[str, str], folder: Path) -> Decimal:
    """Hobøl (signed by now) gets its 2015 baseline and a kontonummer; the 2016Q3 run, held as
    its deployment would on its day, pays it, and the 2017Q2 run holds it: the 2016 annual
    report, due 03.04.2017, is not recorded. Returns what Hobøl was paid, from the ledger."""
    baseline = folder / "expenditure.csv"
    baseline.write_text(
        "kommunenummer,year,function,amount\n0138,2015,254,123456789.01\n", encoding="utf-8"
    )
    _cli(env, "import", "expenditure", str(baseline))
    _cli(env, "record", "account", "sio-2016", "0138", "--account", "86011117947")
    for run, as_of in (("2016Q3", "2016-07-07T06:00"), ("2017Q2", "2017-04-07T06:00")):
        _cli(env, "run", "payout", "--round", "sio-2016", "--run", run, "--as-of", as_of)
        _approve(env, run)
    lines = json.loads(_cli(env, "ledger", "sio-2016", "--kommune", "0138", "--format", "json"))
    assert {line["run"] for line in lines} == {"2016Q3"}, lines
    return sum((Decimal(line["amount"]) for line in lines), Decimal("0.00"))


def _run_form(api: str, action: str, parameters: dict[str, str]) -> None:
    """Run a staff form's deployment with these answers (as Submit does); wait until done."""
    deployment = _api(api, f"/deployments/name/{action}/skjema")
    run = _api(api, f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters})
    _wait(
        lambda: _state(api, run["id"])["type"] in ("COMPLETED", "FAILED", "CRASHED"),
        120,
        f"the {action} run to finish",
    )
    assert _state(api, run["id"])["type"] == "COMPLETED", _logs(api, run["id"])


def _sideways(page) -> list[str]:
    """Elements that scroll sideways (the page, or a table inside its pane)."""
    return page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll('main *')]
          .filter(e => e.scrollWidth > e.clientWidth + 1
            && (e === document.documentElement || getComputedStyle(e).overflowX !== 'visible'))
          .filter(e => !e.classList.contains('sr-only'))
          .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)"""
    )


def _open_form(page, base: str, api: str, action: str) -> dict:
    deployment = _api(api, f"/deployments/name/{action}/skjema")
    page.goto(f"{base}/deployments/deployment/{deployment['id']}/run")
    page.get_by_text("Kommunenummer", exact=True).wait_for()
    return deployment  # type: ignore[return-value]


def _submit_form(page, api: str, deployment: dict, what: str) -> None:
    """Submit the open form; wait for the run it starts to complete."""
    before = _runs_of(api, deployment["id"])
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/deployments/deployment/**tab=Runs**")  # the deployment's runs
    run_id = _wait(
        lambda: next(iter(_runs_of(api, deployment["id"]) - before), None),
        120,
        f"the {what} run to be created",
    )

    def finished():
        state = _state(api, run_id)
        return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    state = _wait(finished, 300, f"the {what} run to finish")
    assert state["type"] == "COMPLETED", (state["message"], _logs(api, run_id))


def _submit_signature(page, base: str, api: str, party: str) -> None:
    """Fill the signature form in the UI and submit it."""
    deployment = _open_form(page, base, api, "registrer-signatur")
    selects = page.locator(".p-select-button__control")
    for index, value in ((0, "sio-2016"), (1, party)):
        _choose(page, selects.nth(index), value)
    areas = page.locator("textarea")
    areas.nth(0).fill("0138")
    areas.nth(1).fill("Hobøl" if party == "municipality" else "Oslo")
    areas.nth(2).fill("Rådmann" if party == "municipality" else "Direktør")
    page.locator(".p-date-button__control").nth(0).click(force=True)
    page.locator("input[type=date]").first.fill("2016-01-20")
    page.get_by_role("button", name="Apply").click()
    _submit_form(page, api, deployment, f"signature ({party})")


def _submit_meeting_time(page, base: str, api: str) -> None:
    """Move Hobøl's June status meeting to 14.06.2016 13:00, typed as staff agreed it: in Oslo
    time (the form's date-and-time picker would have started in UTC)."""
    deployment = _open_form(page, base, api, "registrer-motetid")
    _choose(page, page.locator(".p-select-button__control").nth(0), "sio-2016")
    areas = page.locator("textarea")
    areas.nth(0).fill("0138")
    areas.nth(1).fill("2016-06")
    areas.nth(2).fill("13:00")
    day = _property(page, "Dato")
    day.locator(".p-date-button__control").click(force=True)
    page.locator("input[type=date]").first.fill("2016-06-14")
    page.get_by_role("button", name="Apply").click()
    assert "Klokkeslett" in page.inner_text("body")
    _submit_form(page, api, deployment, "meeting time")


def _runs_of(api: str, deployment_id: str) -> set[str]:
    found = _api(
        api, "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 50}
    )
    return {run["id"] for run in found}  # type: ignore[union-attr,index]


def _artifact(page, base: str, key: str, shot: Path, expect: str) -> str:
    """Open an artifact as a person does: its key's page, then its latest version."""
    page.goto(f"{base}/artifacts/key/{key}")
    page.locator("a[href*='/artifacts/artifact/']").first.click()
    page.get_by_text(expect).first.wait_for(timeout=90_000)
    page.screenshot(path=str(shot), full_page=True)
    return page.inner_text("main") if page.locator("main").count() else page.inner_text("body")


def test_staff_run_the_round_from_the_prefect_ui(console, tmp_path):
    from playwright.sync_api import sync_playwright

    base, api, env = console
    env = {**env, "PREFECT_API_URL": api}  # the approvals' events go to the served API
    selection = _start_selection(api)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(90_000)  # a busy machine: waiting costs nothing when fast
        try:
            _select_in_the_form(page, base, api, selection, tmp_path / "selection-form.png")
            text = _artifact(  # as the selection run published it (as of 15.01.2016)
                page,
                base,
                "round-dashboard-sio-2016-oversikt",
                tmp_path / "dashboard.png",
                "Hobøl 0138",
            )
            assert "venter på oss" in text and "forbereder (A)" in text
            assert not _sideways(page), _sideways(page)
            link = page.get_by_role("link", name="Hobøl 0138").first
            href = link.get_attribute("href") or ""
            assert href.startswith("/artifacts/artifact/"), href
            page.goto(base + href)  # the UI's markdown links open a new tab
            page.get_by_text("tilbud om deltakelse").first.wait_for()  # its decision letter
            _pay_the_quarter(env)

            page.goto(f"{base}/deployments")
            page.get_by_placeholder("Search deployments").fill("skjema")
            page.get_by_text("registrer-signatur").first.wait_for()
            page.screenshot(path=str(tmp_path / "deployments.png"))
            assert page.get_by_text("skjema").count() >= 1

            _submit_signature(page, base, api, "municipality")  # publishes the console again
            page.goto(f"{base}/artifacts/key/kommune-0138-sio-2016")
            href = page.locator("a[href*='/artifacts/artifact/']").first.get_attribute("href")
            assert href, "the case file has a version"
            page.goto(base + href)  # its latest version: the payout run and the signature
            page.get_by_text("tilbud om deltakelse").first.wait_for()
            page.screenshot(path=str(tmp_path / "case-file.png"), full_page=True)
            case_file = page.inner_text("body")
            assert "Kari Kontakt" in case_file and "signert samarbeidsavtale" in case_file
            assert "Utbetalinger" in case_file and "Holdt tilbake" in case_file
            assert (
                "2016Q2: Helsedirektoratet har ikke mottatt samarbeidsavtalen signert av kommunen"
                in case_file
            )
            assert "the directorate has not received" not in case_file  # bokmål for staff

            tasks = _artifact(
                page, base, "oppgaver-sio-2016", tmp_path / "tasks.png", "vår signatur mangler"
            )
            assert "Hobøl (0138)" in tasks
            assert "holdt tilbake" in tasks and "directorate" not in tasks  # reasons in bokmål
            assert not _sideways(page), _sideways(page)
            _submit_signature(page, base, api, "directorate")
            after = _artifact(
                page, base, "oppgaver-sio-2016", tmp_path / "tasks-after.png", "venter siden"
            )
            assert "vår signatur mangler" not in after

            _submit_meeting_time(page, base, api)
            agreed = _artifact(
                page, base, "kommune-0138-sio-2016", tmp_path / "case-file-after.png", "Møter"
            )
            assert "14.06.2016 13:00" in agreed, agreed

            paid = _pay_then_hold_hobol(env, tmp_path)
            [table] = _api(  # the run's proposal as published: held rows say why, in bokmål
                api,
                "/artifacts/filter",
                {"artifacts": {"key": {"any_": ["payout-sio-2016-2017q2"]}}, "limit": 1},
            )
            held_row = next(
                row for row in json.loads(table["data"]) if row["kommunenummer"] == "0138"
            )
            assert held_row["status"] == (
                "holdt tilbake: årsrapporten for 2016 er ikke registrert levert (frist 03.04.2017)"
            ), held_row
            # staff record the late report after the run: the case file is published again and
            # still shows the run's hold until the next run catches up
            _run_form(
                api,
                "registrer-aktivitet",
                {
                    "round_ref": "sio-2016",
                    "kommunenummer": "0138",
                    "activity": "annual_report:2016",
                    "on": "2017-05-02",
                },
            )
            shown = f"{paid:,.2f}".replace(",", " ")  # kroner and øre, thousands parted by a space
            held = _artifact(
                page,
                base,
                "kommune-0138-sio-2016",
                tmp_path / "case-file-paid-and-held.png",
                "årsrapporten for 2016",
            )
            assert (
                "2017Q2: årsrapporten for 2016 er ikke registrert levert (frist 03.04.2017)"
                f" (utbetalt hittil i runden: {shown})" in held
            ), held
            row = next(line for line in held.splitlines() if line.startswith("2016Q3"))
            assert row.split()[-len(shown.split()) :] == shown.split(), row  # its sum column
            assert "annual report" not in held

            # The feed as staff share it. Prefect takes in events asynchronously, so the newest
            # (the meeting just agreed) may need a reload before it is listed.
            expected = (
                "sio.agreement.received",
                "sio.municipality.selected",
                "sio.meeting.agreed",
                "sio.payout.paid",  # approved on the command line
                "sio.payout.held",
            )
            deadline = time.monotonic() + 90
            while True:
                page.goto(f"{base}/events?resource=sio.kommune.0138")
                page.get_by_text("sio.agreement.received").first.wait_for()
                feed = page.inner_text("body")
                if all(name in feed for name in expected) or time.monotonic() > deadline:
                    break
                time.sleep(3)
            page.screenshot(path=str(tmp_path / "events.png"))
            assert "sio.municipality.selected" in feed and "sio.meeting.agreed" in feed
            assert "sio.payout.paid" in feed and "sio.payout.held" in feed
            assert "sio.letter.decision:sio-2016:0138" in feed
            assert "sio.letter.decision:sio-2016:1714" not in feed  # Stjørdal's are not listed
        finally:
            browser.close()
    if os.environ.get("SIO_UPDATE_DOCS_IMG"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for name in ("dashboard.png", "case-file.png", "tasks.png", "events.png"):
            shutil.copy(tmp_path / name, DOCS_IMG / name)
