"""What a payee is owed per quarter and component (Financing, **D**: the payout model).

- Frame-financed months (model B, and model A before its ABF start) pay ``frame``: ``F(y)/12``
  a month — the earmarked grant (øremerket tilskudd).
- ABF months pay ``lump_sum``: ``lump_sum_share × F(y)/12`` a month (rundsumtilskudd), and
  ``abf``: Σ units × that year's unit price (aktivitetsbasert finansiering), settled a quarter late
  from the activity reported by then.
- Every month of participation pays ``income_supplement``: ``min(rate × E(y), cap(y)) / 12``
  (inntektspåslag, seeds 004 and 001: 4 % of the care-service *expenditure*, not of the frame).
- ``system_adaptation``: the one-off towards adapting the case system (fagsystem) for price
  coding, up to the round's maximum against documented cost, model A only (seed 000 §1.4).

For each year, the amount for the months of participation is rounded once to øre and split into
one instalment per quarter by its months; the instalments sum exactly to the rounded annual
amount (the last takes the remainder). Acceptance: a municipality whose 4 % exceeds the
25 m cap is owed exactly 25 000 000.00 in 2017 and 16 666 666.67 for May–December 2016.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from sio_domain.financing import (
    GrowthIndex,
    annual_frame,
    annual_income_supplement,
    lump_sum_of_frame,
    supplement_cap,
)
from sio_domain.money import format_amount, instalments_of, pro_rate, round_ore, wide_context
from sio_domain.payees import PayeeSchedule
from sio_domain.payout_periods import Month, Quarter
from sio_domain.round_definition import Financing

Component = Literal[
    "frame",
    "lump_sum",
    "income_supplement",
    "abf",
    "system_adaptation",
    "correction",
    "adjustment",
]
COMPONENTS: tuple[Component, ...] = (
    "frame",
    "lump_sum",
    "income_supplement",
    "abf",
    "system_adaptation",
    "correction",
    "adjustment",
)
_WIDE = wide_context()

ADVANCE_COMPONENTS: tuple[Component, ...] = ("frame", "lump_sum", "income_supplement")
"""Paid in advance, by the run held in the quarter they are for (design decision D)."""


class Basis(NamedTuple):
    """How an amount was computed, for the statement: ``template`` with ``amounts`` in NOK.

    Rendered only for the lines a run writes: a run derives thousands of entitlements and writes
    few of them, so formatting every one would cost more than the arithmetic.
    """

    template: str
    amounts: tuple[Decimal, ...] = ()

    def text(self) -> str:
        return self.template.format(*map(format_amount, self.amounts))


class Entitlement(NamedTuple):
    """What one payee is owed for one quarter under one component, and how it was computed."""

    kommunenummer: str
    period: Quarter
    component: Component
    amount: Decimal
    basis: Basis


def advance_entitlements(
    schedule: PayeeSchedule,
    financing: Financing,
    *,
    baseline: Decimal,
    growth: GrowthIndex,
    top_up: Mapping[int, Decimal],
    through: Quarter,
) -> list[Entitlement]:
    """Frame, lump sum and income supplement owed for every quarter up to ``through``.

    ``growth`` gives ``Π growth_k`` from the round's first trial year, so ``E(y) = baseline ×
    growth(y)`` (:func:`sio_domain.financing.care_service_expenditure`).
    """
    owed: list[Entitlement] = []
    payee = schedule.kommunenummer
    rate, share = financing.supplement_rate, financing.lump_sum_share
    for year, months in schedule.by_year().items():
        if months.all[0].quarter > through:
            break
        expenditure = _WIDE.multiply(baseline, growth(year))
        frame = annual_frame(expenditure, top_up.get(year, _ZERO))
        cap = supplement_cap(financing, year)
        supplement = pro_rate(
            annual_income_supplement(financing, expenditure, year), len(months.all)
        )
        basis = Basis(
            f"{year}: min({rate} × E {{0}}, cap {{1}}) × {len(months.all)}/12 = {{2}}",
            (expenditure, cap, supplement),
        )
        owed += _instalments(
            payee, "income_supplement", supplement, months.quarters, through, basis
        )
        if months.frame:
            amount = pro_rate(frame, len(months.frame))
            basis = Basis(f"{year}: F {{0}} × {len(months.frame)}/12 = {{1}}", (frame, amount))
            owed += _instalments(payee, "frame", amount, months.frame_quarters, through, basis)
        if months.abf:
            amount = pro_rate(lump_sum_of_frame(financing, frame), len(months.abf))
            basis = Basis(
                f"{year}: {share} × F {{0}} × {len(months.abf)}/12 = {{1}}", (frame, amount)
            )
            owed += _instalments(payee, "lump_sum", amount, months.abf_quarters, through, basis)
    return owed


def _instalments(
    payee: str,
    component: Component,
    annual: Decimal,
    counted: Mapping[Quarter, int],
    through: Quarter,
    basis: Basis,
) -> list[Entitlement]:
    """One instalment per quarter, weighted by its months (``counted``), up to ``through``."""
    quarters = sorted(counted)
    weights = [counted[quarter] for quarter in quarters]
    # ``annual`` is at øre (pro-rated) and the weights are months: split_instalments' checks hold
    parts = instalments_of(annual, weights, sum(weights))
    return [
        Entitlement(payee, quarter, component, part, basis)
        for quarter, part in zip(quarters, parts, strict=True)
        if quarter <= through
    ]


def abf_entitlements(
    schedule: PayeeSchedule, value_by_month: Mapping[Month, Decimal], through: Quarter
) -> list[Entitlement]:
    """ABF owed per quarter up to ``through``: Σ units × unit price over the ABF months.

    ``value_by_month`` holds the exact (unrounded) value of the activity reported for each month;
    activity in a month that is not an ABF month of this payee is not paid.
    """
    by_quarter: dict[Quarter, Decimal] = {}
    for months in schedule.by_year().values():
        for month in months.abf:
            quarter = month.quarter
            if quarter <= through:
                by_quarter[quarter] = by_quarter.get(quarter, _ZERO) + value_by_month.get(
                    month, _ZERO
                )
    return [
        Entitlement(schedule.kommunenummer, quarter, "abf", round_ore(value), _ABF_BASIS)
        for quarter, value in by_quarter.items()
    ]


def abf_owed(
    schedule: PayeeSchedule,
    activity: Mapping[tuple[str, Month], Decimal],
    through: Quarter,
) -> list[Entitlement]:
    """:func:`abf_entitlements` with the activity of every payee, keyed by (number, month).

    A run reads the activity of all payees in one query; looking each month up there directly
    saves building a mapping of months per payee. Only the payee's own number counts.
    """
    payee = schedule.kommunenummer
    by_quarter: dict[Quarter, Decimal] = {}
    for months in schedule.by_year().values():
        for month in months.abf:
            quarter = month.quarter
            if quarter <= through:
                by_quarter[quarter] = by_quarter.get(quarter, _ZERO) + activity.get(
                    (payee, month), _ZERO
                )
    return [
        Entitlement(payee, quarter, "abf", round_ore(value), _ABF_BASIS)
        for quarter, value in by_quarter.items()
    ]


_ZERO = Decimal("0")
_ABF_BASIS = Basis("Σ units × unit price of the year, ABF months of the quarter")


@dataclass(frozen=True)
class AdaptationClaim:
    """Documented cost of adapting a case system, claimed by one participation (seed 000 §1.4)."""

    member: str
    payee: str
    period: Quarter
    amount: Decimal


def system_adaptation_entitlements(
    claims: Iterable[AdaptationClaim], maximum: Decimal, through: Quarter
) -> list[Entitlement]:
    """The one-off reimbursement: claims in the order entered, each participation up to ``maximum``.

    A claim is owed in the quarter it was entered, to the municipality in force then.
    """
    claimed: dict[str, Decimal] = {}
    owed: dict[tuple[str, Quarter], Decimal] = {}
    for claim in claims:
        if claim.period > through:
            continue
        before = claimed.get(claim.member, Decimal("0"))
        after = before + claim.amount
        claimed[claim.member] = after
        allowed = min(after, maximum) - min(before, maximum)
        key = (claim.payee, claim.period)
        owed[key] = owed.get(key, Decimal("0")) + allowed
    basis = Basis("documented cost, up to {0} per participation", (maximum,))
    return [
        Entitlement(payee, period, "system_adaptation", round_ore(amount), basis)
        for (payee, period), amount in sorted(owed.items())
    ]
