"""Every reason a payout run holds a payee back reaches staff in bokmål, details kept."""

from __future__ import annotations

import re
from datetime import date
from itertools import product

import pytest

from sio_domain.financing import (
    FinancingDataError,
    GrowthIndex,
    growth_factor,
    supplement_cap,
    unit_price,
)
from sio_domain.hold_reasons import HOLD_REASONS, hold_reason, staff_wording, staff_wordings
from sio_domain.payment_clearance import AgreementState, clearance_problems, duty_problems
from tasks.intake.round_files import load_round

ENGLISH = re.compile(r"\b(the|not|has|no|is|recorded|overdue|imported|signed|paid|claim)\b")
"""Words of the run's English sentences that no bokmål wording contains."""


def _clearance_reasons() -> set[str]:
    """Every sentence ``clearance_problems`` can give, from every kind of agreement state."""
    days = (None, date(2016, 1, 20), date(2016, 9, 1))
    found: set[str] = set()
    for received, signed, accepted, replied in product(days, days, (None, True, False), days):
        state = AgreementState(received, signed, accepted, replied)
        for needs_reply in (True, False):
            found.update(clearance_problems(state, needs_reply=needs_reply, on=date(2016, 7, 7)))
    return found


def _financing_errors() -> set[str]:
    """The messages of the round file's missing figures, as the financing functions raise them."""
    financing = load_round("sio-2016").financing
    attempts = [
        lambda: growth_factor(financing, 1990),
        lambda: GrowthIndex(financing, 2016)(2015),
        lambda: supplement_cap(financing, 1990),
        lambda: unit_price(financing, "X99", 2016),
        lambda: unit_price(
            financing.model_copy(update={"deflators": {}}),
            next(iter(financing.unit_prices[min(financing.unit_prices)])),
            min(financing.unit_prices) + 1,
        ),
    ]
    found = set()
    for attempt in attempts:
        with pytest.raises(FinancingDataError) as error:
            attempt()
        found.add(str(error.value))
    return found


PAYOUT_RUN_SENTENCES = {
    "no valid bank account (kontonummer) recorded",
    "no expenditure for 2015 (the baseline) imported for 1714, 5035",
    "no municipality of this lineage was in force at the end of 2015",
    "system-adaptation claim not paid: only model A participants",
    "system-adaptation claim not paid: '9999' is not in the municipality registry",
    "adjustment 7 (2017Q2) not paid: the municipality is not a payee of this round",
    "financing.top_up.1702.2017: '1702' is not in force on 2017-01-01",
}
"""The sentences sio_domain/payout_run.py writes itself (its details filled in)."""


def _every_reason() -> set[str]:
    overdue = duty_problems(
        participation_start=date(2016, 5, 1),
        participation_end=date(2019, 4, 30),
        done={},
        on=date(2019, 7, 5),
        due_month=4,
        due_day=1,
    )
    return _clearance_reasons() | set(overdue) | _financing_errors() | PAYOUT_RUN_SENTENCES


@pytest.mark.parametrize("reason", sorted(_every_reason()))
def test_every_reason_the_run_gives_has_a_bokmal_wording(reason: str) -> None:
    worded = staff_wording(reason)
    assert hold_reason(reason) is not None, reason
    assert worded != reason and not ENGLISH.search(worded.split("(")[0]), worded


def test_each_wording_is_reached_and_cites_its_rule() -> None:
    reached = {entry.code for reason in _every_reason() if (entry := hold_reason(reason))}
    assert reached == {entry.code for entry in HOLD_REASONS}
    assert all(re.search(r"seed 00\d|design decision \(D\)", e.rule) for e in HOLD_REASONS)


def test_the_wording_keeps_the_year_the_date_and_the_numbers() -> None:
    assert staff_wording("annual report 2016 overdue since 2017-04-03 (annual_report:2016)") == (
        "årsrapporten for 2016 er ikke registrert levert (frist 03.04.2017)"
    )
    assert staff_wording("no expenditure for 2015 (the baseline) imported for 0138") == (
        "netto driftsutgifter til omsorgstjenester for 2015 (grunnlagsåret) er ikke importert"
        " for 0138"
    )


def test_a_members_reason_keeps_its_number_in_front() -> None:
    assert staff_wordings(
        [
            "0301: the agreement is not signed by the directorate",
            "no reply to the offer is recorded",
        ]
    ) == [
        "0301: Helsedirektoratet har ikke signert samarbeidsavtalen",
        "kommunens svar på tilbudet om deltakelse er ikke registrert",
    ]


def test_a_reason_no_entry_knows_is_shown_as_it_is() -> None:
    assert staff_wording("something new went wrong") == "something new went wrong"
    assert hold_reason("something new went wrong") is None


def test_the_machine_readable_sentence_is_recognised_whole_not_in_part() -> None:
    assert hold_reason("the agreement is not signed by the directorate yet") is None
