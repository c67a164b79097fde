"""The one-query check for superseded activity (tasks/payouts/payout_queries.py, activity_value)."""

from __future__ import annotations

from itertools import product

from tasks.payouts.payout_queries import _code_bits


def test_a_repeated_priced_service_shows_as_fewer_one_bits_than_reports() -> None:
    bits = _code_bits(dict.fromkeys(product("abcd", (2016, 2017)), 100))
    assert bits == {"a": 1, "b": 2, "c": 4, "d": 8}
    for reports in (["a"], ["a", "b", "d"], ["a", "b", "c", "d"]):
        assert sum(bits[code] for code in reports).bit_count() == len(reports)
    for reports in (["a", "a"], ["a", "b", "b"], ["a", "a", "b"], ["c", "c", "c", "c"]):
        assert sum(bits[code] for code in reports).bit_count() < len(reports)


def test_too_many_services_for_64_bits_fall_back_to_the_separate_check() -> None:
    assert _code_bits({(f"s{index}", 2016): 1 for index in range(61)}) is None
