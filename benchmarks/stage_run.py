"""Benchmark: a stage run through ``sio run`` against a running Prefect server vs its work alone.

    .venv/bin/python benchmarks/stage_run.py                       # starts its own Prefect server
    .venv/bin/python benchmarks/stage_run.py --api-url http://127.0.0.1:4200/api --repeat 9
    .venv/bin/python benchmarks/stage_run.py --scales 6            # only the smallest scale

The stage is the daily reminder sweep of round sio-2016 at 2016-01-21 09:00, when nothing is due
for municipalities that applied but are not yet selected: the run reads the round's state,
decides there is nothing to send and stops — the cost of a stage run as such. Per scale (6, 60,
357 synthetic municipalities 6000…, each with a contact person and an application imported
through ``tasks.intake.imports``), in a fresh SIO_HOME:

- ``sio run``: the whole process ``sio run reminders --round sio-2016 --as-of …`` as a user runs
  it, reporting to the server (``PREFECT_API_URL``); one more, untimed run counts its HTTP
  requests;
- floor: the same stage's work called directly in a fresh process (``direct_work`` below: the
  sweep and the mail delivery the flow runs after it, no Prefect), as the whole process and as
  the work alone — what the run costs without orchestration;
- a flow run's own start: a fresh process that only imports Prefect's flow engine
  (``import prefect.flows``), which an idle ``sio run`` no longer pays (it decides first and
  records the finished run through the REST API), shown for reference;
- peak memory: each process's maximum resident set size; CPU seconds (user + system) beside wall
  seconds, far less disturbed by a neighbour's load.

Runs are interleaved (sio run, direct, prefect import, sio run, …) and figures are medians with
the interquartile range as the noise: the machine is shared. Targets: a stage with nothing to do
under 1.5 s whole-process; 357 municipalities within 2 × the time at 6. On a loaded machine the
ratio to the floor says more than the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROUND = "sio-2016"
AS_OF = "2016-01-21T09:00"
FIRST_NUMBER = 6000
TARGET_SECONDS = 1.5

COUNT_REQUESTS = """
import http.client, runpy, sys
import httpx
count_file = sys.argv.pop(1)
count = [0]
def counted(send):
    def wrapper(self, *args, **kwargs):
        count[0] += 1
        with open(count_file, "w") as out:
            out.write(str(count[0]))
        return send(self, *args, **kwargs)
    return wrapper
httpx.Client.send = counted(httpx.Client.send)
http.client.HTTPConnection.request = counted(http.client.HTTPConnection.request)
_async_send = httpx.AsyncClient.send
async def async_counted(self, *args, **kwargs):
    count[0] += 1
    with open(count_file, "w") as out:
        out.write(str(count[0]))
    return await _async_send(self, *args, **kwargs)
httpx.AsyncClient.send = async_counted
sys.argv[0] = "sio"
runpy.run_module("sio_cli", run_name="__main__")
"""
"""One more run per scale, untimed, with every HTTP request counted (httpx, as Prefect's client
sends them, and urllib, as ``sio run`` records an idle run): the timed runs are the plain command,
without the counting wrapper's own imports."""


def direct_work(as_of: str) -> dict[str, Any]:
    """The reminders stage's work without Prefect: the sweep, then the mail delivery after it.

    Kept in one small function so that it follows the stage code's signatures when they change.
    """
    from datetime import datetime as clock

    from deployments.settings import load_settings
    from sio_domain.instants import parse_as_of
    from tasks.intake.round_files import load_round
    from tasks.mail.mail_delivery import deliver_pending
    from tasks.runs.stage_run import StageRun
    from tasks.runs.stages import run_stage

    run = StageRun(
        round_def=load_round(ROUND),
        as_of=parse_as_of(as_of, now=clock.now().astimezone()),
        settings=load_settings(),
        actor="benchmark",
    )
    summary = run_stage("reminders", run)
    report = deliver_pending(run.database_url, run.settings, now=run.as_of, round_id=ROUND)
    return {"queued": summary.queued_mail, "sent": len(report.sent)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="a running Prefect server's API (default: start one)")
    parser.add_argument("--scales", default="6,60,357", help="numbers of municipalities")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved repetitions per scale")
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)  # child
    args = parser.parse_args()
    if args.direct:
        start = time.perf_counter()
        outcome = direct_work(AS_OF)
        print(json.dumps({"work": time.perf_counter() - start, **outcome}))
        return
    with tempfile.TemporaryDirectory() as scratch:
        server = None
        api_url = args.api_url
        if api_url is None:
            server, api_url = _start_server(Path(scratch) / "prefect")
        try:
            rows = [
                measure(int(n), api_url, Path(scratch) / f"n{n}", args.repeat)
                for n in args.scales.split(",")
            ]
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    report(rows, args.repeat)


def measure(count: int, api_url: str, home: Path, repeat: int) -> dict[str, Any]:
    home.mkdir(parents=True)
    _synthetic_round(home, count)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as an installed sio has it
    env.update(SIO_HOME=str(home), PREFECT_API_URL=api_url)
    requests_file = home / "requests"
    arguments = ["run", "reminders", "--round", ROUND, "--as-of", AS_OF]
    sio_run = [str(Path(sys.executable).with_name("sio")), *arguments]
    counted_run = [sys.executable, "-c", COUNT_REQUESTS, str(requests_file), *arguments]
    direct = [sys.executable, __file__, "--direct"]
    floor = [sys.executable, "-c", "import prefect.flows"]
    # Warm-up: caches, the flow's first registration, and what the round has due on the day
    # (the first run escalates the waiting selection to staff, the second delivers that letter):
    # from the third run on, nothing is due.
    for _ in range(3):
        _run(sio_run, env)
    _run(counted_run, env)
    requests = float(requests_file.read_text()) if requests_file.exists() else 0.0
    samples: dict[str, list[float]] = {"run": [], "run_mem": [], "direct": [], "work": []}
    samples.update(direct_mem=[], direct_cpu=[], requests=[], run_cpu=[], floor=[], floor_cpu=[])
    for _ in range(repeat):
        elapsed, memory, _out, cpu = _run(sio_run, env)
        samples["run"].append(elapsed)
        samples["run_cpu"].append(cpu)
        samples["run_mem"].append(memory)
        samples["requests"].append(requests)
        elapsed, memory, out, cpu = _run(direct, env)
        samples["direct"].append(elapsed)
        samples["direct_cpu"].append(cpu)
        samples["direct_mem"].append(memory)
        samples["work"].append(json.loads(out.strip().splitlines()[-1])["work"])
        elapsed, _memory, _out, cpu = _run(floor, env)
        samples["floor"].append(elapsed)
        samples["floor_cpu"].append(cpu)
    return {"municipalities": count, **samples}


def report(rows: list[dict[str, Any]], repeat: int) -> None:
    print(f"reminders stage, nothing due — medians of {repeat} interleaved runs, s (IQR)")
    print(f"load average after the runs: {os.getloadavg()[0]:.2f} (2 cores)")
    header = (
        f"{'municipalities':>14} {'sio run':>14} {'cpu':>6} {'floor: direct':>14} {'cpu':>6}"
        f" {'×floor':>6} {'direct work':>14} {'import prefect':>15} {'cpu':>6}"
        f" {'requests':>8} {'peak MB run/direct':>19}"
    )
    print(header)
    for row in rows:
        ratio = statistics.median(r / f for r, f in zip(row["run"], row["direct"], strict=True))
        print(
            f"{row['municipalities']:>14} {_figure(row['run']):>14}"
            f" {statistics.median(row['run_cpu']):>6.2f} {_figure(row['direct']):>14}"
            f" {statistics.median(row['direct_cpu']):>6.2f} {ratio:>6.2f}"
            f" {_figure(row['work']):>14} {_figure(row['floor']):>15}"
            f" {statistics.median(row['floor_cpu']):>6.2f}"
            f" {statistics.median(row['requests']):>8.0f}"
            f" {max(row['run_mem']):>9.0f}/{max(row['direct_mem']):<9.0f}"
        )
    first, last = rows[0], rows[-1]
    run_median = statistics.median(first["run"])
    verdict = "met" if run_median < TARGET_SECONDS else "NOT met"
    prefect_import = statistics.median(first["floor"])
    print(
        f"idle stage run at {first['municipalities']}: {run_median:.2f} s"
        f" (target < {TARGET_SECONDS} s: {verdict}; its work directly"
        f" {statistics.median(first['direct']):.2f} s; importing Prefect's flow engine alone"
        f" {prefect_import:.2f} s)"
    )
    if len(rows) > 1:
        growth = statistics.median(last["run"]) / run_median
        print(
            f"growth {first['municipalities']} → {last['municipalities']}: {growth:.2f}×"
            f" (target ≤ 2×: {'met' if growth <= 2 else 'NOT met'})"
        )


def _figure(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"{samples[0]:.3f}"
    q1, _q2, q3 = statistics.quantiles(samples, n=4)
    return f"{statistics.median(samples):.3f} ({q3 - q1:.3f})"


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak resident MB, standard output and CPU seconds of one process."""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _pid, status, usage = os.wait4(process.pid, 0)  # this child's own resource usage
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command[:5])}… failed: {errors.read().strip()[-800:]}")
    return elapsed, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def _synthetic_round(home: Path, count: int) -> None:
    """``count`` municipalities, each with a contact person and an application to round 2016."""
    from tasks.intake.imports import import_applications, import_contacts
    from tasks.intake.round_files import load_round
    from tasks.records.municipality_store import import_municipalities

    numbers = [str(FIRST_NUMBER + index) for index in range(count)]
    url = f"sqlite:///{home / 'sio.db'}"
    municipalities, contacts, applications = (
        home / "municipalities.csv",
        home / "contacts.csv",
        home / "applications.csv",
    )
    municipalities.write_text(
        "kommunenummer,name,valid_from,valid_to,successor\n"
        + "".join(f"{n},Kommune {n},,,\n" for n in numbers),
        encoding="utf-8",
    )
    contacts.write_text(
        "kommunenummer,name,role,email,phone\n"
        + "".join(f"{n},Kontakt {n},contact_person,post@k{n}.kommune.no,\n" for n in numbers),
        encoding="utf-8",
    )
    applications.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        + "".join(f"{n},2015-11-19T12:00,rådmann,2015-11-10,Gerica,s.pdf\n" for n in numbers),
        encoding="utf-8",
    )
    now = datetime(2015, 11, 20, 9, tzinfo=UTC)
    import_municipalities(municipalities, database_url=url, now=now)
    import_contacts(contacts, database_url=url, now=now, actor="benchmark")
    import_applications(
        applications, round_def=load_round(ROUND), database_url=url, now=now, actor="benchmark"
    )


def _start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A Prefect server of the benchmark's own on a free port, its health check answering."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="0"
    )
    command = [str(Path(sys.executable).with_name("prefect")), "server", "start"]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2):  # noqa: S310
                return server, api_url
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the Prefect server did not start within 300 s")


if __name__ == "__main__":
    main()
