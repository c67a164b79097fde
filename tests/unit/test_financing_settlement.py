"""Settling against the append-only ledger: originals, corrections, catch-up, nothing twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sio_domain.entitlement import Basis, Component, Entitlement
from sio_domain.payment_clearance import AgreementState, clearance_problems
from sio_domain.payout_periods import Quarter
from sio_domain.settlement import (
    PaidLine,
    StaffAdjustment,
    adjustment_lines,
    line_key,
    settle,
)

Q1, Q2, Q3 = Quarter(2017, 1), Quarter(2017, 2), Quarter(2017, 3)
HORIZON = {"income_supplement": Q3, "lump_sum": Q3, "frame": Q3, "abf": Q2}


def owed(period: Quarter, component: Component, amount: str, payee: str = "1714") -> Entitlement:
    return Entitlement(payee, period, component, Decimal(amount), Basis("basis"))


def paid(
    line_id: int, period: str, component: Component, amount: str, corrects: int | None = None
) -> PaidLine:
    key = line_key("sio-2016", "1714", period, component, "2017Q2", str(corrects or ""))
    return PaidLine(line_id, "1714", period, component, Decimal(amount), corrects, key)


def test_what_is_owed_and_unpaid_becomes_original_lines() -> None:
    lines = settle(
        [owed(Q1, "abf", "100.00"), owed(Q3, "lump_sum", "5.00")],
        [],
        payees={"1714"},
        horizon=HORIZON,
    )
    assert [(line.period, line.component, line.amount) for line in lines] == [
        ("2017Q1", "abf", Decimal("100.00")),
        ("2017Q3", "lump_sum", Decimal("5.00")),
    ]


def test_what_is_paid_in_full_adds_nothing() -> None:
    assert (
        settle(
            [owed(Q1, "abf", "100.00")],
            [paid(1, "2017Q1", "abf", "100.00")],
            payees={"1714"},
            horizon=HORIZON,
        )
        == []
    )


def test_late_activity_becomes_a_correction_pointing_at_the_original() -> None:
    history = [paid(1, "2017Q1", "abf", "100.00"), paid(2, "2017Q1", "correction", "20.00", 1)]
    lines = settle([owed(Q1, "abf", "150.00")], history, payees={"1714"}, horizon=HORIZON)
    assert len(lines) == 1
    correction = lines[0]
    assert (correction.component, correction.period, correction.amount) == (
        "correction",
        "2017Q1",
        Decimal("30.00"),
    )
    assert correction.corrects == 1 and correction.reference == "1"


def test_a_paid_line_no_longer_owed_is_reversed() -> None:
    lines = settle([], [paid(7, "2017Q2", "frame", "900.00")], payees={"1714"}, horizon=HORIZON)
    assert [(line.component, line.amount, line.corrects) for line in lines] == [
        ("correction", Decimal("-900.00"), 7)
    ]


def test_quarters_beyond_the_horizon_and_other_payees_are_left_alone() -> None:
    lines = settle(
        [owed(Q3, "abf", "1.00"), owed(Q1, "abf", "1.00", payee="5032")],
        [],
        payees={"1714"},
        horizon=HORIZON,
    )
    assert lines == []


def test_zero_owed_writes_no_line() -> None:
    assert settle([owed(Q1, "abf", "0.00")], [], payees={"1714"}, horizon=HORIZON) == []


def test_an_adjustment_is_paid_once() -> None:
    adjustment = StaffAdjustment(4, "1714", "2020Q2", Decimal("-2500.00"), "Covid arrangement")
    first = adjustment_lines([adjustment], [], payees={"1714"})
    assert [(line.component, line.amount, line.reference) for line in first] == [
        ("adjustment", Decimal("-2500.00"), "adjustment:4")
    ]
    key = line_key("sio-2019", "1714", "2020Q2", "adjustment", "2020Q3", "adjustment:4")
    done = [PaidLine(9, "1714", "2020Q2", "adjustment", Decimal("-2500.00"), None, key)]
    assert adjustment_lines([adjustment], done, payees={"1714"}) == []


def test_line_keys_differ_per_run_and_corrected_line() -> None:
    keys = {
        line_key("sio-2016", "1714", "2017Q1", "correction", run, corrected)
        for run in ("2017Q3", "2017Q4")
        for corrected in ("1", "2")
    }
    assert len(keys) == 4


def test_payment_needs_both_signatures_and_the_received_copy() -> None:
    """D: no payment before the agreement is fully signed and received."""
    on = date(2016, 4, 7)
    signed = AgreementState(date(2016, 1, 29), date(2016, 1, 30))
    assert clearance_problems(signed, needs_reply=False, on=on) == []
    assert len(clearance_problems(AgreementState(), needs_reply=False, on=on)) == 2
    not_yet = AgreementState(date(2016, 4, 8), date(2016, 1, 30))
    assert clearance_problems(not_yet, needs_reply=False, on=on) == [
        "the directorate has not received the agreement signed by the municipality"
    ]


def test_rounds_with_a_reply_deadline_also_need_the_offer_accepted() -> None:
    on = date(2021, 4, 8)
    signed = AgreementState(date(2020, 12, 20), date(2020, 12, 21))
    assert clearance_problems(signed, needs_reply=True, on=on) == [
        "no reply to the offer is recorded"
    ]
    declined = AgreementState(date(2020, 12, 20), date(2020, 12, 21), False, date(2020, 12, 30))
    assert clearance_problems(declined, needs_reply=True, on=on) == [
        "the municipality declined the offer"
    ]
    accepted = AgreementState(date(2020, 12, 20), date(2020, 12, 21), True, date(2020, 12, 30))
    assert clearance_problems(accepted, needs_reply=True, on=on) == []


def test_instalments_sharing_a_basis_and_lines_with_their_own_each_show_theirs() -> None:
    """A year's instalments share one basis (rendered once); every other line keeps its own."""
    year = Basis("2017: F {0} × 12/12", (Decimal("400.00"),))
    owed_now = [
        Entitlement("1714", Q1, "frame", Decimal("100.00"), year),
        Entitlement("1714", Q2, "frame", Decimal("100.00"), year),
        Entitlement(
            "1714",
            Q1,
            "income_supplement",
            Decimal("4.00"),
            Basis("supplement {0}", (Decimal("16"),)),
        ),
        Entitlement(
            "5035",
            Q1,
            "frame",
            Decimal("100.00"),
            Basis("2017: F {0} × 12/12", (Decimal("800.00"),)),
        ),
    ]
    lines = settle(owed_now, [], payees={"1714", "5035"}, horizon=HORIZON)
    assert [(line.kommunenummer, line.period, line.component, line.basis) for line in lines] == [
        ("1714", "2017Q1", "frame", "2017: F 400.00 × 12/12"),
        ("1714", "2017Q1", "income_supplement", "supplement 16.00"),
        ("1714", "2017Q2", "frame", "2017: F 400.00 × 12/12"),
        ("5035", "2017Q1", "frame", "2017: F 800.00 × 12/12"),
    ]
