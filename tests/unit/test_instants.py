"""``--as-of`` and the date options: an instant or day in the years sio works with, or one line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from sio_domain.instants import parse_as_of, parse_day

NOW = datetime(2016, 1, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2000-01-01", "2100-12-31T23:59", "2016-06-16T13:00+02:00"])
def test_instants_within_the_years_are_read(text: str) -> None:
    assert FIRST_DAY <= parse_as_of(text, now=NOW).date() <= LAST_DAY


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",
        "1999-12-31T23:59",
        "2101-01-01",
        "9999-12-31T23:59+14:00",
        "2000-01-01T00:30+02:00",  # 1999 in Oslo
        "2100-12-31T23:30-05:00",  # 2101 in Oslo
    ],
)
def test_instants_outside_the_years_are_refused_naming_the_option(text: str) -> None:
    expected = rf"^--start: '{re.escape(text)}' is outside the years sio works with"
    with pytest.raises(ValueError, match=expected):
        parse_as_of(text, now=NOW, option="--start")


def test_a_day_is_read_within_the_years_and_refused_outside_or_garbled() -> None:
    assert parse_day("2000-01-01", option="--on") == FIRST_DAY
    assert parse_day("2100-12-31", option="--on") == LAST_DAY
    for text in ("1999-12-31", "2101-01-01", "0001-01-01"):
        with pytest.raises(ValueError, match=rf"^--on: '{text}' is outside the years"):
            parse_day(text, option="--on")
    with pytest.raises(ValueError, match=r"^--on: 'soon' is not a date \(YYYY-MM-DD\)$"):
        parse_day("soon", option="--on")


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
