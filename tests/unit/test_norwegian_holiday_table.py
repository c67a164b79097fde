"""The precomputed holiday table is the holidays package's answer and spares loading it."""

import subprocess
import sys

import pytest

from sio_domain.norwegian_calendar import is_public_holiday
from sio_domain.norwegian_holidays import FIRST_YEAR, HOLIDAYS, LAST_YEAR
from tasks.storage.holiday_table import holidays_from_package, table_source


@pytest.mark.parametrize("year", range(FIRST_YEAR, LAST_YEAR + 1))
def test_shipped_table_matches_the_installed_holidays_package(year):
    # On a mismatch, rebuild the table: .venv/bin/python -m tasks.storage.holiday_table
    assert HOLIDAYS[year].split() == holidays_from_package(year)


def test_shipped_table_is_exactly_what_the_generator_writes():
    from pathlib import Path

    import sio_domain.norwegian_holidays as table

    assert Path(table.__file__).read_text(encoding="utf-8") == table_source()


def test_years_outside_the_table_are_answered_by_the_package():
    from datetime import date

    assert is_public_holiday(date(FIRST_YEAR - 1, 5, 17))
    assert is_public_holiday(date(LAST_YEAR + 1, 12, 25))
    assert not is_public_holiday(date(LAST_YEAR + 1, 12, 24))


def test_the_calendar_does_not_load_the_holidays_package_within_the_table():
    code = (
        "import sys; from datetime import date; "
        "from sio_domain.norwegian_calendar import is_working_day; "
        "assert not is_working_day(date(2016, 5, 17)); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'holidays'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
