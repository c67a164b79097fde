"""Money: Decimal Norwegian kroner (NOK), rounded half-up to øre, and exact instalments.

Why Decimal and whole øre: the directorate promised "correct and timely payments" (seed 000 §1.4);
a binary float cannot hold 0.1 exactly, and a ledger that is off by an øre cannot be reconciled
with the accounts. Rules (Financing, **D**):

- every ledger line is rounded half-up (avrunding halvt opp) to øre once, at the end;
- the instalments (avdrag/terminer) of an annual amount sum to it exactly: every instalment but the
  last is rounded, the last takes the rounding remainder;
- amounts are stored as whole øre (integers), which SQL sums exactly on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

ORE = Decimal("0.01")
"""One øre, the smallest amount paid (1/100 NOK)."""

_WIDE = Context(prec=60, rounding=ROUND_HALF_UP)
_AMOUNT_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]{1,2})?$")


def wide_context() -> Context:
    """A Decimal context wide enough that intermediate products are exact before rounding."""
    return _WIDE.copy()


def round_ore(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to øre: 0.005 → 0.01, -0.005 → -0.01 (away from zero)."""
    return amount.quantize(ORE, rounding=ROUND_HALF_UP, context=_WIDE)


def to_ore(amount: Decimal) -> int:
    """Whole øre of an amount in NOK, rounding half-up first: ``Decimal("12.345")`` → 1235."""
    return int(round_ore(amount).scaleb(2))


def from_ore(ore: int) -> Decimal:
    """NOK with two decimals from whole øre: 1235 → ``Decimal("12.35")``."""
    return Decimal(ore).scaleb(-2).quantize(ORE)


def format_amount(amount: Decimal) -> str:
    """The ledger's amount text (the command contract): two decimals, no grouping, e.g.
    ``"1234.50"``."""
    rounded = round_ore(amount)
    if rounded == 0:
        rounded = Decimal("0.00")
    return f"{rounded:.2f}"


def parse_amount(text: str) -> Decimal:
    """An amount typed by a person (``sio adjust --amount``): at most two decimals, sign allowed.

    Raises ValueError with the value for anything else (``1e3``, ``NaN``, ``12,50``, ``1.005``).
    """
    cleaned = text.strip()
    if not _AMOUNT_TEXT.match(cleaned):
        raise ValueError(
            f"{text!r} is not an amount in NOK with at most two decimals (e.g. 1234.50)"
        )
    try:
        return Decimal(cleaned).quantize(ORE)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise ValueError(f"{text!r} is not an amount") from None


def pro_rate(annual: Decimal, months: int, of_months: int = 12) -> Decimal:
    """``annual × months / of_months``, rounded half-up to øre once (months / 12).

    Multiplying before dividing keeps the product exact; the one rounding is at the end.
    """
    if not 0 <= months <= of_months:
        raise ValueError(f"months must lie between 0 and {of_months}, got {months}")
    return round_ore(_WIDE.divide(_WIDE.multiply(annual, months), of_months))


def split_instalments(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """Split ``total`` (already at øre) into instalments proportional to ``weights``.

    Every instalment but the last is ``total × weight / Σ weights`` rounded half-up to øre; the
    last takes the remainder, so the instalments always sum to ``total`` exactly (design decision
    **D**:
    "the last instalment takes the rounding remainder"). Weights are counts, e.g. the months of
    each quarter a municipality takes part in; a zero weight gets 0.00 (unless it is last).
    """
    if not weights:
        raise ValueError("split_instalments needs at least one weight")
    if any(weight < 0 for weight in weights):
        raise ValueError(f"weights must not be negative, got {list(weights)}")
    whole = sum(weights)
    if whole == 0:
        raise ValueError("weights must not all be zero")
    if round_ore(total) != total:
        raise ValueError(f"total {total} is not a whole number of øre")
    return instalments_of(total, weights, whole)


def instalments_of(total: Decimal, weights: Sequence[int], whole: int) -> list[Decimal]:
    """:func:`split_instalments` for arguments the caller knows to be right: ``total`` at øre,
    ``weights`` not negative and summing to ``whole`` > 0 (a payout run splits thousands)."""
    multiply, divide = _WIDE.multiply, _WIDE.divide
    parts = [
        divide(multiply(total, weight), whole).quantize(ORE, ROUND_HALF_UP, _WIDE)
        for weight in weights[:-1]
    ]
    parts.append(total - sum(parts, _NOUGHT))
    return parts


_NOUGHT = Decimal("0")
