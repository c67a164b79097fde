"""``sio up`` serves every deployment; a selection made through Prefect's input form sends letters.

A real Prefect server (started by ``sio up``), real SQLite, a real SMTP server on localhost. The
test plays the operations staff: it starts a selection run, waits until the run is suspended for
input, submits the decision through Prefect's API (as the UI form does) and reads the letters.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import pytest

from sio_domain.norwegian_calendar import OSLO
from tests.support.sio_up import read_log, sio_environment, start_sio_up, stop_sio_up

ROOT = Path(__file__).resolve().parents[2]
STAGES = {
    "application-deadline",
    "selection",
    "signing",
    "gatherings",
    "go-live",
    "status-meetings",
    "reminders",
    "payout",
}


API_AUTH = "sio-staff:test-passord-9"  # SIO_API_AUTH of the served API (HTTP Basic)


def _api(base: str, path: str, body: dict | None = None, *, auth: str | None = API_AUTH) -> object:
    """One call to Prefect's REST API; 503 (its SQLite busy) is retried. A loaded machine may take
    many seconds to answer: the time limit is generous (it costs nothing when answers are fast)."""
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    for attempt in range(10):
        request = urllib.request.Request(
            base + path,
            data=json.dumps(body or {}).encode(),
            method="POST" if body is not None else "GET",
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == 9:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def _logs(base: str, run_id: str) -> str:
    """The run's log lines, for a failure message."""
    entries = _api(
        base,
        "/logs/filter",
        {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200, "sort": "TIMESTAMP_ASC"},
    )
    return "\n".join(e["message"][-2000:] for e in entries)  # type: ignore[union-attr]


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _readme_run_command() -> str:
    from tests.e2e.test_readme import setup_commands

    command = setup_commands()["the main job"]
    assert command == "make run"
    return command


@pytest.fixture(scope="module")
def sio_up(tmp_path_factory, smtp_server):
    """``sio up`` running on a free port, with its own SIO_HOME and the test SMTP server."""
    home = tmp_path_factory.mktemp("sio-up-home")
    env = sio_environment(
        home,
        SIO_SMTP_HOST=smtp_server.host,
        SIO_SMTP_PORT=str(smtp_server.port),
        SIO_STAFF_EMAIL="staff@helsedir.no",
        SIO_API_AUTH=API_AUTH,
    )

    def deployments(base: str):
        try:
            found = _api(base, "/deployments/filter", {"limit": 200})
        except OSError:
            return None
        # the 24 round deployments and, registered after them, the replanning form
        names = {d["name"] for d in found}  # type: ignore[union-attr,index]
        return found if len(found) >= 24 and "omplanlegging" in names else None  # type: ignore[arg-type]

    process, base, found = start_sio_up(
        env, home / "sio-up.log", deployments, 300, "sio up to serve its deployments"
    )
    try:
        yield base, home, env, found
    finally:
        stop_sio_up(process)


def test_sio_up_requires_its_auth_string_and_marks_killed_runs_crashed(sio_up):
    base, _, _, _ = sio_up
    with pytest.raises(urllib.error.HTTPError) as refused:
        _api(base, "/deployments/filter", {"limit": 1}, auth=None)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError):
        _api(base, "/deployments/filter", {"limit": 1}, auth="sio-staff:wrong")

    automations = _api(base, "/automations/filter", {})
    [zombie] = [a for a in automations if a["name"].startswith("sio: mark flow runs")]
    assert zombie["trigger"]["posture"] == "Proactive"
    assert zombie["trigger"]["after"] == ["prefect.flow-run.heartbeat"]
    # A run waiting for staff input (selection, payout approval) sends no heartbeats: its
    # Suspended/Paused event must close the window, or it would be crashed after three minutes.
    assert {"prefect.flow-run.Suspended", "prefect.flow-run.Paused"} <= set(
        zombie["trigger"]["expect"]
    )
    assert [action["type"] for action in zombie["actions"]] == ["change-flow-run-state"]


def test_sio_up_serves_every_stage_of_every_round_with_schedules(sio_up):
    base, _, _, deployments = sio_up
    names = {(d["name"], _api(base, f"/flows/{d['flow_id']}")["name"]) for d in deployments}
    for round_id in ("sio-2016", "sio-2019", "sio-2021"):
        assert {stage for name, stage in names if name == round_id} == STAGES
    reminders = [
        d
        for d in deployments
        if d["name"] == "sio-2016" and _api(base, f"/flows/{d['flow_id']}")["name"] == "reminders"
    ][0]
    schedule = reminders["schedules"][0]["schedule"]
    assert schedule["cron"] == "0 9 * * 1-5" and schedule["timezone"] == "Europe/Oslo"
    assert "round:sio-2016" in reminders["tags"]
    assert ("omplanlegging", "replan") in names  # replanning as a staff form


def test_a_selection_made_in_prefects_input_form_sends_every_decision_letter(
    sio_up, smtp_server, tmp_path
):
    base, home, env, deployments = sio_up
    smtp_server.clear()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        "1714,Randi Rådmann,chief_executive,radmann@stjordal.kommune.no,\n"
        "1243,Rune Rådmann,chief_executive,radmann@os.kommune.no,\n",
        encoding="utf-8",
    )
    applications = tmp_path / "applications.csv"
    applications.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,"
        "attachment\n1714,2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n"
        "1243,2015-11-25T12:00,rådmann,2015-11-12,Profil,s.pdf\n",
        encoding="utf-8",
    )
    for kind, path in (("contacts", contacts), ("applications", applications)):
        done = subprocess.run(
            [sys.executable, "-m", "sio_cli", "import", kind, str(path), "--round", "sio-2016"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    selection = next(
        d
        for d in deployments
        if d["name"] == "sio-2016" and _api(base, f"/flows/{d['flow_id']}")["name"] == "selection"
    )
    as_of = datetime.combine(date(2016, 1, 15), clock(10), tzinfo=OSLO).isoformat()
    run = _api(
        base,
        f"/deployments/{selection['id']}/create_flow_run",
        {
            "parameters": {"round_ref": "sio-2016", "as_of": as_of},
            "state": {
                "type": "SCHEDULED",
                "state_details": {"scheduled_time": datetime.now(UTC).isoformat()},
            },
        },
    )

    def suspended():
        state = _api(base, f"/flow_runs/{run['id']}")["state"]
        assert state["type"] not in ("FAILED", "CRASHED", "COMPLETED"), _logs(base, run["id"])
        return state if state["type"] == "PAUSED" else None

    _wait(suspended, 300, "the selection run to suspend for input")
    staff = smtp_server.messages_for("staff@helsedir.no")
    assert staff, "staff are told that a selection awaits their input"

    def form(os_decision: dict[str, object]) -> dict[str, object]:
        return {
            "run_input": {
                "decided_by": "ministry",
                "decided_on": "2016-01-14",
                "decisions": [
                    {
                        "kommunenummer": "1714",
                        "municipality": "Stjørdal",
                        "decision": "selected",
                        "model": "A",
                    },
                    {"kommunenummer": "1243", "municipality": "Os", **os_decision},
                ],
            }
        }

    def resume(answer_form: dict[str, object]):
        def resumed():
            # The run shows Suspended a moment before Prefect has saved the form's schema.
            answer = _api(base, f"/flow_runs/{run['id']}/resume", answer_form)
            if answer["status"] == "REJECT" and "schema not found" in str(answer["details"]):
                return None
            return answer

        return _wait(resumed, 120, "the input form to be ready")

    # A model outside the round's models is refused by the form itself (a choice of A or B).
    refused = resume(form({"decision": "selected", "model": "C"}))
    assert refused["status"] == "REJECT", refused
    # Selected without a model passes the form but breaks a rule: the run asks again, not fails.
    answer = resume(form({"decision": "selected", "model": None}))
    assert answer["status"] == "ACCEPT", answer
    _wait(suspended, 300, "the selection run to ask again after a refused form")
    assert not smtp_server.messages_for("radmann@stjordal.kommune.no"), "nothing decided yet"
    answer = resume(form({"decision": "rejected", "model": None, "reason": ""}))
    assert answer["status"] == "ACCEPT", answer  # the server validated the input against the form

    def completed():
        state = _api(base, f"/flow_runs/{run['id']}")["state"]
        assert state["type"] not in ("FAILED", "CRASHED"), (
            state.get("message"),
            _logs(base, run["id"]),
        )
        return state["type"] == "COMPLETED"

    _wait(completed, 300, "the resumed selection run to complete")
    stjordal = smtp_server.messages_for("radmann@stjordal.kommune.no")
    os_letters = smtp_server.messages_for("radmann@os.kommune.no")
    received = [(m.rcpt_tos, m.message["Subject"]) for m in smtp_server.messages]
    assert any("modell A" in m.get_body().get_content() for m in stjordal), received
    [rejection] = [m for m in os_letters if str(m["X-SIO-Key"]).strip() == "decision:sio-2016:1243"]
    assert "Vedtak" in str(rejection["Subject"])  # a rejection no longer stops the letters


def _round_ahead(today: date) -> str:
    """Round 2016 moved whole years ahead, so that its application deadline lies ahead of today."""
    import re

    from tasks.intake.round_files import round_file_path

    text = round_file_path("sio-2016").read_text(encoding="utf-8")
    years = next(k for k in range(1, 200) if date(2015 + k, 12, 1) > today + timedelta(days=21))
    text = re.sub(r"\b(20[12]\d)(-\d\d)", lambda m: f"{int(m[1]) + years}{m[2]}", text)
    text = re.sub(r"^(\d{4}) = ", lambda m: f"{int(m[1]) + years} = ", text, flags=re.M)
    text = re.sub(r"unit_prices\.(\d{4})\]", lambda m: f"unit_prices.{int(m[1]) + years}]", text)
    text = text.replace("price_base_year = 2016", f"price_base_year = {2016 + years}")
    return text.replace('id = "sio-2016"', 'id = "sio-ahead"')


def _dated_flow_runs(base: str) -> list[dict]:
    """The scheduled runs of round sio-ahead that ``sio up`` created from the calendar."""
    deployments = _api(base, "/deployments/filter", {"limit": 200})
    ours = [d["id"] for d in deployments if d["name"] == "sio-ahead"]  # type: ignore[index]
    runs = _api(
        base,
        "/flow_runs/filter",
        {
            "flow_runs": {
                "deployment_id": {"any_": ours},
                "state": {"type": {"any_": ["SCHEDULED"]}},
            },
            "limit": 200,
        },
    )
    return [r for r in runs if (r["idempotency_key"] or "").startswith("dated-")]  # type: ignore[union-attr]


def test_sio_up_lists_the_coming_dated_runs_of_a_round_ahead_once(tmp_path):
    """A round placed in SIO_HOME/rounds with its dates ahead: ``sio up`` creates one scheduled
    run per stage run the next-due calendar has work for in the coming weeks, named after it, and
    a second start creates none again (idempotency keys)."""
    from datetime import timedelta as span

    from deployments.dated_runs import HORIZON, dated_runs
    from tasks.intake.round_files import load_round
    from tasks.storage.unit_of_work import unit_of_work

    home = tmp_path / "home"
    (home / "rounds").mkdir(parents=True)
    round_file = home / "rounds" / "ahead.toml"
    today = datetime.now(OSLO).date()
    round_file.write_text(_round_ahead(today), encoding="utf-8")
    env = sio_environment(home, SIO_API_AUTH=API_AUTH)
    up_log = home / "sio-up.log"  # every start appends to it
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        "1714,Randi Rådmann,chief_executive,radmann@stjordal.kommune.no,\n"
        "1243,Kari Kontakt,contact_person,kontakt@os.kommune.no,\n",
        encoding="utf-8",
    )
    deadline = today + span(days=20)
    for command in (
        ["import", "contacts", str(contacts)],
        # The invitation went out yesterday; applications are due in 20 days (decided today).
        *(
            [
                "replan",
                str(round_file),
                "move-milestone",
                name,
                "--to",
                to.isoformat(),
                "--decided-on",
                today.isoformat(),
                "--reason",
                "prøverunde",
            ]
            for name, to in (
                ("invitation", today - span(days=1)),
                ("application_deadline", deadline),
            )
        ),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "sio_cli", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    def calendar(after: datetime) -> dict[str, datetime]:
        round_def = load_round(str(round_file))
        with unit_of_work(f"sqlite:///{home / 'sio.db'}") as uow:
            state = uow.state(round_def, after)
        return {run.name: run.at for run in dated_runs(state, str(round_file), after)}

    def started(count: int) -> tuple[datetime, str]:
        """Start ``sio up``, wait for its count-th report of dated runs: when it began, its API."""
        began = datetime.now().astimezone()

        def reported(_base: str) -> bool:
            log = read_log(up_log)
            assert "could not create the dated runs" not in log, log[-3000:]
            return log.count("dated stage runs") >= count

        process, base, _ = start_sio_up(
            env, up_log, reported, 300, "sio up to create its dated runs"
        )
        processes.append(process)
        return began, base

    closing = deadline + span(days=1)  # the window closes the morning after (crons run Mon–Fri)
    while closing.weekday() >= 5:
        closing += span(days=1)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        began, base = started(1)
        reported = datetime.now().astimezone()
        first = _dated_flow_runs(base)
        # sio up read the calendar at an instant between `began` and `reported`.
        early, late = calendar(began), calendar(reported)
        surely = {n for n, at in late.items() if at <= began + HORIZON}
        names = {run["name"]: run for run in first}
        assert len(names) == len(first), "one run per name"
        assert surely <= set(names) <= set(early) | set(late), (sorted(names), sorted(late))
        assert any(n.startswith("application reminders · sio-ahead · ") for n in names), names
        assert f"application-deadline · sio-ahead · {closing} 07:00" in names, names
        for name, run in names.items():
            at = (early | late)[name]
            assert datetime.fromisoformat(run["expected_start_time"]) == at, name
            assert run["parameters"] == {"round_ref": str(round_file), "as_of": at.isoformat()}

        stop_sio_up(processes.pop())
        _, base = started(2)
        second = _dated_flow_runs(base)
        again = {run["name"]: run["id"] for run in second}
        assert len(again) == len(second), "no run created twice"
        now = datetime.now().astimezone()
        for name, run in names.items():
            if (early | late)[name] > now:
                assert again.get(name) == run["id"], name  # the same run, not a new one

        # While it serves, sio up reads the calendar again: the deadline moved a week on, so the
        # window closes a week later and the run at the old closing is withdrawn.
        stop_sio_up(processes.pop())
        env["SIO_DATED_RUNS_REFRESH_MINUTES"] = "0.1"
        _, base = started(3)
        later = deadline + span(days=7)
        moved = subprocess.run(
            [sys.executable, "-m", "sio_cli", "replan", str(round_file), "move-milestone",
             "application_deadline", "--to", later.isoformat(), "--decided-on",
             today.isoformat(), "--reason", "fristen forlenget"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr
        new_closing = later + span(days=1)
        while new_closing.weekday() >= 5:
            new_closing += span(days=1)
        old_name = f"application-deadline · sio-ahead · {closing} 07:00"
        new_name = f"application-deadline · sio-ahead · {new_closing} 07:00"

        def refreshed() -> set[str] | None:
            # The reading deletes the old run first and reports it after, so both are awaited.
            names = {run["name"] for run in _dated_flow_runs(base)}
            moved_on = new_name in names and old_name not in names
            return names if moved_on and "no longer due withdrawn" in read_log(up_log) else None

        after = _wait(refreshed, 300, "sio up to read the moved deadline")
        assert len(after) == len(_dated_flow_runs(base)), "one run per name"
        assert "could not refresh" not in read_log(up_log), read_log(up_log)[-3000:]
    finally:
        for process in processes:
            stop_sio_up(process)


IDLE_AS_OF = "2015-09-01T09:00"  # before the invitation: nothing due, no mail waiting


def _sio_run(env: dict[str, str], base: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", "run", *args],
        cwd=ROOT,
        env=dict(env, PREFECT_API_URL=base),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_an_idle_stage_run_is_recorded_as_a_completed_run_of_the_served_flow(sio_up):
    base, _, env, deployments = sio_up
    done = _sio_run(env, base, "reminders", "--round", "sio-2016", "--as-of", IDLE_AS_OF)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "stage": "reminders",
        "round": "sio-2016",
        "as_of": "2015-09-01T09:00:00+02:00",
        "queued_mail": 0,
        "mail": {"sent": 0, "skipped": 0},
        "waiting_for_input": False,
        "notes": [],
        "rows": [],
    }
    name = f"reminders · sio-2016 · {IDLE_AS_OF}"
    [run] = _api(base, "/flow_runs/filter", {"flow_runs": {"name": {"any_": [name]}}})
    served = {
        _api(base, f"/flows/{d['flow_id']}")["name"]: d["flow_id"]  # type: ignore[index]
        for d in deployments
        if d["name"] == "sio-2016"
    }
    assert run["flow_id"] == served["reminders"]  # beside the deployment's own runs in the UI
    assert run["state_type"] == "COMPLETED"
    message = run["state"]["message"]
    assert message.startswith("Ingenting forfaller i reminders for sio-2016 per 01.09.2015 09:00")
    assert run["tags"] == ["round:sio-2016"]
    assert run["parameters"] == {"round_ref": "sio-2016", "as_of": IDLE_AS_OF, "kommune": None}
    assert run["start_time"] and run["end_time"] and run["run_count"] == 1
    assert _api(base, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}}) == []
    assert _logs(base, run["id"]) == message
    [line] = done.stderr.strip().splitlines()  # where staff find it, as Prefect's own "View at"
    assert line.startswith("sio: nothing due: ") and line.endswith(f"/runs/flow-run/{run['id']}")

    # For one municipality the name and tags say so, as the flow's own would.
    one = _sio_run(
        env, base, "status-meetings", "--round", "sio-2016", "--as-of", IDLE_AS_OF,
        "--kommune", "1714",
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    named = f"status-meetings · sio-2016 · 1714 · {IDLE_AS_OF}"
    [run] = _api(base, "/flow_runs/filter", {"flow_runs": {"name": {"any_": [named]}}})
    assert run["tags"] == ["round:sio-2016", "kommune:1714"]
    assert "for sio-2016, kommune 1714 per" in run["state"]["message"]


def test_an_idle_run_without_the_served_api_s_credentials_is_one_line(sio_up):
    base, _, env, _ = sio_up
    without = {k: v for k, v in env.items() if k != "SIO_API_AUTH"}
    refused = _sio_run(without, base, "reminders", "--round", "sio-2016", "--as-of", IDLE_AS_OF)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert "Prefect API" in line and "401" in line and "Traceback" not in refused.stderr
