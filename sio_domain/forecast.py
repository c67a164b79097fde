"""The budget forecast (prognose) of a trial year: what each payee is expected to be paid.

Each autumn the ministry needs next year's expected cost per round for the budget proposition
(Prop. 1 S). Design decision (D): frame, lump sum and income supplement follow from the plan —
the payee's months, its baseline expenditure and the round's growth rule — exactly as the payout
run computes them (sio_domain/entitlement.py, sio_domain/payees.py); ABF is the activity already
reported for the year's months, and for the months not yet reported the average monthly volume of
the last 12 months reported, priced at the year's unit prices. The assumption is stated beside
each ABF figure. As the year is reported and paid the projected months become actual ones, so
the forecast converges on what is paid. Pure: the caller loads the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sio_domain.entitlement import advance_entitlements
from sio_domain.financing import (
    FinancingDataError,
    GrowthIndex,
    baseline_year,
    first_trial_year,
    top_up_amount,
    unit_price,
)
from sio_domain.money import round_ore
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.payees import Participation, PayeeSchedule, payee_schedules
from sio_domain.payout_periods import Month, Quarter
from sio_domain.round_definition import RoundDefinition

FORECAST_COMPONENTS = ("frame", "lump_sum", "income_supplement", "abf")
WINDOW_MONTHS = 12
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ForecastInputs:
    """What a forecast reads, loaded in bulk by the caller.

    ``units``: (payee, month) → service → units reported for that month (the latest report of
    each). ``paid``: (payee, component) → paid to date for periods of the year (corrections
    counted under ``abf``, whose late activity they settle).
    """

    participations: Sequence[Participation]
    expenditure: Mapping[str, Decimal]
    units: Mapping[tuple[str, Month], Mapping[str, Decimal]]
    paid: Mapping[tuple[str, str], Decimal]


@dataclass(frozen=True)
class ForecastLine:
    """One payee and component: expected payment for the year, paid so far, and the basis."""

    round_id: str
    kommunenummer: str
    municipality: str
    component: str
    forecast: Decimal
    paid_to_date: Decimal
    assumption: str


def forecast_year(
    round_def: RoundDefinition,
    year: int,
    *,
    registry: MunicipalityRegistry,
    inputs: ForecastInputs,
) -> list[ForecastLine]:
    """Per payee and component, the expected payments of ``year`` beside what is paid so far."""
    ours = [p for p in inputs.participations if p.round_id == round_def.id]
    others = [p for p in inputs.participations if p.round_id != round_def.id]
    schedules, _ = payee_schedules(round_def, ours, registry, other_rounds=others)
    growth = GrowthIndex(round_def.financing, first_trial_year(round_def))
    lines: list[ForecastLine] = []
    for payee, schedule in sorted(schedules.items()):
        if year not in schedule.by_year():
            continue
        name = registry.get(payee).name
        amounts, notes = _advances(round_def, growth, schedule, year, registry, inputs)
        amounts["abf"], notes["abf"] = _abf(round_def, schedule, year, inputs)
        for component in FORECAST_COMPONENTS:
            paid = inputs.paid.get((payee, component), _ZERO)
            if component not in amounts and paid == 0:
                continue
            lines.append(
                ForecastLine(
                    round_def.id,
                    payee,
                    name,
                    component,
                    amounts.get(component, _ZERO),
                    paid,
                    notes.get(component, ""),
                )
            )
    return lines


def _advances(
    round_def: RoundDefinition,
    growth: GrowthIndex,
    schedule: PayeeSchedule,
    year: int,
    registry: MunicipalityRegistry,
    inputs: ForecastInputs,
) -> tuple[dict[str, Decimal], dict[str, str]]:
    base = baseline_year(round_def)
    year_end = date(base, 12, 31)
    numbers = [
        n for n in registry.lineage(schedule.kommunenummer) if registry.get(n).valid_on(year_end)
    ]
    if not numbers or any(n not in inputs.expenditure for n in numbers):
        note = f"no {base} expenditure (the baseline) imported: frame and supplement unknown"
        return {}, {"income_supplement": note}
    baseline = sum((inputs.expenditure[n] for n in numbers), Decimal("0"))
    months = schedule.by_year()[year]
    top_up = {}
    if round_def.financing.top_up:
        try:
            top_up = {
                year: top_up_amount(
                    round_def.financing,
                    schedule.kommunenummer,
                    year,
                    lambda number, on: registry.in_force(number, on).kommunenummer,
                    months.all[0].first_day,
                )
            }
        except FinancingDataError:
            top_up = {}
    owed = advance_entitlements(
        schedule,
        round_def.financing,
        baseline=baseline,
        growth=growth,
        top_up=top_up,
        through=Quarter(year, 4),
    )
    amounts: dict[str, Decimal] = {}
    notes: dict[str, str] = {}
    for entitlement in owed:
        if entitlement.period.year == year:
            component = entitlement.component
            amounts[component] = amounts.get(component, _ZERO) + entitlement.amount
            notes[component] = entitlement.basis.text()
    return amounts, notes


def _abf(
    round_def: RoundDefinition, schedule: PayeeSchedule, year: int, inputs: ForecastInputs
) -> tuple[Decimal, str]:
    abf_months = schedule.by_year()[year].abf
    if not abf_months:
        return _ZERO, ""
    payee = schedule.kommunenummer
    financing = round_def.financing
    months = sorted(m for (number, m) in inputs.units if number == payee)
    if not months:
        return _ZERO, f"no activity reported yet: {len(abf_months)} ABF months projected as 0"
    last = months[-1]
    reported = [m for m in abf_months if m <= last]
    projected = [m for m in abf_months if m > last]
    actual = sum(
        (
            units * unit_price(financing, code, m.year)
            for m in reported
            for code, units in inputs.units.get((payee, m), {}).items()
        ),
        Decimal("0"),
    )
    first = last
    for _ in range(WINDOW_MONTHS - 1):
        first = _previous(first)
    window = [m for m in months if first <= m <= last]
    all_abf = [m for by_year in schedule.by_year().values() for m in by_year.abf]
    counted = max(1, sum(1 for m in all_abf if first <= m <= last))
    volume: dict[str, Decimal] = {}
    for m in window:
        for code, units in inputs.units[(payee, m)].items():
            volume[code] = volume.get(code, Decimal("0")) + units
    monthly = (
        sum(
            (units * unit_price(financing, code, year) for code, units in volume.items()),
            Decimal("0"),
        )
        / counted
    )
    total = round_ore(actual + monthly * len(projected))
    note = (
        f"{len(reported)} months reported (actual); {len(projected)} months projected at the"
        f" average monthly volume of {max(first, all_abf[0]).label}–{last.label}"
        f" ({counted} ABF months) × {year} unit prices"
    )
    return total, note


def _previous(month: Month) -> Month:
    return Month(month.year - 1, 12) if month.month == 1 else Month(month.year, month.month - 1)
