"""Financing rules (Financing): expenditure growth, frame, supplement, cap, prices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sio_domain.entitlement import advance_entitlements
from sio_domain.financing import (
    FinancingDataError,
    GrowthIndex,
    annual_income_supplement,
    baseline_year,
    care_service_expenditure,
    top_up_amount,
    unit_price,
)
from sio_domain.money import from_ore
from sio_domain.payees import PayeeSchedule
from sio_domain.payout_periods import Month, Quarter, months_between
from sio_domain.round_definition import Financing, RoundDefinition
from tasks.intake.round_files import load_round

ROUND_2016 = load_round("sio-2016")
ROUND_2019 = load_round("sio-2019")
F2016 = ROUND_2016.financing
baselines = st.integers(min_value=0, max_value=5 * 10**11).map(from_ore)


def financing(round_def: RoundDefinition = ROUND_2016, **changes: object) -> Financing:
    return round_def.financing.model_copy(update=changes)


def schedule(first: Month, last: Month, mode: str = "abf", number: str = "1714") -> PayeeSchedule:
    plan = PayeeSchedule(number, "A" if mode == "abf" else "B", None, (number,))
    for month in months_between(first, last):
        plan.months[month] = mode  # type: ignore[assignment]
    return plan


def owed_by(items: list, component: str) -> dict[int, Decimal]:  # type: ignore[type-arg]
    totals: dict[int, Decimal] = {}
    for item in items:
        if item.component == component:
            totals[item.period.year] = totals.get(item.period.year, Decimal("0")) + item.amount
    return totals


def test_the_baseline_year_is_the_year_before_go_live() -> None:
    assert baseline_year(ROUND_2016) == 2015
    assert baseline_year(ROUND_2019) == 2018
    assert baseline_year(load_round("sio-2021")) == 2020


def test_round_2016_grows_with_the_municipal_economy() -> None:
    """Seed 004: expenditure follows the general growth of the municipal economy (deflator)."""
    value = care_service_expenditure(Decimal("1000000"), F2016, first_year=2016, year=2017)
    assert value == Decimal("1000000") * Decimal("1.027") * Decimal("1.025")


def test_round_2019_grows_with_deflator_and_demography() -> None:
    """Seed 001: price and wage growth × demographic cost growth."""
    demography = {2019: Decimal("0.01"), 2020: Decimal("0.02")}
    changed = financing(ROUND_2019, demographic_growth=demography)
    value = care_service_expenditure(Decimal("1000"), changed, first_year=2019, year=2020)
    growth = Decimal("1.028") * Decimal("1.01") * Decimal("1.031") * Decimal("1.02")
    assert value == Decimal("1000") * growth


def test_a_year_without_a_deflator_is_named() -> None:
    with pytest.raises(FinancingDataError, match="financing.deflators has no value for 2020"):
        care_service_expenditure(Decimal("1"), F2016, first_year=2016, year=2020)
    with pytest.raises(FinancingDataError, match="before the first trial year"):
        GrowthIndex(F2016, 2016)(2015)


@given(expenditure=baselines)
def test_the_supplement_is_four_percent_of_expenditure_under_the_cap(expenditure: Decimal) -> None:
    supplement = annual_income_supplement(F2016, expenditure, 2017)
    assert supplement == min(Decimal("0.04") * expenditure, Decimal("25000000"))
    assert supplement <= Decimal("25000000")


@given(baseline=baselines, months=st.integers(min_value=1, max_value=12))
def test_a_year_of_supplement_instalments_is_the_capped_amount_pro_rated(
    baseline: Decimal, months: int
) -> None:
    first = Month(2017, 13 - months)
    owed = advance_entitlements(
        schedule(first, Month(2017, 12)),
        F2016,
        baseline=baseline,
        growth=GrowthIndex(F2016, 2016),
        top_up={},
        through=Quarter(2017, 4),
    )
    expenditure = baseline * Decimal("1.027") * Decimal("1.025")
    capped = min(Decimal("0.04") * expenditure, Decimal("25000000"))
    expected = (capped * months / 12).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert owed_by(owed, "income_supplement")[2017] == expected


def test_acceptance_capped_supplement_for_2016_and_2017() -> None:
    """Issue 4: 4 % above the cap → 2017 sums to 25 000 000.00, May–Dec 2016 to 16 666 666.67."""
    owed = advance_entitlements(
        schedule(Month(2016, 5), Month(2019, 4)),
        F2016,
        baseline=Decimal("900000000"),
        growth=GrowthIndex(F2016, 2016),
        top_up={},
        through=Quarter(2017, 4),
    )
    supplement = owed_by(owed, "income_supplement")
    assert supplement == {2016: Decimal("16666666.67"), 2017: Decimal("25000000.00")}
    quarters = [item.amount for item in owed if item.component == "income_supplement"]
    assert quarters[:3] == [Decimal("4166666.67"), Decimal("6250000.00"), Decimal("6250000.00")]


def test_the_supplement_is_of_expenditure_and_not_of_the_frame() -> None:
    """A top-up raises the frame, never the supplement (seeds 004, 001: 4 % of expenditure)."""
    plain, topped = (
        advance_entitlements(
            schedule(Month(2017, 1), Month(2017, 12), mode="frame"),
            F2016,
            baseline=Decimal("100000000"),
            growth=GrowthIndex(F2016, 2016),
            top_up=top_up,
            through=Quarter(2017, 4),
        )
        for top_up in ({}, {2017: Decimal("12000000")})
    )
    assert owed_by(plain, "income_supplement") == owed_by(topped, "income_supplement")
    assert owed_by(topped, "frame")[2017] - owed_by(plain, "frame")[2017] == Decimal("12000000")
    expenditure = Decimal("100000000") * Decimal("1.027") * Decimal("1.025")
    assert owed_by(plain, "income_supplement")[2017] == (Decimal("0.04") * expenditure).quantize(
        Decimal("0.01")
    )


def test_abf_months_pay_a_lump_sum_share_of_the_frame_and_no_frame() -> None:
    owed = advance_entitlements(
        schedule(Month(2017, 1), Month(2017, 12)),
        F2016,
        baseline=Decimal("120000000"),
        growth=GrowthIndex(F2016, 2016),
        top_up={},
        through=Quarter(2017, 4),
    )
    frame = Decimal("120000000") * Decimal("1.027") * Decimal("1.025")
    assert owed_by(owed, "lump_sum")[2017] == (Decimal("0.20") * frame).quantize(Decimal("0.01"))
    assert "frame" not in {item.component for item in owed}


def test_only_quarters_up_to_the_run_are_owed_yet() -> None:
    owed = advance_entitlements(
        schedule(Month(2016, 5), Month(2019, 4)),
        F2016,
        baseline=Decimal("1000000"),
        growth=GrowthIndex(F2016, 2016),
        top_up={},
        through=Quarter(2016, 3),
    )
    assert {item.period for item in owed} == {Quarter(2016, 2), Quarter(2016, 3)}


def test_unit_prices_are_the_listed_ones_or_indexed_by_the_deflator() -> None:
    assert unit_price(F2016, "home_nursing", 2016) == Decimal("750")
    assert unit_price(F2016, "home_nursing", 2017) == Decimal("768.75")  # 750 × 1.025
    assert unit_price(F2016, "safety_alarm", 2018) == Decimal("262.91")  # 250 × 1.025 × 1.026
    listed = financing(unit_prices={**F2016.unit_prices, 2018: {"home_nursing": Decimal("800")}})
    assert unit_price(listed, "home_nursing", 2018) == Decimal("800")
    assert unit_price(listed, "home_nursing", 2019) == Decimal("822.40")  # 800 × 1.028


def test_a_price_before_any_listed_year_is_refused() -> None:
    with pytest.raises(FinancingDataError, match="no price for 'day_care' in or before 2015"):
        unit_price(F2016, "day_care", 2015)


def test_top_up_of_a_predecessor_counts_for_the_successor_after_a_merger() -> None:
    from sio_domain.municipality_registry import MunicipalityRegistry
    from tasks.records.municipality_lookup import shipped_versions

    registry = MunicipalityRegistry(shipped_versions())
    changed = financing(
        ROUND_2019,
        top_up={"0138": {2020: Decimal("1000")}, "0124": {2020: Decimal("500")}},
    )

    def in_force(number: str, on: date) -> str:
        return registry.in_force(number, on).kommunenummer

    assert top_up_amount(changed, "3014", 2020, in_force, date(2020, 1, 1)) == Decimal("1500")
    assert top_up_amount(changed, "0138", 2019, in_force, date(2019, 5, 1)) == Decimal("0")
