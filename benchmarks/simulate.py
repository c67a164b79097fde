"""Benchmark: the whole 2016 round (30.06.2015–31.07.2019) simulated in process.

    .venv/bin/python benchmarks/simulate.py                   # participants, 20 and 357
    .venv/bin/python benchmarks/simulate.py --sizes 0,20      # 0 = the round's own scenario
    .venv/bin/python benchmarks/simulate.py --profile         # + where the time goes, by layer

Each size runs in a fresh process (so its peak memory is its own) on a fresh temporary database:
``0`` is the round's default scenario (its participants, rejected and late applicants), ``N``
adds synthetic applicants until N municipalities take part (beyond the shipped registry,
synthetic registry rows are imported first). Printed per size: wall time, CPU seconds, simulated
runs, mails, seconds per run, the simulation's own split (start-up, outside events, stage runs,
next-due calendar, payout runs, mail delivery), the peak resident set size, and a floor
measured in the same process: the same number of bare state loads (the least a run must do:
read the round's state as of its instant). With ``--profile`` a second, profiled pass splits the
time by layer: domain (``sio_domain``), database (SQLAlchemy, SQLite, the loaders), mail
rendering (Jinja, ``email``, the calendar files) and the rest. Also printed: the load average
of the machine.

Target: 20 municipalities in under 60 s on 2 cores. The CPU column (this process's CPU seconds)
is the figure to compare between runs on a shared machine: wall time grows with the load average.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UNTIL = date(2019, 7, 31)
LAYERS = {
    "domain": ("sio_domain/",),
    "database": (
        "sqlalchemy/",
        "sqlmodel/",
        "sqlite3",
        "tasks/storage/trial_state",
        "tasks/mail/outbox",
        "tasks/storage/tables",
        "tasks/storage/database",
        "alembic/",
    ),
    "mail rendering": (
        "jinja2/",
        "email/",
        "tasks/mail/mail_templates",
        "tasks/documents/calendar_files",
        "tasks/mail/letters",
        "icalendar/",
        "tasks/documents/agreement_text",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,20,357")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.profile)))
        return
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        f" on {os.cpu_count()} cores"
    )
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size)]
        if args.profile:
            command.append("--profile")
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(table([rows[-1]], header=len(rows) == 1), flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def measure(size: int, profile: bool) -> dict[str, Any]:
    started = time.perf_counter()
    from sio_domain.municipality_registry import MunicipalityRegistry
    from sio_domain.norwegian_calendar import OSLO
    from sio_domain.scenario import default_scenario
    from tasks.intake.round_files import load_round
    from tasks.records.municipality_lookup import shipped_versions
    from tasks.runs.simulation import simulate
    from tasks.storage.unit_of_work import unit_of_work

    imported = time.perf_counter() - started
    round_def = load_round("sio-2016")
    scenario = default_scenario(round_def, MunicipalityRegistry(shipped_versions()))
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"sio-bench-simulate-{os.getpid()}"
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = simulate(
        round_def, scenario, until=UNTIL, municipalities=size or None, workdir=workdir
    )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    runs = result.summary["flow_runs"]
    url = f"sqlite:///{workdir / 'sio.db'}"
    t0 = time.perf_counter()
    with unit_of_work(url) as uow:
        registry = uow.registry
    for _, instant in result.runs:
        with unit_of_work(url, registry) as uow:
            uow.state(round_def, datetime.fromisoformat(instant).astimezone(OSLO))
    floor = time.perf_counter() - t0
    row: dict[str, Any] = {
        "size": size or f"{result.summary['municipalities']} (scenario)",
        "municipalities": result.summary["municipalities"],
        "wall": wall,
        "cpu": cpu,
        "imports": imported,
        "runs": runs,
        "mails": result.summary["mails"]["total"],
        "ledger": result.summary["payouts"]["lines"],
        "per_run": wall / max(runs, 1),
        "floor": floor,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "split": {k: round(v, 2) for k, v in vars(result.timings).items()},
    }
    _remove(workdir)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        simulate(round_def, scenario, until=UNTIL, municipalities=size or None, workdir=workdir)
        profiler.disable()
        _remove(workdir)
        row["layers"] = layers(pstats.Stats(profiler))
    return row


def layers(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) per layer, as shares of the profiled total."""
    totals = dict.fromkeys([*LAYERS, "other"], 0.0)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        layer = next(
            (name for name, marks in LAYERS.items() if any(m in filename for m in marks)), "other"
        )
        totals[layer] += tottime
    whole = sum(totals.values()) or 1.0
    return {name: round(100 * value / whole, 1) for name, value in totals.items()}


def table(rows: list[dict[str, Any]], header: bool) -> str:
    lines = []
    if header:
        lines.append(
            "| municipalities | wall | CPU | runs | mails | ledger lines | s/run"
            " | floor (state loads) | peak RSS"
            " | start-up · events · stages · calendar · payouts · delivery |"
            " domain · database · mail · other |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["split"]
        split = " · ".join(
            f"{s[k]:.1f}"
            for k in ("start_up", "events", "stages", "calendar", "payouts", "delivery")
        )
        share = " · ".join(f"{v:.0f} %" for v in r["layers"].values()) if "layers" in r else "–"
        lines.append(
            f"| {r['municipalities']} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {r['runs']} |"
            f" {r['mails']} |"
            f" {r['ledger']} | {r['per_run']:.3f} | {r['floor']:.1f} s | {r['peak_mb']:.0f} MB |"
            f" {split} | {share} |"
        )
    return "\n".join(lines)


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
