"""Benchmark: ``sio plan`` whole-process time against importing the libraries it needs (the floor).

    .venv/bin/python benchmarks/lookup.py               # 15 interleaved repetitions
    .venv/bin/python benchmarks/lookup.py --repeat 31

Each variant is a fresh ``python -m sio_cli plan …`` process, as a user runs it, output to
/dev/null. Its floor is a fresh process that imports exactly the library modules that variant
ends up importing — every module in ``sys.modules`` at its exit that is not sio's own (typer,
pydantic with the internals its first model loads, pendulum, rich or icalendar, sqlite3, …) —
and does nothing else: what is left above the floor is sio's own code and the work it does.
Variants: every format, with ``--kommune``, and with an application database that holds imported
municipalities (the registry is then read from it).

The processes are interleaved (one of each per repetition, in a shuffled order) so a neighbour's
load falls on all of them alike. Each is measured twice over: wall-clock time and CPU time
(user + system, from the child's resource usage), the latter less disturbed by other work on a
shared machine. Figures are medians with the interquartile range as the noise. Bytecode is cached
as on an installed system (``PYTHONDONTWRITEBYTECODE`` is dropped for the measured processes).

``--baseline DIR`` times another checkout's ``sio plan`` in the same interleaved runs (its ratio
is to this checkout's floor). Target: every variant ≤ 1.5 × its floor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5

SIO_PACKAGES = {"sio_cli", "sio_domain", "tasks", "deployments", "flows", "__main__"}
RECORD_MODULES = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(list(sys.modules))))
sys.argv[0] = "sio"
runpy.run_module("sio_cli", run_name="__main__")
"""
IMPORT_MODULES = """
import importlib, json, sys
for name in json.load(open(sys.argv[1])):
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""
KOMMUNE = ("--kommune", "1714", "--model", "A")
VARIANTS = (  # name, arguments after `sio plan`, (unused), with a database
    ("json", ("sio-2016", "--format", "json"), "json", False),
    ("table", ("sio-2016", "--model", "A"), "table", False),
    ("ics", ("sio-2016", "--format", "ics"), "ics", False),
    ("json --kommune", ("sio-2016", *KOMMUNE, "--format", "json"), "json", False),
    ("ics --kommune", ("sio-2016", *KOMMUNE, "--format", "ics"), "ics", False),
    ("json --kommune, database", ("sio-2016", *KOMMUNE, "--format", "json"), "json", True),
    ("ics --kommune, database", ("sio-2016", *KOMMUNE, "--format", "ics"), "ics", True),
    ("table --kommune, database", ("sio-2016", *KOMMUNE), "table", True),
)
IMPORTED = (
    "kommunenummer,name,valid_from,valid_to,successor,written_standard\n"
    "1714,Stjørdal,,2017-12-31,5035,bokmål\n"
    "9901,Prøvekommune,2020-01-01,,,nynorsk\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="interleaved repetitions")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout of sio to time alongside (e.g. before)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        homes = {False: Path(scratch) / "empty", True: Path(scratch) / "with-db"}
        for home in homes.values():
            home.mkdir()
        _import_municipalities(homes[True], Path(scratch) / "municipalities.csv")
        commands: dict[str, list[str]] = {}
        cwd_of: dict[str, Path] = defaultdict(lambda: ROOT)
        env_of: dict[str, dict[str, str]] = {}
        for name, arguments, _floor_name, with_db in VARIANTS:
            env_of[name] = env_of[f"floor {name}"] = _env(homes[with_db])
            commands[name] = [sys.executable, "-m", "sio_cli", "plan", *arguments]
            if args.baseline:
                env_of[f"baseline {name}"] = env_of[name]
                commands[f"baseline {name}"] = commands[name]
                cwd_of[f"baseline {name}"] = args.baseline.resolve()
            commands[f"floor {name}"] = _floor(arguments, env_of[name], Path(scratch))
        for name, command in commands.items():  # warm the file cache and check each works
            subprocess.run(
                command, env=env_of[name], cwd=cwd_of[name], check=True, capture_output=True
            )
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        order = list(commands)
        for _ in range(args.repeat):
            random.shuffle(order)
            for name in order:
                elapsed, used = _time(commands[name], env_of[name], cwd_of[name])
                wall[name].append(elapsed)
                cpu[name].append(used)
    print(f"load average after the runs: {os.getloadavg()[0]:.2f} (2 cores)")
    report("wall-clock", wall, args.repeat)
    report("CPU (user+system)", cpu, args.repeat)


def report(kind: str, times: dict[str, list[float]], repeat: int) -> None:
    print(f"\nsio plan vs import floor, {kind} — medians of {repeat} interleaved runs, s (IQR)")
    baseline = any(name.startswith("baseline ") for name in times)
    print(
        f"{'variant':<28} {'sio plan':>15} {'floor':>15} {'ratio':>6}  {'≤ 1.5×':<7}"
        + (f" {'baseline':>15} {'ratio':>6}" if baseline else "")
    )
    for name, _arguments, _floor_name, _with_db in VARIANTS:
        run, floor = times[name], times[f"floor {name}"]
        ratio = statistics.median(run) / statistics.median(floor)
        verdict = "met" if ratio <= TARGET else "NOT met"
        line = f"{name:<28} {_figure(run):>15} {_figure(floor):>15} {ratio:>5.2f}×  {verdict:<7}"
        if baseline:
            before = times[f"baseline {name}"]
            against = statistics.median(before) / statistics.median(floor)
            line += f" {_figure(before):>15} {against:>5.2f}×"
        print(line)


def _figure(samples: list[float]) -> str:
    q1, _q2, q3 = statistics.quantiles(samples, n=4)
    return f"{statistics.median(samples):.3f} ({q3 - q1:.3f})"


def _floor(arguments: tuple[str, ...], env: dict[str, str], scratch: Path) -> list[str]:
    """A command importing the library modules that ``sio plan ARGUMENTS`` imports, and no more."""
    record = scratch / f"modules-{abs(hash(arguments))}.json"
    command = [sys.executable, "-c", RECORD_MODULES, str(record), "plan", *arguments]
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    bare = [sys.executable, "-c", "import sys, json; print(json.dumps(list(sys.modules)))"]
    startup = set(json.loads(subprocess.run(bare, env=env, capture_output=True).stdout))
    libraries = [
        name
        for name in json.loads(record.read_text())
        if name.split(".")[0] not in SIO_PACKAGES and name not in startup
    ]
    floor = scratch / f"floor-{abs(hash(arguments))}.json"
    floor.write_text(json.dumps(libraries))
    return [sys.executable, "-c", IMPORT_MODULES, str(floor)]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as an installed sio has it
    env["SIO_HOME"] = str(home)
    env["COLUMNS"] = "120"
    return env


def _time(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, used


def _import_municipalities(home: Path, csv: Path) -> None:
    csv.write_text(IMPORTED, encoding="utf-8")
    command = [sys.executable, "-m", "sio_cli", "import", "municipalities", str(csv)]
    subprocess.run(command, env=_env(home), cwd=ROOT, check=True, capture_output=True)


if __name__ == "__main__":
    main()
