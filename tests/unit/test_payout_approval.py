"""Two-person approval of a payout proposal, and the duties that hold payment (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sio_domain.payment_clearance import annual_report_due, duty_problems
from sio_domain.payout_approval import (
    Approval,
    ApprovalRefused,
    ProposedLine,
    check_approval,
    is_approved,
    missing_roles,
    proposal_fingerprint,
)

AT = datetime(2016, 7, 7, 6, tzinfo=UTC)


def line(amount: str, period: str = "2016Q3") -> ProposedLine:
    return ProposedLine(f"k-{period}", "1714", period, "income_supplement", Decimal(amount), None)


def test_the_fingerprint_ignores_order_but_not_an_ore() -> None:
    lines = [line("100.00", "2016Q2"), line("200.00")]
    first = proposal_fingerprint("sio-2016", "2016Q3", lines, {})
    assert first == proposal_fingerprint("sio-2016", "2016Q3", lines[::-1], {})
    assert first != proposal_fingerprint("sio-2016", "2016Q3", [lines[0], line("200.01")], {})
    assert first != proposal_fingerprint("sio-2016", "2016Q4", lines, {})


def test_a_lifted_hold_changes_the_fingerprint() -> None:
    lines = [line("100.00")]
    held = proposal_fingerprint("sio-2016", "2016Q3", lines, {"1663": ["no agreement"]})
    assert held != proposal_fingerprint("sio-2016", "2016Q3", lines, {})


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_the_fingerprint_is_the_same_for_the_same_amount(amount: Decimal) -> None:
    same = [line(f"{amount:.2f}")]
    assert proposal_fingerprint("r", "2016Q3", same, {}) == proposal_fingerprint(
        "r", "2016Q3", [line(str(amount.quantize(Decimal("0.01"))))], {}
    )


def approval(role: str, name: str, fingerprint: str = "f1") -> Approval:
    return Approval(role, name, fingerprint, AT)  # type: ignore[arg-type]


def test_two_different_people_in_the_two_roles_approve_enough() -> None:
    approvals = [approval("disponent", "Dina"), approval("attestant", "Atle")]
    assert is_approved(approvals, "f1")
    assert missing_roles(approvals[:1], "f1") == ["attestant"]
    assert missing_roles([], "f1") == ["disponent", "attestant"]


def test_approvals_of_an_older_proposal_do_not_count() -> None:
    approvals = [approval("disponent", "Dina", "old"), approval("attestant", "Atle")]
    assert not is_approved(approvals, "f1")
    assert missing_roles(approvals, "f1") == ["disponent"]


def test_one_person_in_both_roles_is_never_enough() -> None:
    approvals = [approval("disponent", "Dina Dahl"), approval("attestant", "dina  DAHL")]
    assert not is_approved(approvals, "f1")


def test_the_same_person_cannot_take_the_other_role() -> None:
    with pytest.raises(ApprovalRefused, match="role separation"):
        check_approval(
            role="attestant",
            name=" Dina ",
            fingerprint="f1",
            approvals=[approval("disponent", "Dina")],
            allowed={},
        )
    # approving an older proposal in the other role did not bind the new one
    assert (
        check_approval(
            role="attestant",
            name="Dina",
            fingerprint="f1",
            approvals=[approval("disponent", "Dina", "old")],
            allowed={},
        )
        == "attestant"
    )


def test_the_round_file_names_who_may_approve() -> None:
    allowed = {"disponent": ("Dina Dahl",), "attestant": ("Atle Aas", "Berit Berg")}
    assert check_approval(
        role="attestant", name="berit berg", fingerprint="f", approvals=[], allowed=allowed
    )
    with pytest.raises(ApprovalRefused, match="may not approve as disponent"):
        check_approval(
            role="disponent", name="Atle Aas", fingerprint="f", approvals=[], allowed=allowed
        )


@pytest.mark.parametrize(("role", "name"), [("approver", "Dina"), ("disponent", "  ")])
def test_a_role_and_a_name_are_required(role: str, name: str) -> None:
    with pytest.raises(ApprovalRefused):
        check_approval(role=role, name=name, fingerprint="f", approvals=[], allowed={})


def test_the_annual_report_is_due_on_the_first_working_day_from_1_april() -> None:
    assert annual_report_due(2016, due_month=4, due_day=1) == date(2017, 4, 3)  # Sat → Mon
    assert annual_report_due(2017, due_month=4, due_day=1) == date(2018, 4, 3)  # Easter Monday


def holds(on: date, done: dict[str, date]) -> list[str]:
    return duty_problems(
        participation_start=date(2016, 5, 1),
        participation_end=date(2019, 4, 30),
        done=done,
        on=on,
        due_month=4,
        due_day=1,
    )


def test_a_late_annual_report_holds_payment_until_it_is_recorded() -> None:
    assert holds(date(2017, 4, 3), {}) == []  # the due day itself is not late
    assert holds(date(2017, 4, 4), {}) == ["annual report 2016 overdue since 2017-04-03"
                                          " (annual_report:2016)"]  # fmt: skip
    assert holds(date(2017, 7, 7), {"annual_report:2016": date(2017, 6, 1)}) == []
    # recorded after the run's day: not known to the run (as-of truth)
    assert len(holds(date(2017, 7, 7), {"annual_report:2016": date(2017, 8, 1)})) == 1
    assert len(holds(date(2018, 7, 6), {"annual_report:2016": date(2017, 6, 1)})) == 1
