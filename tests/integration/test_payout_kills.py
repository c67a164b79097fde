"""``kill -9`` at random moments of payout runs, then the same commands again: paid exactly once.

Staff give ``sio payout ROUND --run Q``, ``sio payout approve`` (disponent, then attestant) and
``sio payout file`` for two quarters; a process doing that is killed with SIGKILL at a random
instant, and the commands are given again to completion. Each time the outcome must equal one
uninterrupted run in a separate fresh database (design decision (D): a crash leaves all or
nothing, a repeat adds nothing twice): no ledger line twice, none lost, each quarter paid once on
one approval per role, and every statement and payment file on disk whole — also right after
the kill, before the repeat.

Each attempt starts from a copy of one prepared SQLite database; the processes are forked from
a server that has imported sio already, so a kill lands in payout work, not in start-up.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import text

from deployments.settings import Settings
from tasks.storage.database import dispose_engine, engine_for
from tests.support.payout_victim import QUARTERS, pay_quarters, prepare
from tests.support.smtp_server import RecordingSmtpServer

KILLS = 20
PAYEES = 4
Line = tuple[str, str, str, str, int, str | None]


@pytest.fixture(scope="module")
def forks() -> Iterator[Any]:
    """Processes forked from a server that imported the payout commands once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.support.payout_victim"])
    yield context


def start(forks: Any, home: Path, port: int) -> Any:
    process = forks.Process(target=pay_quarters, args=(home, port), daemon=True)
    process.start()
    return process


def finish(forks: Any, home: Path, port: int) -> float:
    """Give every command to completion in ``home``; how long it took."""
    began = time.monotonic()
    process = start(forks, home, port)
    process.join(timeout=120)
    assert process.exitcode == 0, f"the payout commands failed in {home}"
    return time.monotonic() - began


def ledger(url: str) -> list[Line]:
    """Every ledger line, a correction naming the line it corrects by its key (ids may differ)."""
    with engine_for(url).connect() as connection:
        rows = connection.execute(
            text(
                "SELECT l.kommunenummer, l.run, l.period, l.component, l.amount_ore, c.line_key"
                " FROM ledger_line l LEFT JOIN ledger_line c ON c.id = l.corrects"
            )
        ).all()
    return sorted(tuple(row) for row in rows)  # type: ignore[misc]


def payments(url: str) -> dict[str, Any]:
    """What was paid when and on whose approval: runs, approvals, payout audit entries."""
    with engine_for(url).connect() as connection:
        runs = connection.execute(text("SELECT run, lines, total_ore FROM payout_run")).all()
        approvals = connection.execute(
            text("SELECT run, role, name FROM payout_approval ORDER BY run, role")
        ).all()
        paid = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE what = 'payout_run'")
        ).scalar_one()
    return {
        "runs": sorted(map(tuple, runs)),
        "approvals": [tuple(row) for row in approvals],
        "paid_entries": paid,
    }


def files(home: Path) -> dict[str, object]:
    """Each statement and payment file by its path, as what a reader gets out of it.

    A half-written file does not open (xlsx, XML) or differs (CSV); the creation time in a
    payment file is left out (it is the instant the file was written).
    """
    found: dict[str, object] = {}
    for path in sorted((home / "exports").rglob("*")) + sorted((home / "payments").rglob("*")):
        if path.is_dir():
            continue
        name = str(path.relative_to(home))
        content = path.read_bytes()
        if path.suffix == ".xlsx":
            sheet = load_workbook(BytesIO(content), read_only=True).active
            found[name] = [tuple(row) for row in sheet.iter_rows(values_only=True)]
        elif path.suffix == ".xml":
            etree.fromstring(content)  # a half-written file does not parse
            found[name] = re.sub(rb"<CreDtTm>[^<]*</CreDtTm>", b"", content)
        else:
            found[name] = content
    return found


def test_twenty_kills_during_payout_leave_one_uninterrupted_payout(
    forks: Any, tmp_path: Path, smtp: RecordingSmtpServer, record_property: Any
) -> None:
    template = tmp_path / "template"
    template.mkdir()
    prepare(template, PAYEES)
    fresh = tmp_path / "uninterrupted"
    shutil.copytree(template, fresh)
    duration = finish(forks, fresh, smtp.port)
    fresh_url = Settings(home=fresh).resolved_database_url
    expected_ledger, expected_payments = ledger(fresh_url), payments(fresh_url)
    expected_files = files(fresh)
    dispose_engine(fresh_url)
    assert expected_payments["paid_entries"] == len(QUARTERS)
    assert len(expected_ledger) > 20 and len(expected_files) == len(QUARTERS) * (2 * PAYEES + 1)

    rng = random.Random(20160905)
    kills = duplicates = losses = torn = attempts = partials = 0
    # The first run also starts the fork server; later ones are quicker. A victim that finished
    # before its kill narrows the window, so the kills land inside the work on a quiet machine
    # as on a busy one.
    window = 0.9 * duration
    while kills < KILLS and attempts < 3 * KILLS:
        attempts += 1
        home = tmp_path / f"attempt-{attempts}"
        shutil.copytree(template, home)
        victim = start(forks, home, smtp.port)
        time.sleep(rng.uniform(0.0, window))
        if victim.is_alive():
            victim.kill()  # SIGKILL
            kills += 1
        else:
            window *= 0.7
        victim.join(timeout=30)
        for name, content in files(home).items():  # right after the kill: whole or absent
            if Path(name).name.startswith("."):  # a temporary file, not yet a statement
                partials += 1
                continue
            torn += content != expected_files[name]
        finish(forks, home, smtp.port)
        url = Settings(home=home).resolved_database_url
        actual = Counter(ledger(url))
        duplicates += (actual - Counter(expected_ledger)).total()
        losses += (Counter(expected_ledger) - actual).total()
        assert payments(url) == expected_payments, f"paid differently after a kill in {home}"
        assert files(home) == expected_files, f"files differ after a kill in {home}"  # no .partial
        dispose_engine(url)
        shutil.rmtree(home)

    record_property("kills_duplicates_losses_torn", (kills, duplicates, losses, torn, partials))
    print(  # noqa: T201 - the figures the attack is judged by, shown with -s
        f"payout kills: {kills} kills in {attempts} attempts, {duplicates} duplicate lines,"
        f" {losses} lost lines, {torn} half-written files ({partials} kills inside a file"
        f" write left only its temporary file); one run: {duration:.2f} s"
    )
    assert kills >= KILLS
    assert (duplicates, losses, torn) == (0, 0, 0)


def test_a_repeated_run_writes_the_statements_a_kill_after_its_commit_left_out(
    sio_home: Path,
) -> None:
    """Killed between the commit and the files: the repeat (``already_run``) writes them."""
    from tasks.payouts.payout_engine import run_payout
    from tests.support.payout_approval import run_and_approve
    from tests.support.payout_victim import ROUND

    prepare(sio_home, 2)
    url = Settings(home=sio_home).resolved_database_url
    as_of = datetime(2016, 7, 7, 6, 0, tzinfo=UTC)
    paid = run_and_approve(ROUND, QUARTERS[0], database_url=url, as_of=as_of)  # no files
    folder = sio_home / "exports" / "statements" / ROUND / QUARTERS[0]
    assert paid.status == "paid" and not folder.exists()

    exports = sio_home / "exports"
    again = run_payout(ROUND, QUARTERS[0], database_url=url, as_of=as_of, exports_dir=exports)
    written = sorted(path.name for path in folder.iterdir())

    assert again.status == "already_run"
    numbers = sorted({line.kommunenummer for line in paid.lines})
    assert written == sorted(
        f"utbetaling-{ROUND}-{QUARTERS[0]}-{number}.{suffix}"
        for number in numbers
        for suffix in ("csv", "xlsx")
    )
    dispose_engine(url)


def test_a_file_written_whole_replaces_the_old_one_and_leaves_no_partial(tmp_path: Path) -> None:
    from tasks.payouts.whole_files import write_whole

    target = tmp_path / "pain001.xml"
    target.write_bytes(b"old")
    (tmp_path / ".pain001.xml.partial").write_bytes(b"half of a killed wri")

    write_whole(target, b"<Document/>")

    assert target.read_bytes() == b"<Document/>"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pain001.xml"]
