"""``sio plan`` and ``sio rounds`` as a user runs them: JSON, ICS, tables and errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from sio_cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _json(*args: str) -> list[dict]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_plan_2016_model_a_json_reproduces_the_seeds():
    events = _json("plan", "sio-2016", "--model", "A")
    by_kind: dict[str, list[dict]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    assert [e["start"] for e in by_kind["application_deadline"]] == ["2015-12-01"]
    assert [e["start"] for e in by_kind["selection_deadline"]] == ["2016-01-15"]
    assert [e["start"] for e in by_kind["agreement_deadline"]] == ["2016-02-01"]
    assert [(e["start"], e["end"]) for e in by_kind["gathering"] if e["start"] != e["end"]] == [
        ("2016-03-08", "2016-03-09"),
        ("2016-04-12", "2016-04-13"),
    ]
    assert [e["start"] for e in by_kind["go_live"]] == ["2016-05-01"]
    months = [e["start"][:7] for e in by_kind["status_meeting"]]
    assert months[:6] == ["2016-06", "2016-07", "2016-08", "2016-09", "2016-11", "2017-01"]
    assert months[6:] == [
        f"{y}-{m}"
        for y, m in [
            (2017, "04"),
            (2017, "07"),
            (2017, "10"),
            (2018, "01"),
            (2018, "04"),
            (2018, "07"),
            (2018, "10"),
            (2019, "01"),
            (2019, "04"),
            (2019, "07"),
        ]
    ]
    assert set(events[0]) == {
        "kind",
        "title",
        "start",
        "end",
        "all_day",
        "nominal",
        "firm",
        "responsible",
        "municipality",
        "model",
        "source",
    }


def test_plan_2016_model_b_json_has_four_status_meetings():
    events = _json("plan", "sio-2016", "--model", "B")
    meetings = [e["start"][:7] for e in events if e["kind"] == "status_meeting"]
    assert meetings == ["2016-11", "2017-05", "2018-05", "2019-05"]


def test_plan_ics_is_a_valid_calendar_with_one_event_per_plan_event():
    result = runner.invoke(app, ["plan", "sio-2016", "--model", "A", "--format", "ics"])
    assert result.exit_code == 0, result.output
    events = _json("plan", "sio-2016", "--model", "A")
    calendar = Calendar.from_ical(result.stdout_bytes)
    vevents = calendar.walk("VEVENT")
    assert len(vevents) == len(events)
    uids = [str(v["UID"]) for v in vevents]
    assert len(set(uids)) == len(uids)
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Oslo"
    for vevent in vevents:
        for prop in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert prop in vevent
        zero_length = "payout_run" in vevent["CATEGORIES"].to_ical().decode()
        assert ("DTEND" in vevent) is not zero_length  # RFC 5545: no DTEND equal to DTSTART
    meeting = next(v for v in vevents if str(v["SUMMARY"]) == "Statusmøte")
    assert meeting["DTSTART"].params["TZID"] == "Europe/Oslo"
    assert meeting["DTSTART"].dt.isoformat() == "2016-06-14T10:00:00+02:00"
    gathering = next(v for v in vevents if str(v["SUMMARY"]).startswith("1. samling"))
    assert gathering["DTEND"].dt.isoformat() == "2016-03-10"  # exclusive end of a two-day event


def test_plan_ics_uids_are_stable_between_runs():
    first = runner.invoke(app, ["plan", "sio-2016", "--format", "ics"]).stdout_bytes
    second = runner.invoke(app, ["plan", "sio-2016", "--format", "ics"]).stdout_bytes
    uids = [[str(v["UID"]) for v in Calendar.from_ical(b).walk("VEVENT")] for b in (first, second)]
    assert uids[0] == uids[1]


def test_plan_for_one_municipality_carries_its_number_in_force_whichever_it_is_given():
    events = _json("plan", "sio-2019", "--kommune", "1664")  # Selbu's number until 2018
    assert events and all(e["municipality"] == "5032" for e in events)
    uids = [
        [
            str(v["UID"])
            for v in Calendar.from_ical(
                runner.invoke(
                    app, ["plan", "sio-2019", "--kommune", number, "--format", "ics"]
                ).stdout_bytes
            ).walk("VEVENT")
        ]
        for number in ("1664", "5032")
    ]
    assert uids[0] == uids[1]  # the same calendar entries, not duplicates


def test_plan_table_is_readable():
    result = runner.invoke(app, ["plan", "sio-2016", "--model", "A"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "Søknadsfrist" in result.stdout and "08.03.2016–09.03.2016" in result.stdout
    assert "seed 000, Bilag 1 model A row 6" in result.stdout
    narrow = runner.invoke(app, ["plan", "sio-2016", "--model", "A"], env={"COLUMNS": "80"})
    assert "Søknadsfrist" in narrow.stdout and "Kilde" not in narrow.stdout
    assert "08.03.2016–" in narrow.stdout


def test_a_malformed_round_file_gets_one_clear_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n[milestones\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sio_cli", "plan", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sio: error:") and str(bad) in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plan", "sio-2017"], "no such round"),
        (["plan", "sio-2016", "--model", "C"], "--model: 'C' is not a model"),
        (["plan", "sio-2019", "--model", "B"], "has no model B"),
        (["plan", "sio-2016", "--kommune", "9999", "--model", "A"], "9999"),
    ],
)
def test_bad_arguments_are_refused_on_stderr(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_rounds_lists_the_three_shipped_rounds():
    rows = _json("rounds")
    assert [r["id"] for r in rows] == ["sio-2016", "sio-2019", "sio-2021"]
    assert rows[0]["application_deadline"] == "2015-12-01"


@pytest.mark.parametrize("with_database", [False, True], ids=["no database", "database"])
def test_plan_does_not_import_prefect_the_orm_or_every_countrys_holidays(tmp_path, with_database):
    # With a database, imported municipalities are read from it (sqlite3, not the ORM).
    import os
    from datetime import UTC, datetime

    from tasks.records.municipality_store import import_municipalities

    if with_database:
        rows = tmp_path / "municipalities.csv"
        rows.write_text(
            "kommunenummer,name,valid_from,valid_to,successor,written_standard\n"
            "1714,Stjørdal kommune,,2017-12-31,5035,bokmål\n",
            encoding="utf-8",
        )
        url = f"sqlite:///{tmp_path / 'sio.db'}"
        import_municipalities(rows, database_url=url, now=datetime(2026, 1, 5, tzinfo=UTC))
    heavy = ("prefect", "sqlmodel", "sqlalchemy", "alembic", "holidays", "pydantic_settings")
    code = (
        "import sys; from typer.testing import CliRunner; from sio_cli.main import app; "
        "r = CliRunner().invoke(app, ['plan', 'sio-2016', '--kommune', '1714', '--model', 'A',"
        " '--format', 'ics']); assert r.exit_code == 0, r.output; "
        "assert ('Stjørdal kommune' in r.output) is " + str(with_database) + ", r.output; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env["SIO_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_plan_knows_a_decision_from_its_day_in_oslo_whatever_the_machines_time_zone(tmp_path):
    """The plan applies what was decided by today in Europe/Oslo, not by the machine's day.

    A decision dated today in Oslo is known in Oslo today, and one dated tomorrow is not, even on
    a machine whose clock is set to a zone where the date is already or still another (a server
    on UTC from 22:00/23:00 each evening). The zone is chosen so its date differs from Oslo's now:
    13–14 hours behind before Oslo's noon, 12–13 hours ahead after it.
    """
    import os
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    oslo = ZoneInfo("Europe/Oslo")
    shipped = (ROOT / "sio_domain" / "rounds" / "sio-2021.toml").read_text(encoding="utf-8")
    assert "decided_on = 2021-10-12" in shipped  # the early end's decision, edited below

    def plan(decided_on: str, zone: str) -> list[dict]:
        path = tmp_path / f"round-{decided_on}.toml"
        path.write_text(shipped.replace("2021-10-12", decided_on), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIO_")}
        env.update(SIO_HOME=str(tmp_path / "home"), TZ=zone)
        done = subprocess.run(
            [sys.executable, "-m", "sio_cli", "plan", str(path), "--format", "json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    ended = plan("2021-10-12", "Europe/Oslo")
    agreed = plan("2999-12-31", "Europe/Oslo")
    assert len(ended) < len(agreed)  # the early end drops the events after it
    for _attempt in range(3):  # again if Oslo's midnight fell between the two readings
        now = datetime.now(oslo)
        if now.hour < 12:  # the machine's date is still yesterday: today's decision must count
            zone, decided_on, expected = "Etc/GMT+12", now.date(), ended
        else:  # the machine's date is already tomorrow: tomorrow's decision must not count yet
            zone, decided_on, expected = "Etc/GMT-14", now.date() + timedelta(days=1), agreed
        shown = plan(decided_on.isoformat(), zone)
        if datetime.now(oslo).date() == now.date():
            break
    assert shown == expected, (zone, decided_on.isoformat())
