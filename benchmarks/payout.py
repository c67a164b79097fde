"""Benchmark: imports and payout runs for every municipality, against a raw SQL floor.

    .venv/bin/python benchmarks/payout.py                      # SQLite, 1× and 10×
    .venv/bin/python benchmarks/payout.py --database-url postgresql+psycopg://…/db
    .venv/bin/python benchmarks/payout.py --scales 1           # only the 357 municipalities

Synthetic data: N municipalities (357 — as many as Norway has — at scale 1,
3 570 at scale 10) with synthetic numbers 6000…, each taking part in round 2016 (four in five
model A, the rest model B) with both signatures, its 2015 expenditure on the four KOSTRA
functions, and a year of monthly activity (July 2016 – June 2017) over the 8 service codes,
reported a few days after each quarter ends. Per scale, in a fresh database and a fresh process
(so the peak memory is that scale's own):

- import: expenditure, and the activity as four quarterly files, through ``sio import``'s code;
- history: the runs 2016Q2 … 2017Q2, each at its 5th working day, as the deployment holds them;
- run: the regular run 2017Q3 (timed): advances for 2017Q3, ABF for 2017Q2, and every earlier
  ABF quarter re-checked against the activity reported by then (a whole year of activity). A run
  pays when its second approval comes: the time is that approval's (it computes the proposal
  again and writes it), the best of five, interleaved with five floors (the payment is undone,
  untimed, between repetitions); the proposal's own computation is shown beside it;
- catch-up: the same quarter as one first run in a second database (every advance since 2016Q2
  and a year of ABF in one run — the most lines a run can write);
- floor: the least SQL the same run needs, in the same database just before it pays, best of
  five: the same aggregation — latest report per municipality, month and service by the as-of,
  priced by service and year, summed per municipality and quarter — as one raw SQL ``GROUP BY``,
  the ledger already paid summed per municipality, period and component, one plain ``SELECT`` of
  each small input, and the run's own lines appended through the driver's bulk path (``COPY``
  on PostgreSQL) and committed (see :func:`_floor`). The catch-up has its own floor, measured
  the same way in its own database. The activity ``GROUP BY`` alone is shown beside it;
- memory: the process's peak resident set size (Python, libraries and SQLite's cache included),
  and tracemalloc's peak of Python allocations during one more (dry) run.

Targets: run ≤ 2 × floor; peak memory ≤ 300 MB at 10×; time growing linearly with rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROUND = "sio-2016"
FIRST_NUMBER = 6000
QUARTERS = {  # activity file → months, and when it is reported (imported)
    "2016Q3": (("2016-07", "2016-08", "2016-09"), datetime(2016, 10, 3, 12, tzinfo=UTC)),
    "2016Q4": (("2016-10", "2016-11", "2016-12"), datetime(2017, 1, 3, 12, tzinfo=UTC)),
    "2017Q1": (("2017-01", "2017-02", "2017-03"), datetime(2017, 4, 3, 12, tzinfo=UTC)),
    "2017Q2": (("2017-04", "2017-05", "2017-06"), datetime(2017, 7, 3, 12, tzinfo=UTC)),
}
HISTORY = ("2016Q2", "2016Q3", "2016Q4", "2017Q1", "2017Q2")
RUN, NEXT_RUN = "2017Q3", "2017Q4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated multiples of 357")
    parser.add_argument("--database-url", help="a database to use (emptied first); default SQLite")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one scale
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.database_url)))
        return
    results = []
    for scale in (int(part) for part in args.scales.split(",")):
        command = [sys.executable, __file__, "--one", str(scale)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    report(results)


def _approved(url: str, quarter: str) -> Any:
    """A run as staff pay it: the proposal, then both approvals (the second one pays)."""
    from tasks.payouts.payout_engine import approve_payout, run_payout

    proposal = run_payout(ROUND, quarter, database_url=url, as_of=_as_of(quarter), **_QUIET)
    if proposal.status != "awaiting_approval":
        return proposal
    for role, name in (("disponent", "Dina Disponent"), ("attestant", "Atle Attestant")):
        paid = approve_payout(
            ROUND, quarter, role=role, name=name, database_url=url, now=_as_of(quarter), **_QUIET
        )
    return paid


def _paying_approval(url: str, quarter: str) -> tuple[float, float, float, Any]:
    """(seconds of the proposal, of the approval that pays, of the floor; the paid run).

    The floor is measured between the proposal and the paying approval, so it reads the very
    database the paying approval reads and writes the very lines it writes. Both are the best
    of :data:`REPEAT`, interleaved (floor, payment, floor, payment, …) so that a busy machine
    weighs on both alike: the floor's lines and the payment (but the last) are undone, untimed,
    after each.
    """
    from tasks.payouts.payout_engine import approve_payout, run_payout

    as_of = _as_of(quarter)
    proposed: list[Any] = []
    proposal_seconds = _timed(
        lambda: proposed.append(run_payout(ROUND, quarter, database_url=url, as_of=as_of, **_QUIET))
    )
    approve_payout(
        ROUND, quarter, role="disponent", name="Dina", database_url=url, now=as_of, **_QUIET
    )
    paid: list[Any] = []
    floor_seconds = pay_seconds = float("inf")
    for repetition in range(REPEAT):
        floor_seconds = min(floor_seconds, _timed(lambda: _floor(url, as_of, proposed[0].lines)))
        _undo_floor(url)
        pay_seconds = min(
            pay_seconds,
            _timed(
                lambda: paid.append(
                    approve_payout(
                        ROUND, quarter, role="attestant", name="Atle", database_url=url,
                        now=as_of, **_QUIET,
                    )
                )
            ),
        )  # fmt: skip
        if repetition < REPEAT - 1:
            _undo_payment(url, quarter)
    assert paid[-1].status == "paid"
    assert all(run.lines == paid[0].lines for run in paid)
    assert len(paid[-1].lines) == len(proposed[0].lines)
    return proposal_seconds, pay_seconds, floor_seconds, paid[-1]


REPEAT = 5
"""Repetitions of the paying approval and of its floor (best of each, interleaved): one sample
beside a best-of-three floor counted every pause of a busy machine against the run alone."""


def _undo_payment(url: str, quarter: str) -> None:
    """Take a paid run back to its one approval (untimed, between repetitions): its lines, its
    run row and the paying approval go; the proposal and the first approval stay."""
    from sqlalchemy import text

    from tasks.storage.database import engine_for

    with engine_for(url).begin() as connection:
        for table in ("ledger_line", "payout_run"):
            connection.execute(
                text(f"DELETE FROM {table} WHERE round_id = :round AND run = :run"),
                {"round": ROUND, "run": quarter},
            )
        connection.execute(
            text(
                "DELETE FROM payout_approval WHERE round_id = :round AND run = :run"
                " AND role = 'attestant'"
            ),
            {"round": ROUND, "run": quarter},
        )


def measure(scale: int, database_url: str | None) -> dict[str, Any]:
    from tasks.payouts.payout_engine import run_payout

    count = 357 * scale
    numbers = [f"{FIRST_NUMBER + index:04d}" for index in range(count)]
    with tempfile.TemporaryDirectory(prefix="sio-bench-") as folder:
        home = Path(folder)
        url = _fresh(database_url or f"sqlite:///{home / 'sio.db'}")
        files = _write_files(home, numbers)
        rss_start = _rss_mb()
        import_seconds = _timed(lambda: _import(files, url))
        rss_import = _rss_mb()
        _participations(url, numbers)
        for quarter in HISTORY:
            _approved(url, quarter)
        proposal_seconds, run_seconds, floor, paid = _paying_approval(url, RUN)
        result: list[Any] = [paid]
        rss_run = _rss_mb()
        rerun = _best(lambda: run_payout(ROUND, RUN, database_url=url, as_of=_as_of(RUN), **_QUIET))
        next_dry = _best(
            lambda: run_payout(
                ROUND, NEXT_RUN, database_url=url, as_of=_as_of(NEXT_RUN), dry_run=True
            )
        )
        activity_floor = _best(lambda: _activity_floor(url, _as_of(RUN)))
        plain = _best(lambda: _activity_floor(url, _as_of(RUN), ranked=False))
        catch_up_url = _fresh(
            f"{database_url}_catchup" if database_url else f"sqlite:///{home / 'catchup.db'}"
        )
        _import(files, catch_up_url)
        _participations(catch_up_url, numbers)
        _, catch_up_seconds, catch_up_floor, caught_up = _paying_approval(catch_up_url, RUN)
        catch_up: list[Any] = [caught_up]
        peak_rss = _rss_mb()  # before tracemalloc, whose own bookkeeping costs memory
        tracemalloc.start()
        run_payout(ROUND, NEXT_RUN, database_url=url, as_of=_as_of(NEXT_RUN), dry_run=True)
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return {
            "database": url.split(":", 1)[0],
            "scale": scale,
            "municipalities": count,
            "activity_rows": count * 12 * 8,
            "import_seconds": round(import_seconds, 3),
            "proposal_seconds": round(proposal_seconds, 3),
            "run_seconds": round(run_seconds, 3),
            "run_lines": len(result[0].lines),
            "floor_seconds": round(floor, 3),
            "activity_group_by_seconds": round(activity_floor, 3),
            "plain_group_by_seconds": round(plain, 3),
            "run_over_floor": round(run_seconds / floor, 2),
            "catch_up_seconds": round(catch_up_seconds, 3),
            "catch_up_lines": len(catch_up[0].lines),
            "catch_up_floor_seconds": round(catch_up_floor, 3),
            "catch_up_over_floor": round(catch_up_seconds / catch_up_floor, 2),
            "next_dry_run_seconds": round(next_dry, 3),
            "rerun_seconds": round(rerun, 3),
            "rss_start_mb": round(rss_start, 1),
            "rss_after_import_mb": round(rss_import, 1),
            "rss_after_run_mb": round(rss_run, 1),
            "peak_rss_mb": round(peak_rss, 1),
            "dry_run_traced_peak_mb": round(traced, 1),
        }


_QUIET: dict[str, Any] = {"mail_statements": False}


def _as_of(quarter: str) -> datetime:
    """06:00 Oslo on the quarter's 5th working day (design decision D), as the deployment runs
    it."""
    from sio_domain.norwegian_calendar import nth_working_day_of_month, oslo_datetime
    from sio_domain.payout_periods import Quarter

    first = Quarter.parse(quarter).first_day
    day = nth_working_day_of_month(first.year, first.month, 5)
    return oslo_datetime(day, datetime.min.time().replace(hour=6))


def _write_files(home: Path, numbers: list[str]) -> dict[str, Path]:
    """The municipalities, expenditure and quarterly activity files, streamed to disk."""
    from sio_domain.services import SERVICE_CATALOGUE

    files = {"municipalities": home / "municipalities.csv", "expenditure": home / "expenditure.csv"}
    with files["municipalities"].open("w", encoding="utf-8") as out:
        out.write("kommunenummer,name,valid_from,valid_to,successor\n")
        for number in numbers:
            out.write(f"{number},Kommune {number},,,\n")
    with files["expenditure"].open("w", encoding="utf-8") as out:
        out.write("kommunenummer,year,function,amount\n")
        for index, number in enumerate(numbers):
            for position, function in enumerate(("234", "253", "254", "261")):
                amount = (index % 97 + 1) * 1_000_000 + position
                out.write(f"{number},2015,{function},{amount}.50\n")
    for quarter, (months, _) in QUARTERS.items():
        path = files[quarter] = home / f"activity-{quarter}.csv"
        with path.open("w", encoding="utf-8") as out:
            out.write("kommunenummer,month,service_code,units\n")
            for index, number in enumerate(numbers):
                for month in months:
                    for position, code in enumerate(SERVICE_CATALOGUE):
                        out.write(f"{number},{month},{code},{(index + position) % 500 + 10}.25\n")
    return files


def _import(files: dict[str, Path], url: str) -> None:
    from tasks.intake.finance_imports import import_activity, import_expenditure
    from tasks.records.municipality_store import import_municipalities

    now = datetime(2016, 3, 1, tzinfo=UTC)
    import_municipalities(files["municipalities"], database_url=url, now=now)
    import_expenditure(files["expenditure"], database_url=url, now=now)
    for quarter, (_, reported_at) in QUARTERS.items():
        import_activity(files[quarter], database_url=url, now=reported_at)


def _participations(url: str, numbers: list[str]) -> None:
    from sqlalchemy import insert

    from tasks.storage.database import session_for
    from tasks.storage.tables import (
        ActivityStatus,
        BankAccountRecord,
        ParticipationRecord,
        SignatureRecord,
    )

    recorded = datetime(2016, 2, 1, tzinfo=UTC)
    participations, signatures = [], []
    for index, number in enumerate(numbers):
        model = "B" if index % 5 == 4 else "A"
        participations.append(
            {
                "round_id": ROUND,
                "kommunenummer": number,
                "model": model,
                "start": date(2016, 5, 1),
                "end": date(2019, 4, 30),
                "abf_start": date(2016, 5, 1) if model == "A" else None,
            }
        )
        for party in ("municipality", "directorate"):
            signatures.append(
                {
                    "round_id": ROUND,
                    "kommunenummer": number,
                    "party": party,
                    "signed_on": date(2016, 1, 28),
                    "place": "Oslo",
                    "signatory": "Benchmark",
                    "received_on": date(2016, 1, 29),
                    "late": False,
                    "recorded_at": recorded,
                }
            )
    accounts = [
        {
            "round_id": ROUND,
            "kommunenummer": number,
            "account": "86011117947",
            "recorded_at": recorded,
            "recorded_by": "benchmark",
        }
        for number in numbers
    ]
    reports = [
        {
            "round_id": ROUND,
            "kommunenummer": number,
            "activity_key": f"annual_report:{year}",
            "done_on": date(year + 1, 3, 1),
            "recorded_at": recorded,
        }
        for number in numbers
        for year in (2016, 2017, 2018)
    ]
    with session_for(url) as session:
        session.execute(insert(ParticipationRecord.__table__), participations)  # type: ignore[attr-defined]
        session.execute(insert(SignatureRecord.__table__), signatures)  # type: ignore[attr-defined]
        session.execute(insert(BankAccountRecord.__table__), accounts)  # type: ignore[attr-defined]
        session.execute(insert(ActivityStatus.__table__), reports)  # type: ignore[attr-defined]
        session.commit()


def _floor(url: str, as_of: datetime, lines: list[Any]) -> None:
    """The least SQL a run needs, through the driver: read its inputs, append its lines, commit.

    Reads: the activity as :func:`_activity_floor` aggregates it, the round's ledger lines
    already paid (id, municipality, period, component, amount and the line each corrects: what
    settling needs; a plain ``SELECT``, cheaper than summing it in SQL, which has to sort), and one
    plain ``SELECT`` of each small input (participations,
    signatures, baseline expenditure summed, bank accounts, duties done). Writes: the same
    lines the run writes (same columns and values, ``line_key`` marked so both fit beside each
    other) by the driver's bulk path — ``COPY`` on PostgreSQL, one prepared ``INSERT`` for every
    row on SQLite — and the commit. :func:`_undo_floor` removes them again, untimed.
    """
    from sqlalchemy import text

    from sio_domain.money import to_ore
    from tasks.payouts.ledger import LINE_ROW_COLUMNS
    from tasks.storage.database import engine_for

    created_at = datetime.now(UTC)
    rows = [
        (
            f"{line.line_key}:floor", ROUND, line.kommunenummer, line.municipality, line.model,
            line.run, line.period, line.component, to_ore(line.amount), None, line.basis,
            created_at,
        )
        for line in lines
    ]  # fmt: skip
    reads = [
        'SELECT round_id, kommunenummer, model, start, "end", abf_start FROM participation',
        "SELECT kommunenummer, party, signed_on, received_on FROM signature"
        " WHERE round_id = :round",
        "SELECT kommunenummer, SUM(amount_ore) FROM expenditure WHERE year = 2015"
        " AND function IN ('234', '253', '254', '261') GROUP BY kommunenummer",
        "SELECT kommunenummer, account FROM bank_account",
        "SELECT kommunenummer, activity_key, done_on FROM activity_status WHERE round_id = :round",
        "SELECT id, kommunenummer, period, component, amount_ore, corrects FROM ledger_line"
        " WHERE round_id = :round",
    ]
    with engine_for(url).connect() as connection:
        _activity_rows(connection, as_of)
        for sql in reads:
            connection.execute(text(sql), {"round": ROUND}).all()
        names = ", ".join(f'"{name}"' for name in LINE_ROW_COLUMNS)
        if connection.dialect.name == "postgresql":
            driver: Any = connection.connection.driver_connection
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY ledger_line ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            stamp = str(created_at.replace(tzinfo=None))
            marks = ", ".join("?" for _ in LINE_ROW_COLUMNS)
            connection.exec_driver_sql(
                f"INSERT INTO ledger_line ({names}) VALUES ({marks})",
                [(*row[:-1], stamp) for row in rows],
            )
        connection.commit()


def _undo_floor(url: str) -> None:
    from sqlalchemy import text

    from tasks.storage.database import engine_for

    with engine_for(url).begin() as connection:
        connection.execute(
            text("DELETE FROM ledger_line WHERE line_key LIKE :marked"), {"marked": "%:floor"}
        )


def _activity_floor(url: str, as_of: datetime, *, ranked: bool = True) -> int:
    """The activity aggregation alone, as one raw SQL ``GROUP BY`` (shown beside the floor).

    ``ranked=False`` leaves out the latest-report rule (a plain GROUP BY over every report): not
    the same aggregation once a report has been superseded, shown for comparison only.
    """
    from tasks.storage.database import engine_for

    with engine_for(url).connect() as connection:
        return _activity_rows(connection, as_of, ranked=ranked)


def _activity_rows(connection: Any, as_of: datetime, *, ranked: bool = True) -> int:
    """Σ units × price per municipality and quarter of the latest reports by ``as_of``."""
    from sqlalchemy import bindparam, text

    from sio_domain.financing import unit_prices_in_ore
    from sio_domain.services import SERVICE_CATALOGUE
    from tasks.intake.round_files import load_round
    from tasks.storage.tables import UtcDateTime

    prices = unit_prices_in_ore(
        load_round(ROUND).financing, tuple(SERVICE_CATALOGUE), range(2016, 2018)
    )
    by_year: dict[int, list[str]] = {}
    for (code, year), price in sorted(prices.items()):
        by_year.setdefault(year, []).append(f"WHEN '{code}' THEN {price}")
    price_case = (
        "CASE substr(month, 1, 4) "
        + " ".join(
            f"WHEN '{year}' THEN CASE service_code {' '.join(whens)} ELSE 0 END"
            for year, whens in by_year.items()
        )
        + " ELSE 0 END"
    )
    sql = text(
        f"""
        SELECT kommunenummer,
               substr(month, 1, 4) || 'Q' || ((CAST(substr(month, 6, 2) AS INTEGER) + 2) / 3)
                   AS quarter,
               SUM(units_hundredths * {price_case}) AS value
        FROM (SELECT kommunenummer, month, service_code, units_hundredths,
                     {_RANK if ranked else "1 AS rank"}
              FROM activity_report
              WHERE reported_at <= :as_of AND month >= :first AND month <= :last) AS latest
        WHERE {"rank = 1" if ranked else "1 = 1"}
        GROUP BY kommunenummer, quarter
        """
    ).bindparams(bindparam("as_of", type_=UtcDateTime()))
    rows = connection.execute(sql, {"as_of": as_of, "first": "2016-05", "last": "2017-06"})
    return len(rows.all())


_RANK = """ROW_NUMBER() OVER (PARTITION BY kommunenummer, month, service_code
                                        ORDER BY reported_at DESC, id DESC) AS rank"""


def _fresh(url: str) -> str:
    """An empty database at ``url``, migrated to head (PostgreSQL: created or emptied first)."""
    from sqlalchemy import MetaData, create_engine, make_url, text

    from tasks.storage.database import engine_for, upgrade

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        metadata = MetaData()
        metadata.reflect(engine_for(url))
        metadata.drop_all(engine_for(url))
    upgrade(url)
    return url


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _best(
    action: Callable[[], object], times: int = 3, after: Callable[[], object] | None = None
) -> float:
    best = float("inf")
    for _ in range(times):
        best = min(best, _timed(action))
        if after is not None:
            after()
    return best


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(results: list[dict[str, Any]]) -> None:
    columns = [
        ("scale", "scale"),
        ("municipalities", "municipalities"),
        ("activity_rows", "activity rows"),
        ("import_seconds", "import s"),
        ("proposal_seconds", "proposal s"),
        ("run_seconds", "run s"),
        ("floor_seconds", "floor s"),
        ("run_over_floor", "run/floor"),
        ("activity_group_by_seconds", "activity GROUP BY s"),
        ("plain_group_by_seconds", "plain GROUP BY s"),
        ("run_lines", "run lines"),
        ("catch_up_seconds", "catch-up s"),
        ("catch_up_floor_seconds", "catch-up floor s"),
        ("catch_up_over_floor", "catch-up/floor"),
        ("catch_up_lines", "catch-up lines"),
        ("next_dry_run_seconds", "next dry s"),
        ("rerun_seconds", "re-run s"),
        ("rss_after_import_mb", "RSS import MB"),
        ("peak_rss_mb", "peak RSS MB"),
        ("dry_run_traced_peak_mb", "traced MB"),
    ]
    print(
        f"database: {results[0]['database']}; python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cpus"
    )
    print(" | ".join(title for _, title in columns))
    for result in results:
        print(" | ".join(str(result[key]) for key, _ in columns))
    if len(results) > 1:
        first, last = results[0], results[-1]
        factor = last["activity_rows"] / first["activity_rows"]
        for key in ("import_seconds", "run_seconds", "catch_up_seconds", "floor_seconds"):
            print(f"{key}: ×{last[key] / first[key]:.1f} for ×{factor:.0f} rows")


if __name__ == "__main__":
    main()
