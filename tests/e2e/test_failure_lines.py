"""Every kind of failure reaches a person as one line on stderr, never a traceback.

Run as a user runs it (the ``sio`` command in a subprocess) against hostile files, a full and a
read-only data folder (a small tmpfs: CI runs as root), an unreachable and a missing PostgreSQL
database. Each case asserts: exit code 1, stderr exactly one ``sio: error:`` line naming what
failed, no "Traceback", and a personal identity number never echoed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.free_port import free_tcp_port
from tests.support.tmpfs import mounted_tmpfs

ROOT = Path(__file__).resolve().parents[2]
FODSELSNUMMER = "01018010018"  # valid check digits (python-stdnum), made up for the test
D_NUMMER = "45018000095"
CONTACTS_HEADER = "kommunenummer,name,role,email,phone\n"


def sio(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SIO_", "PREFECT_"))}
    environment |= {"SIO_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("sio: error: ")
    for needle in needles:
        assert needle in line, line
    return line


def contacts(path: Path, name: str = "Kari Nordmann", phone: str = "") -> Path:
    path.write_text(
        CONTACTS_HEADER + f"1714,{name},contact_person,kari@stjordal.kommune.no,{phone}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted for this test (root only); skipped outside CI when impossible."""
    with mounted_tmpfs(tmp_path / "disk", "3m") as mount_point:
        yield mount_point


def test_a_round_file_that_never_ends_is_refused_in_one_line(tmp_path: Path) -> None:
    one_line(sio(tmp_path / "home", "plan", "/dev/zero"), "/dev/zero", "too large")


def test_a_deeply_nested_round_file_is_refused_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    one_line(sio(tmp_path / "home", "plan", str(deep)), str(deep), "nested too deeply")
    one_line(sio(tmp_path / "home", "plan", str(deep_json)), "nested too deeply")


@pytest.mark.parametrize("number", [FODSELSNUMMER, D_NUMMER, "010180 10018"])
def test_a_personal_identity_number_is_refused_masked_and_never_stored(
    tmp_path: Path, number: str
) -> None:
    home = tmp_path / "home"
    file = contacts(tmp_path / "contacts.csv", name=f"Kari {number}")

    line = one_line(sio(home, "import", "contacts", str(file)), "column name", "personal identity")

    digits = number.replace(" ", "")
    assert digits not in line and digits[:6] not in line and "*********" in line
    database = home / "sio.db"
    assert not database.exists() or digits.encode() not in database.read_bytes()


def test_control_characters_and_nul_are_refused_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for name in ("Kari\x00Nordmann", "Kari\x1b[31m", "Kari\u202eNordmann"):
        file = contacts(tmp_path / "contacts.csv", name=name)
        one_line(sio(home, "import", "contacts", str(file)), "column name")


def test_an_amount_beyond_any_budget_is_refused_in_one_line(tmp_path: Path) -> None:
    file = tmp_path / "expenditure.csv"
    file.write_text(
        "kommunenummer,year,function,amount\n1714,2015,254,9300000000000000000\n", encoding="utf-8"
    )

    one_line(sio(tmp_path / "home", "import", "expenditure", str(file)), "amount", "out of range")


def test_an_unreachable_postgresql_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://sio@127.0.0.1:{free_tcp_port()}/sio"
    file = contacts(tmp_path / "contacts.csv")

    one_line(
        sio(tmp_path / "home", "import", "contacts", str(file), SIO_DATABASE_URL=url),
        "SIO_DATABASE_URL",
        "refused",
    )


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path, postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    file = contacts(tmp_path / "contacts.csv")

    one_line(
        sio(tmp_path / "home", "import", "contacts", str(file), SIO_DATABASE_URL=url),
        "no_such_database",
    )


def test_a_full_data_folder_is_one_line_and_nothing_half_written(
    tmp_path: Path, small_disk: Path
) -> None:
    home = small_disk / "home"
    assert sio(home, "import", "contacts", str(contacts(tmp_path / "c.csv"))).returncode == 0
    filler = small_disk / "filler"
    with filler.open("wb") as file:  # fill the disk to the last block
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass
    big = tmp_path / "many.csv"
    rows = "".join(
        f"1714,Kontakt {n} {'x' * 200},contact_person,k{n}@stjordal.kommune.no,\n"
        for n in range(3000)
    )
    big.write_text(CONTACTS_HEADER + rows, encoding="utf-8")

    one_line(sio(home, "import", "contacts", str(big)), "disk full", f"SIO_HOME={home}")
    filler.unlink()
    with sqlite3.connect(home / "sio.db") as database:  # rolled back whole: only the first file
        assert database.execute("SELECT count(*) FROM contact").fetchone() == (1,)


def test_a_read_only_data_folder_is_one_line(tmp_path: Path, small_disk: Path) -> None:
    home = small_disk / "home"
    assert sio(home, "import", "contacts", str(contacts(tmp_path / "c.csv"))).returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    one_line(sio(home, "import", "contacts", str(contacts(tmp_path / "d.csv"))), "read-only")


SIGNATURE = ("record", "signature", "sio-2016", "1714", "--party", "municipality")
REPLAN_END = ("replan", "sio-2016", "end", "--decided-on", "2018-06-01")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "reminders", "--round", "sio-2016", "--as-of", "0001-01-01"), "'0001-01-01'"),
        (
            ("run", "payout", "--round", "sio-2016", "--as-of", "9999-12-31T23:59+14:00"),
            "'9999-12-31T23:59+14:00'",
        ),
        (("run", "reminders", "--round", "sio-2016", "--as-of", "garbage"), "'garbage'"),
        (("simulate", "sio-2016", "--until", "9999-12-31"), "--until: '9999-12-31'"),
        (
            (*SIGNATURE, "--signed-on", "0001-01-01", "--place", "Oslo", "--signatory", "R"),
            "--signed-on: '0001-01-01'",
        ),
        (("record", "reply", "sio-2016", "1714", "--accept", "--on", "9999-01-01"), "--on:"),
        (
            (
                "record",
                "meeting",
                "sio-2016",
                "1714",
                "--month",
                "2016-06",
                "--start",
                "0001-06-16T13:00",
            ),
            "--start: '0001-06-16T13:00'",
        ),  # fmt: skip
        (
            (
                "record",
                "claim",
                "sio-2016",
                "1714",
                "--amount",
                "100",
                "--on",
                "0001-01-01",
                "--reason",
                "x",
            ),
            "--on: '0001-01-01'",
        ),  # fmt: skip
        ((*REPLAN_END, "--on", "9999-12-31", "--reason", "x"), "--on: '9999-12-31'"),
        (
            (
                "replan",
                "sio-2016",
                "move-event",
                "k",
                "--to",
                "0001-01-01T10:00",
                "--decided-on",
                "2016-01-01",
                "--reason",
                "x",
            ),
            "--to: '0001-01-01T10:00'",
        ),  # fmt: skip
    ],
)
def test_an_instant_or_day_out_of_range_or_garbage_is_one_line_naming_the_option(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    line = one_line(sio(tmp_path / "home", *args), needle)
    assert "outside the years sio works with (2000–2100)" in line or "is not" in line


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ((*SIGNATURE, "--signed-on", "2016-01-20", "--place", f"Oslo {FODSELSNUMMER}",
          "--signatory", "R"), "--place"),
        ((*SIGNATURE, "--signed-on", "2016-01-20", "--place", "Oslo",
          "--signatory", "Kari\x1b[2J"), "--signatory"),
        (("record", "minutes", "sio-2016", "1714", "--month", "2016-06",
          "--text", f"Møtt: Kari ({D_NUMMER})"), "--text"),
        (("record", "attendance", "sio-2016", "1714", "--event", "k",
          "--email", "kari\x07@stjordal.kommune.no"), "--email"),
        (("record", "activity", "sio-2016", "1714", "--activity", f"x{FODSELSNUMMER}",
          "--on", "2016-01-20"), "--activity"),
        (("adjust", "sio-2016", "1714", "--period", "2016Q3", "--amount", "100",
          "--reason", f"etterbetaling {FODSELSNUMMER}"), "--reason"),
        (("adjust", "sio-2016", "1714", "--period", "2016Q3", "--amount", "100",
          "--reason", "ok", "--override-reason", "x\x01"), "--override-reason"),
        (("record", "claim", "sio-2016", "1714", "--amount", "100", "--on", "2016-01-20",
          "--reason", f"faktura {D_NUMMER}"), "--reason"),
        ((*REPLAN_END, "--on", "2018-12-31", "--reason", f"vedtak {FODSELSNUMMER}"), "--reason"),
        ((*REPLAN_END, "--on", "2018-12-31", "--reason", "vedtak", "--by", "Storting\u202e"),
         "--by"),
        (("payout", "approve", "sio-2016", "--run", "2016Q3", "--as", "disponent",
          "--name", f"Dina {FODSELSNUMMER}"), "--name"),
    ],
)  # fmt: skip
def test_every_free_text_option_refuses_control_characters_and_personal_numbers(
    tmp_path: Path, args: tuple[str, ...], option: str
) -> None:
    """Checked at the edge, before anything is read or stored; a number is shown masked."""
    done = sio(tmp_path / "home", *args)
    line = one_line(done, f"sio: error: {option}: ")
    assert FODSELSNUMMER not in done.stderr and D_NUMMER not in done.stderr
    assert "personal identity number" in line or "character" in line
    assert not (tmp_path / "home" / "sio.db").exists()  # refused before the database is opened
