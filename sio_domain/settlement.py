"""Settling what is owed against what the ledger already paid: the lines a payout run adds.

The ledger (utbetalingsreskontro) is append-only (design decision **D**): a run never changes an
earlier
run's lines. So a run compares what each payee is owed for each (period, component) with what the
ledger holds for it — the original line plus every correction pointing at it — and adds only the
difference:

- nothing paid yet and something owed → an original line (this is also how a municipality that
  was held back until it signed is caught up by the first run after signing);
- paid but the amount owed has changed (activity reported late, a corrected expenditure or
  deflator) → a ``correction`` line for that period that points at (``corrects``) the original;
- owed equals paid → nothing, which is why a second run of the same quarter adds nothing.

Staff ``adjustment`` lines are not computed: each recorded adjustment is paid once, as entered.
Every line gets a ``line_key``, unique over (round, municipality, period, component, run, corrected
line or adjustment): the database refuses a second line with the same key, so re-runs, retries and
crashes never pay twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from sio_domain.entitlement import Basis, Component, Entitlement
from sio_domain.payout_periods import Quarter


class PaidLine(NamedTuple):
    """A line already in the ledger."""

    id: int
    kommunenummer: str
    period: str
    component: Component
    amount: Decimal
    corrects: int | None
    line_key: str


class NewLine(NamedTuple):
    """A line this run adds. ``corrects`` is the id of the line it corrects, if any."""

    kommunenummer: str
    period: str
    component: Component
    amount: Decimal
    basis: str
    corrects: int | None = None
    reference: str = ""


@dataclass(frozen=True)
class StaffAdjustment:
    """An adjustment entered with ``sio adjust`` (extraordinary payments)."""

    id: int
    kommunenummer: str
    period: str
    amount: Decimal
    reason: str


_NO_LONGER_OWED = Basis("no longer owed")
_NOTHING = Decimal("0.00")


def line_key(
    round_id: str, kommunenummer: str, period: str, component: str, run: str, reference: str
) -> str:
    """The unique key of a ledger line: round|municipality|period|component|run|reference.

    ``reference`` is the corrected line's id for a correction, ``adjustment:<id>`` for a staff
    adjustment, and empty otherwise.
    """
    return "|".join((round_id, kommunenummer, period, component, run, reference))


def adjustment_reference(adjustment_id: int) -> str:
    """The reference part of an adjustment line's key."""
    return f"adjustment:{adjustment_id}"


def settle(
    owed: Iterable[Entitlement],
    paid: Sequence[PaidLine],
    *,
    payees: set[str],
    horizon: Mapping[Component, Quarter],
) -> list[NewLine]:
    """The lines that bring the ledger to what is owed, for ``payees`` and computed components.

    ``horizon`` gives, per computed component, the last period this run settles (advances up to
    the run's quarter, ABF up to the quarter before). A paid line inside the horizon that is no
    longer owed at all is reversed by a correction.
    """
    originals: dict[tuple[str, str, Component], PaidLine] = {}
    corrections: list[PaidLine] = []
    for line in paid:
        component = line.component
        if component == "correction":
            corrections.append(line)
        elif component != "adjustment":
            originals[(line.kommunenummer, line.period, component)] = line
    key_of = {line.id: key for key, line in originals.items()}
    paid_total: dict[tuple[str, str, Component], Decimal] = {
        key: line.amount for key, line in originals.items()
    }
    for line in corrections:
        corrected = key_of.get(line.corrects) if line.corrects is not None else None
        if corrected is not None:
            paid_total[corrected] += line.amount
    owed_total: dict[tuple[str, str, Component], tuple[Decimal, Basis]] = {}
    for payee, quarter, component, amount, basis in owed:
        limit = horizon.get(component)
        if limit is not None and quarter <= limit and payee in payees:
            owed_total[(payee, quarter.label, component)] = (amount, basis)
    last = {component: quarter.label for component, quarter in horizon.items()}
    for key in originals:
        payee, period, component = key
        limit_label = last.get(component)
        inside = limit_label is not None and period <= limit_label  # YYYYQn sorts as text
        if inside and payee in payees and key not in owed_total:
            owed_total[key] = (_NOTHING, _NO_LONGER_OWED)
    lines = []
    texts: dict[int, str] = {}  # a year's instalments share their basis: rendered once
    for key, (amount, basis) in owed_total.items():
        found = originals.get(key)
        if found is None:
            if amount != 0:
                payee, period, component = key
                text = texts.get(id(basis))
                if text is None:
                    text = texts[id(basis)] = basis.text()
                lines.append(NewLine(payee, period, component, amount, text))
            continue
        already = paid_total[key]
        difference = amount - already
        if difference != 0:
            payee, period, component = key
            lines.append(
                NewLine(
                    payee,
                    period,
                    "correction",
                    difference,
                    f"{component} {period}: owed {amount}, paid {already} ({basis.text()})",
                    corrects=found.id,
                    reference=str(found.id),
                )
            )
    lines.sort(key=lambda line: (line.kommunenummer, line.period, line.component))
    return lines


def adjustment_lines(
    adjustments: Iterable[StaffAdjustment], paid: Sequence[PaidLine], *, payees: set[str]
) -> list[NewLine]:
    """One ``adjustment`` line per recorded adjustment not yet in the ledger (for ``payees``)."""
    done = {line.line_key.rsplit("|", 1)[1] for line in paid if line.component == "adjustment"}
    return [
        NewLine(
            adjustment.kommunenummer,
            adjustment.period,
            "adjustment",
            adjustment.amount,
            adjustment.reason,
            reference=adjustment_reference(adjustment.id),
        )
        for adjustment in sorted(adjustments, key=lambda item: item.id)
        if adjustment.kommunenummer in payees and adjustment_reference(adjustment.id) not in done
    ]
