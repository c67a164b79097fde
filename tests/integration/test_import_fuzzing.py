"""Fuzzed files for every importer: each loads, or is refused in one line leaving the database
exactly as it was (design decision (D): all or nothing, one line naming the field and value).

Files are valid examples mutated by hypothesis (cells replaced with hostile text: control
characters, NUL, personal identity numbers, huge numbers, year 0001, quotes, separators) or
plain random bytes. Kept small for the suite (``SIO_FUZZ_EXAMPLES``, default 25 per importer);
``SIO_FUZZ_EXAMPLES=3000 pytest tests/integration/test_import_fuzzing.py`` runs the full attack.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from deployments.settings import Settings
from sio_cli.errors import describe
from sio_domain.personal_data import find_personal_number
from tasks.intake.imports import import_for_round
from tasks.intake.round_files import load_round, round_file_path
from tasks.storage.database import dispose_engine, engine_for, upgrade

EXAMPLES = int(os.environ.get("SIO_FUZZ_EXAMPLES", "25"))
OUTCOMES: Counter[str] = Counter()  # "kind loaded" / "kind refused": printed at the end (-s)
NOW = datetime(2016, 1, 20, 12, 0, tzinfo=UTC)
VALID: dict[str, str] = {
    "contacts": (
        "kommunenummer,name,role,email,phone\n"
        "1714,Kari Nordmann,contact_person,kari@stjordal.kommune.no,+47 74 83 00 00\n"
    ),
    "applications": (
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        "1714,2015-11-20T14:00,rådmann,2015-10-22,Profil,skjema.docx\n"
    ),
    "selection": "kommunenummer,decision,model,decided_by,decided_on\n1714,selected,A,,\n",
    "expenditure": "kommunenummer,year,function,amount\n1714,2015,254,1200000.50\n",
    "activity": "kommunenummer,month,service_code,units\n1714,2016-05,home_nursing,12.5\n",
    "municipalities": (
        "kommunenummer,name,valid_from,valid_to,successor,written_standard\n"
        "9999,Prøvekommune,2016-01-01,,,nynorsk\n"
    ),
}
HOSTILE = st.sampled_from(
    [
        "\x00",
        "Kari\x01",
        "\x1b[2J",
        "Ola\u202e",
        "01018010018",
        "45018000095",
        "010180 10018",
        "9" * 25,
        "-1",
        "0001-01-01",
        "0001-01-01T00:00",
        "9999-12-31T23:59+14:00",
        '"',
        '""',
        ",",
        "\n",
        "\r",
        '=HYPERLINK("x")',
        "1e400",
        "NaN",
        "",
        " ",
        "ÆØÅ" * 400,
    ]
)


def fingerprint(url: str) -> str:
    """A digest of every row of every table: equal means nothing was written."""
    return hashlib.sha256(dump(url).encode()).hexdigest()


def dump(url: str) -> str:
    """Every row of every table, as text."""
    parts: list[str] = []
    with engine_for(url).connect() as connection:
        names = [
            name
            for (name,) in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            )
        ]
        for name in names:
            for row in connection.execute(text(f'SELECT * FROM "{name}" ORDER BY 1')):
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    lines = VALID[kind].splitlines()
    header, row = lines[0], lines[1].split(",")
    for _ in range(draw(st.integers(0, 3))):  # none: the valid row, maybe with extra lines
        position = draw(st.integers(0, len(row) - 1))
        row[position] = draw(st.one_of(HOSTILE, st.text(max_size=40)))
    extra = draw(st.sampled_from(["", "\n", "\n\n,,,", "\n" + ",".join(row)]))
    return (header + "\n" + ",".join(row) + extra + "\n").encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One database for every fuzzed file, holding the valid application so a selection can load.

    Without an applicant every selection row is refused ("only applicants can be decided on") and
    the fuzzing would never reach the code that stores a decision.
    """
    home = tmp_path_factory.mktemp("fuzz-home")
    fuzz_settings = Settings(home=home)
    upgrade(fuzz_settings.resolved_database_url)
    applications = home / "applications.csv"
    applications.write_text(VALID["applications"], encoding="utf-8")
    import_for_round(
        "applications", applications, round_ref="sio-2016", settings=fuzz_settings, now=NOW
    )
    return fuzz_settings


@pytest.fixture(scope="module", autouse=True)
def outcome_tally() -> Iterator[None]:
    """Print how many fuzzed cases loaded and how many were refused, per importer."""
    yield
    for key in sorted(OUTCOMES):
        sys.stdout.write(f"fuzz {key}: {OUTCOMES[key]}\n")


def attack(kind: str, fuzz_settings: Settings, content: bytes, tmp: Path) -> None:
    url = fuzz_settings.resolved_database_url
    path = tmp / f"{kind}.csv"
    path.write_bytes(content)
    before = fingerprint(url)
    round_ref = "sio-2016" if kind in ("applications", "selection") else None
    try:
        import_for_round(kind, path, round_ref=round_ref, settings=fuzz_settings, now=NOW)
    except (ValueError, LookupError, OSError) as error:
        line = describe(error)
        assert "\n" not in line and line
        number = find_personal_number(content.decode("utf-8", "replace"))
        if number is not None:
            assert number not in line
        assert fingerprint(url) == before, f"refused but changed: {line}"
        OUTCOMES[f"{kind} refused"] += 1
    else:  # loaded: nothing hostile may have been stored
        OUTCOMES[f"{kind} loaded"] += 1
        stored = dump(url)
        assert find_personal_number(stored) is None
        assert not any(character in stored for character in "\x00\x01\x1b\u202e")


def fuzz_test(kind: str) -> Callable[..., None]:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(content=mutated(kind))
    def test(fuzz_home: Settings, tmp_path: Path, content: bytes) -> None:
        attack(kind, fuzz_home, content, tmp_path)

    test.__name__ = f"test_fuzzed_{kind}_files_load_or_are_refused_in_one_line_unchanged"
    return test


test_fuzzed_contacts = fuzz_test("contacts")
test_fuzzed_applications = fuzz_test("applications")
test_fuzzed_selection = fuzz_test("selection")
test_fuzzed_expenditure = fuzz_test("expenditure")
test_fuzzed_activity = fuzz_test("activity")
test_fuzzed_municipalities = fuzz_test("municipalities")


@settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400),
        st.builds(
            lambda depth, opener: "a = " + opener[0] * depth + opener[1] * depth,
            st.integers(0, 3000),
            st.sampled_from(["[]", "{}"]),
        ),
    )
)
def test_fuzzed_round_files_load_or_are_refused_in_one_line(content: bytes | str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.toml"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        try:
            load_round(str(path))
        except ValueError as error:
            assert "\n" not in describe(error)
            OUTCOMES["round files refused"] += 1
        else:
            OUTCOMES["round files loaded"] += 1


SHIPPED_ROUND = round_file_path("sio-2016").read_text(encoding="utf-8")
ROUND_VALUE = re.compile(r"^(\s*[\w.]+\s*=\s*)(.+)$")
ROUND_HOSTILE = st.sampled_from(
    [
        "0001-01-01",
        "9999-12-31",
        "2016-02-30",
        '"2016-05-01"',
        '""',
        '"\\u0000"',
        '"Kari\\u0001"',
        '"01018010018"',
        '"' + "9" * 25 + '"',
        '"-1"',
        '"1e400"',
        '"NaN"',
        "-1",
        "9" * 25,
        "1e400",
        "nan",
        "true",
        "[]",
        "{}",
        "[" * 500 + "]" * 500,
        "{ date = 0001-01-01 }",
        "{ date = 9999-12-31, source = 1 }",
        '"' + "ÆØÅ" * 400 + '"',
    ]
)


@st.composite
def mutated_round(draw: st.DrawFn) -> str:
    """The shipped 2016 round with one to three values replaced or lines dropped."""
    lines = SHIPPED_ROUND.splitlines()
    assignments = [index for index, line in enumerate(lines) if ROUND_VALUE.match(line)]
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.sampled_from(assignments))
        if draw(st.integers(0, 4)) == 0:
            lines[index] = ""
            continue
        match = ROUND_VALUE.match(lines[index])
        if match is None:  # a line dropped by an earlier draw
            continue
        lines[index] = match.group(1) + draw(st.one_of(ROUND_HOSTILE, st.text(max_size=20)))
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True)
@given(content=mutated_round())
def test_mutated_round_files_load_or_are_refused_in_one_line(content: str) -> None:
    """A round file close to a valid one reaches the field checks, not only the TOML parser."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.toml"
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            load_round(str(path))
        except ValueError as error:
            line = describe(error)
            assert "\n" not in line and line
            OUTCOMES["mutated round files refused"] += 1
        else:
            OUTCOMES["mutated round files loaded"] += 1


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_unmutated_examples_load(kind: str, tmp_path: Path) -> None:
    """The fuzzing starts from files that load, so a mutation is what gets refused."""
    home_settings = Settings(home=tmp_path)
    path = tmp_path / f"{kind}.csv"
    path.write_text(VALID[kind], encoding="utf-8")
    round_ref = "sio-2016" if kind in ("applications", "selection") else None
    if kind == "selection":
        applications = tmp_path / "applications.csv"
        applications.write_text(VALID["applications"], encoding="utf-8")
        import_for_round(
            "applications", applications, round_ref=round_ref, settings=home_settings, now=NOW
        )
    assert import_for_round(kind, path, round_ref=round_ref, settings=home_settings, now=NOW) >= 1
    dispose_engine(home_settings.resolved_database_url)
