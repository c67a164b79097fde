"""``sio import expenditure|activity``: streamed, checked row by row, all or nothing."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from deployments.settings import load_settings
from sio_domain.finance_files import FinanceFileError
from tasks.intake.finance_imports import import_activity, import_expenditure, import_finance_file
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import ActivityReport, ExpenditureRecord

NOW = datetime(2017, 4, 3, 12, tzinfo=UTC)
LATER = datetime(2017, 5, 2, 12, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        request.getfixturevalue("sio_home")
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    dispose_engine(url)


@pytest.fixture
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLite only, for the checks that do not depend on the database."""
    request.getfixturevalue("sio_home")
    resolved = load_settings().resolved_database_url
    yield resolved
    dispose_engine(resolved)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(url: str, table: type) -> int:
    with session_for(url) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_activity_is_appended_with_the_instant_it_was_reported(
    database_url: str, tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "q1.csv",
        "kommunenummer,month,service_code,units\n1714,2017-01,home_nursing,120.5\n"
        "1714,2017-02,safety_alarm,40\n",
    )
    again = write(
        tmp_path,
        "late.csv",
        "service_code,units,kommunenummer,month\nhome_nursing,130,1714,2017-01\n",
    )
    assert import_activity(first, database_url=database_url, now=NOW) == 2
    assert import_activity(again, database_url=database_url, now=LATER) == 1
    with session_for(database_url) as session:
        rows = session.exec(select(ActivityReport).order_by(ActivityReport.id)).all()
    assert [(r.month, r.service_code, r.units_hundredths, r.reported_at) for r in rows] == [
        ("2017-01", "home_nursing", 12050, NOW),
        ("2017-02", "safety_alarm", 4000, NOW),
        ("2017-01", "home_nursing", 13000, LATER),
    ]


def test_a_number_the_municipality_held_is_resolved_to_the_one_in_force(
    database_url: str, tmp_path: Path
) -> None:
    """Stjørdal reported as 1714 for 2018 is stored as 5035; Hobøl's 2020 activity as 3014."""
    path = write(
        tmp_path,
        "old-numbers.csv",
        "kommunenummer,month,service_code,units\n1714,2018-03,day_care,5\n0138,2020-01,day_care,7\n"
        "5035,2017-12,day_care,9\n",
    )
    import_activity(path, database_url=database_url, now=NOW)
    with session_for(database_url) as session:
        numbers = session.exec(select(ActivityReport.kommunenummer).order_by(ActivityReport.id))
        assert list(numbers) == ["5035", "3014", "1714"]


def test_expenditure_is_stored_per_year_and_function_and_a_new_figure_replaces_the_old(
    database_url: str, tmp_path: Path
) -> None:
    header = "kommunenummer,year,function,amount\n"
    preliminary = write(
        tmp_path, "kostra-mars.csv", header + "1714,2015,254,1000.50\n1714,2015,261,7\n"
    )
    final = write(tmp_path, "kostra-juni.csv", header + "1714,2015,254,1100\n")
    import_expenditure(preliminary, database_url=database_url, now=NOW)
    import_expenditure(final, database_url=database_url, now=LATER)
    with session_for(database_url) as session:
        rows = session.exec(select(ExpenditureRecord).order_by(ExpenditureRecord.function)).all()
    assert [(r.function, r.amount_ore, r.imported_at) for r in rows] == [
        ("254", 110000, LATER),
        ("261", 700, NOW),
    ]


ACTIVITY_HEADER = "kommunenummer,month,service_code,units\n"
BAD_ACTIVITY = [
    ("9998,2017-01,day_care,1\n", "line 2, column kommunenummer: '9998'", "unknown kommunenummer"),
    ("3014,2019-06,day_care,1\n", "column kommunenummer: '3014'", "formed on 2020-01-01"),
    ("1714,2017-13,day_care,1\n", "line 2, column month: '2017-13'", "is not a month"),
    ("1714,17-01,day_care,1\n", "column month: '17-01'", "is not a month"),
    ("1714,2017-01,massage,1\n", "column service_code: 'massage'", "is not a service code"),
    ("1714,2017-01,day_care,-3\n", "column units: '-3'", "is negative"),
    ("1714,2017-01,day_care,many\n", "column units: 'many'", "is not a number"),
    ("1714,2017-01,day_care,1.255\n", "column units: '1.255'", "more than two decimals"),
    ("1714,2017-01,day_care\n", "line 2", "expected 4 fields"),
]


@pytest.mark.parametrize(("row", "where", "problem"), BAD_ACTIVITY)
def test_a_bad_activity_row_refuses_the_whole_file(
    url: str, tmp_path: Path, row: str, where: str, problem: str
) -> None:
    good = "1714,2017-02,home_nursing,10\n"
    path = write(tmp_path, "activity.csv", ACTIVITY_HEADER + row + good)
    with pytest.raises(FinanceFileError) as refused:
        import_activity(path, database_url=url, now=NOW)
    assert where in str(refused.value) and problem in str(refused.value)
    assert count(url, ActivityReport) == 0


@pytest.mark.parametrize(
    ("row", "where", "problem"),
    [
        ("1714,1899,254,1\n", "column year: '1899'", "is not a year"),
        ("1714,2015,120,1\n", "column function: '120'", "not a care-service KOSTRA function"),
        ("1714,2015,254,-1\n", "column amount: '-1'", "is negative"),
        ("1714,2015,254,12 000\n", "column amount: '12 000'", "is not a number"),
        ("1714,2015,254,1.001\n", "column amount: '1.001'", "more than two decimals"),
        ("x714,2015,254,1\n", "column kommunenummer: 'x714'", "is not a kommunenummer"),
    ],
)
def test_a_bad_expenditure_row_refuses_the_whole_file(
    url: str, tmp_path: Path, row: str, where: str, problem: str
) -> None:
    path = write(
        tmp_path, "kostra.csv", "kommunenummer,year,function,amount\n1714,2015,234,5\n" + row
    )
    with pytest.raises(FinanceFileError) as refused:
        import_expenditure(path, database_url=url, now=NOW)
    assert "line 3" in str(refused.value)
    assert where in str(refused.value) and problem in str(refused.value)
    assert count(url, ExpenditureRecord) == 0


@pytest.mark.parametrize(
    "row",
    [
        "1714,2017-01,home_nursing,10,01017012345\n",
        "1714,2017-01,home_nursing,01017012345\n",
        '1714,2017-01,"home_nursing 010170 12345",1\n',
    ],
)
def test_a_row_with_a_personal_identity_number_is_refused(
    url: str, tmp_path: Path, row: str
) -> None:
    path = write(tmp_path, "from-epj.csv", ACTIVITY_HEADER + "1714,2016-12,day_care,1\n" + row)
    with pytest.raises(FinanceFileError) as refused:
        import_activity(path, database_url=url, now=NOW)
    message = str(refused.value)
    assert "line 3" in message and "personal data is not accepted" in message
    assert "12345" not in message  # the number is masked, not repeated into logs
    assert count(url, ActivityReport) == 0


def test_a_refusal_late_in_a_large_file_stores_nothing(url: str, tmp_path: Path) -> None:
    good = "".join(
        f"{number},2017-{month:02d},{code},1\n"
        for number in ("1714", "1664", "1243", "0926", "0138")
        for month in range(1, 13)
        for code in ("home_nursing", "day_care", "safety_alarm", "long_term_stay")
    )
    path = write(tmp_path, "big.csv", ACTIVITY_HEADER + good + "1714,2017-01,x,1\n")
    with pytest.raises(FinanceFileError, match=r"line 242, column service_code"):
        import_activity(path, database_url=url, now=NOW)
    assert count(url, ActivityReport) == 0


def test_the_same_month_and_service_twice_in_one_file_is_refused(url: str, tmp_path: Path) -> None:
    """Also when two numbers of one municipality meet: 0138 and 3014 for January 2020."""
    path = write(
        tmp_path,
        "twice.csv",
        ACTIVITY_HEADER
        + "0138,2020-01,day_care,1\n1714,2017-01,day_care,1\n3014,2020-01,day_care,2\n",
    )
    with pytest.raises(FinanceFileError) as refused:
        import_activity(path, database_url=url, now=NOW)
    assert "line 4" in str(refused.value) and "of line 2" in str(refused.value)
    assert count(url, ActivityReport) == 0


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("", "the file is empty"),
        ("kommunenummer,month,service_code\n", "column units: is missing from the header"),
        ("kommunenummer,month,service_code,units,fnr\n", "'fnr' is not a column"),
        ("kommunenummer,month,month,units\n", "appears twice"),
    ],
)
def test_a_bad_header_is_refused_at_line_1(
    url: str, tmp_path: Path, header: str, problem: str
) -> None:
    path = write(tmp_path, "head.csv", header)
    with pytest.raises(FinanceFileError, match="line 1") as refused:
        import_activity(path, database_url=url, now=NOW)
    assert problem in str(refused.value)


def test_memory_stays_flat_however_large_the_file(url: str, tmp_path: Path) -> None:
    """Issue 4: streamed. 10× the rows must not need anywhere near 10× the memory."""

    def peak(rows: int, name: str) -> int:
        path = tmp_path / name
        with path.open("w", encoding="utf-8") as out:
            out.write(ACTIVITY_HEADER)
            for index in range(rows):
                year, month = 2000 + index // 12 // 8 % 90, index // 8 % 12 + 1
                code = ("home_nursing", "day_care", "safety_alarm", "long_term_stay",
                        "respite_stay", "short_term_stay", "practical_assistance",
                        "personal_assistance")[index % 8]  # fmt: skip
                number = ("1714", "1664", "1851", "1243")[index // (8 * 12 * 90)]
                out.write(f"{number},{year}-{month:02d},{code},{index % 90}.5\n")
        tracemalloc.start()
        import_activity(path, database_url=url, now=NOW)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small = peak(6_000, "small.csv")
    large = peak(30_000, "large.csv")
    assert large < 1.5 * small
    assert count(url, ActivityReport) == 36_000


@pytest.mark.usefixtures("url")
def test_the_cli_entry_point_takes_the_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", ACTIVITY_HEADER + "1714,2017-01,day_care,1\n")
    assert import_finance_file("activity", path, load_settings(), now=NOW) == 1
    with pytest.raises(ValueError, match="not a finance file kind"):
        import_finance_file("contacts", path, load_settings())
