"""The financing rules of the trial: expenditure, frame, income supplement and unit prices.

Every figure comes from the round file's ``[financing]`` table, so the directorate can correct a
deflator or a price without a release (preamble). The rules (Financing):

- **baseline** (grunnlag): net operating expenditure (netto driftsutgifter) on KOSTRA functions
  234, 253, 254 and 261 in the year before the round starts (go-live year − 1) — seed 004 "the
  actual expenditure the year before the trial period", seed 001 "net operating expenditure before
  the trial starts"; the KOSTRA functions are public record (**D**).
- **care-service expenditure** ``E(y) = baseline × Π growth_k`` for k from the round's first trial
  year to y. Growth per round rule: ``municipal_economy`` (seed 004: "following the general growth
  of the municipal economy") is ``1 + deflator_k``; ``deflator_and_demography`` (seed 001: price and
  wage growth and demographic cost growth) is ``(1 + deflator_k)(1 + demographic_k)``.
- **frame** (rammen) ``F(y) = E(y) + top-up(y)`` (toppfinansieringsordningen, seeds 004, 001).
- **income supplement** (inntektspåslag) ``min(rate × E(y), cap(y))`` a year before pro-rating by
  months: 4 % of the *expenditure*, not of the frame (seed 004: "4 % av netto driftsutgifter",
  seed 001), capped per municipality per year (seed 004: 25 m; seed 001: 27 m; 28 m from 2020).
- **unit price** (enhetspris) of a year: the round file's price for that year, or the latest
  earlier listed price indexed by the deflators of the years after it, rounded to øre (:
  "index later years by the deflator unless the round file gives the year's price").

Pure: no I/O, no clock. Amounts stay unrounded here; rounding to øre happens once per ledger line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, localcontext

from sio_domain.money import round_ore, wide_context
from sio_domain.round_definition import Financing, RoundDefinition

KOSTRA_FUNCTIONS: tuple[str, ...] = ("234", "253", "254", "261")
"""KOSTRA functions of the care services (pleie og omsorg): 234 activation and services for the
elderly and disabled, 253 care in institutions, 254 care at home, 261 institution premises."""

_ONE = Decimal("1")
_WIDE = wide_context()  # read-only use: its methods compute as ``localcontext(wide_context())``


class FinancingDataError(ValueError):
    """The round file lacks a figure a payment needs; the message names the field and year."""


def baseline_year(round_def: RoundDefinition) -> int:
    """The year whose expenditure is the baseline: the year before the round's go-live."""
    return round_def.milestones.go_live.date.year - 1


def first_trial_year(round_def: RoundDefinition) -> int:
    """The round's first trial year: growth is applied from this year on."""
    return round_def.milestones.go_live.date.year


def growth_factor(financing: Financing, year: int) -> Decimal:
    """One year's growth of the care-service expenditure under the round's growth rule."""
    deflator = financing.deflators.get(year)
    if deflator is None:
        raise FinancingDataError(f"financing.deflators has no value for {year}")
    factor = _ONE + deflator
    if financing.growth_rule == "deflator_and_demography":
        factor *= _ONE + financing.demographic_growth.get(year, Decimal("0"))
    return factor


class GrowthIndex:
    """``Π growth_k`` for k from the round's first trial year to y, each year computed once.

    A payout run asks for the same years for every municipality; the index is the same for all.
    Raises :class:`FinancingDataError` for a year before the first trial year or without a
    deflator in the round file.
    """

    def __init__(self, financing: Financing, first_year: int) -> None:
        self.financing = financing
        self.first_year = first_year
        self._known: dict[int, Decimal] = {}

    def __call__(self, year: int) -> Decimal:
        if year < self.first_year:
            raise FinancingDataError(
                f"no care-service expenditure before the first trial year {self.first_year}"
            )
        found = self._known.get(year)
        if found is None:
            before = _ONE if year == self.first_year else self(year - 1)
            with localcontext(wide_context()):
                found = before * growth_factor(self.financing, year)
            self._known[year] = found
        return found


def care_service_expenditure(
    baseline: Decimal, financing: Financing, *, first_year: int, year: int
) -> Decimal:
    """``E(y) = baseline × Π growth_k``, k = first trial year … y (unrounded)."""
    with localcontext(wide_context()):
        return baseline * GrowthIndex(financing, first_year)(year)


def annual_frame(expenditure: Decimal, top_up: Decimal) -> Decimal:
    """``F(y) = E(y) + top-up(y)``: the annual frame of the earmarked grant / lump sum."""
    return expenditure + top_up


def supplement_cap(financing: Financing, year: int) -> Decimal:
    """The income supplement's cap for one municipality in ``year`` (seeds 004, 001)."""
    cap = financing.caps.get(year)
    if cap is None:
        raise FinancingDataError(f"financing.caps has no cap for {year}")
    return cap


def annual_income_supplement(financing: Financing, expenditure: Decimal, year: int) -> Decimal:
    """``min(rate × E(y), cap(y))`` for a whole year (unrounded; pro-rated by months later)."""
    return min(
        _WIDE.multiply(financing.supplement_rate, expenditure), supplement_cap(financing, year)
    )


def lump_sum_of_frame(financing: Financing, frame: Decimal) -> Decimal:
    """The lump-sum grant (rundsumtilskudd) of a year: ``lump_sum_share × F(y)`` (design decision
    D)."""
    return _WIDE.multiply(financing.lump_sum_share, frame)


def unit_price(financing: Financing, service_code: str, year: int) -> Decimal:
    """The state unit price of a service in ``year``, at øre.

    The round file's price for that year if it lists one; otherwise the latest earlier listed price
    indexed by each following year's deflator ("index later years by the deflator").
    """
    listed = sorted(
        listed_year
        for listed_year, prices in financing.unit_prices.items()
        if listed_year <= year and service_code in prices
    )
    if not listed:
        raise FinancingDataError(
            f"financing.unit_prices has no price for {service_code!r} in or before {year}"
        )
    from_year = listed[-1]
    price = financing.unit_prices[from_year][service_code]
    with localcontext(wide_context()):
        for k in range(from_year + 1, year + 1):
            deflator = financing.deflators.get(k)
            if deflator is None:
                raise FinancingDataError(
                    f"financing.deflators has no value for {k} (needed to index the"
                    f" {from_year} price of {service_code!r} to {year})"
                )
            price *= _ONE + deflator
    return round_ore(price)


def unit_prices_in_ore(
    financing: Financing, service_codes: tuple[str, ...], years: range
) -> dict[tuple[str, int], int]:
    """Every (service code, year) → unit price in whole øre, for pricing activity in bulk."""
    return {
        (code, year): int(unit_price(financing, code, year).scaleb(2))
        for code in service_codes
        for year in years
    }


def top_up_amount(
    financing: Financing,
    payee: str,
    year: int,
    in_force: Callable[[str, date], str],
    on: date,
) -> Decimal:
    """The top-up money (toppfinansiering) of ``year`` for ``payee``: the round file's amounts
    for every number that is ``payee`` on ``on`` (so a predecessor's entry counts after a merger).

    A number that is not one municipality on ``on`` raises: the round file is wrong then.
    """
    total = Decimal("0")
    for number, by_year in financing.top_up.items():
        amount = by_year.get(year)
        if amount is None:
            continue
        try:
            resolved = in_force(number, on)
        except (KeyError, ValueError) as error:
            raise FinancingDataError(f"financing.top_up.{number}.{year}: {error}") from None
        if resolved == payee:
            total += amount
    return total
