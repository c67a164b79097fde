"""Money rules: Decimal NOK, half-up to øre per line, instalments that sum exactly (design
decision D)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sio_domain.money import (
    format_amount,
    from_ore,
    instalments_of,
    parse_amount,
    pro_rate,
    round_ore,
    split_instalments,
    to_ore,
)

ore_amounts = st.integers(min_value=-(10**13), max_value=10**13).map(from_ore)
positive_amounts = st.integers(min_value=0, max_value=10**13).map(from_ore)
weights = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=12).filter(
    lambda values: sum(values) > 0
)


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("-0.005", "-0.01"),
        ("16666666.666666", "16666666.67"),
        ("4166666.6675", "4166666.67"),
        ("2.675", "2.68"),  # a float would give 2.67
    ],
)
def test_rounding_is_half_up_to_ore(amount: str, rounded: str) -> None:
    assert round_ore(Decimal(amount)) == Decimal(rounded)


@given(ore_amounts)
def test_ore_round_trip_is_exact(amount: Decimal) -> None:
    assert from_ore(to_ore(amount)) == amount


@given(total=positive_amounts, parts=weights)
def test_instalments_sum_exactly_to_the_total(total: Decimal, parts: list[int]) -> None:
    instalments = split_instalments(total, parts)
    assert sum(instalments, Decimal("0")) == total
    assert len(instalments) == len(parts)
    assert all(round_ore(part) == part for part in instalments)


@given(total=positive_amounts, parts=weights)
def test_every_instalment_but_the_last_is_its_share_rounded(
    total: Decimal, parts: list[int]
) -> None:
    instalments = split_instalments(total, parts)
    whole = sum(parts)
    for weight, instalment in zip(parts[:-1], instalments[:-1], strict=True):
        assert instalment == round_ore(total * weight / whole)
    exact_last = total * parts[-1] / whole
    assert abs(instalments[-1] - exact_last) <= Decimal("0.01") * len(parts)


def test_the_last_instalment_takes_the_remainder() -> None:
    assert split_instalments(Decimal("100.00"), [1, 1, 1]) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]


def test_may_to_december_2016_of_a_25_million_cap() -> None:
    """Issue 4, done-when: May–December 2016 lines sum to 16 666 666.67."""
    annual = pro_rate(Decimal("25000000"), 8)
    assert annual == Decimal("16666666.67")
    assert split_instalments(annual, [2, 3, 3]) == [
        Decimal("4166666.67"),
        Decimal("6250000.00"),
        Decimal("6250000.00"),
    ]


@given(annual=positive_amounts, months=st.integers(min_value=0, max_value=12))
def test_pro_rating_is_months_over_twelve_rounded_once(annual: Decimal, months: int) -> None:
    assert pro_rate(annual, months) == round_ore(annual * months / 12)
    assert pro_rate(annual, 12) == annual
    assert pro_rate(annual, 0) == 0


@pytest.mark.parametrize("months", [-1, 13])
def test_pro_rating_refuses_impossible_months(months: int) -> None:
    with pytest.raises(ValueError, match="months"):
        pro_rate(Decimal("100"), months)


@pytest.mark.parametrize(
    ("amount", "text"),
    [("1234.5", "1234.50"), ("-0.001", "0.00"), ("6250000", "6250000.00"), ("-12.345", "-12.35")],
)
def test_amount_text_has_two_decimals(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


@pytest.mark.parametrize("text", ["1e3", "NaN", "12,50", "1.005", "", "abc", "1.2.3"])
def test_typed_amounts_are_refused_unless_plain_with_two_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(text)


def test_typed_amounts_keep_their_sign() -> None:
    assert parse_amount("-2500") == Decimal("-2500.00")
    assert parse_amount(" 150000.5 ") == Decimal("150000.50")


def _half_up_exact(value: Fraction) -> Decimal:
    """``value`` (not negative) rounded half-up to øre, worked out in exact fractions."""
    cents = value * 100
    whole = cents.numerator // cents.denominator
    return from_ore(whole + (1 if cents - whole >= Fraction(1, 2) else 0))


@given(total=positive_amounts, parts=weights)
def test_instalments_of_checked_arguments_are_each_share_rounded_half_up_exactly(
    total: Decimal, parts: list[int]
) -> None:
    """The run's unchecked split: every instalment but the last is its exact share rounded
    half-up, the last takes the remainder (the same as split_instalments)."""
    whole = sum(parts)
    instalments = instalments_of(total, parts, whole)
    expected = [_half_up_exact(Fraction(total) * weight / whole) for weight in parts[:-1]]
    assert instalments[:-1] == expected
    assert instalments[-1] == total - sum(expected, Decimal("0"))
    assert instalments == split_instalments(total, parts)
