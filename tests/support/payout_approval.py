"""Test helpers: pay a payout run as staff would — hold it, then approve it in both roles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from tasks.payouts.payout_engine import PayoutResult, approve_payout, run_payout
from tasks.storage.tables import ActivityStatus, BankAccountRecord

DISPONENT = "Dina Disponent"
ATTESTANT = "Atle Attestant"
ACCOUNT = "86011117947"  # a valid kontonummer (MOD11)


def approve_both(round_ref: Any, run: str, *, database_url: str, now: datetime) -> PayoutResult:
    """Both approvals of the run's current proposal (the second one pays it)."""
    approve_payout(
        round_ref, run, role="disponent", name=DISPONENT, database_url=database_url, now=now
    )
    return approve_payout(
        round_ref, run, role="attestant", name=ATTESTANT, database_url=database_url, now=now
    )


def run_and_approve(round_ref: Any, run: str, *, database_url: str, **options: Any) -> PayoutResult:
    """``run_payout``, then both approvals when the run awaits them: the run as paid."""
    result = run_payout(round_ref, run, database_url=database_url, **options)
    if result.status != "awaiting_approval":
        return result
    keep = {k: options[k] for k in ("exports_dir", "mail_statements") if k in options}
    approve_payout(
        round_ref, run, role="disponent", name=DISPONENT, database_url=database_url,
        now=options["as_of"], **keep,
    )  # fmt: skip
    return approve_payout(
        round_ref, run, role="attestant", name=ATTESTANT, database_url=database_url,
        now=options["as_of"], **keep,
    )  # fmt: skip


def record_payable(
    session: Session, round_id: str, number: str, *, start: date, end: date, at: datetime
) -> None:
    """What a payee needs besides its agreement: a bank account and every annual report done."""
    session.add(
        BankAccountRecord(
            round_id=round_id, kommunenummer=number, account=ACCOUNT, recorded_at=at,
            recorded_by="test",
        )
    )  # fmt: skip
    for year in range(start.year, end.year + 1):
        session.add(
            ActivityStatus(
                round_id=round_id,
                kommunenummer=number,
                activity_key=f"annual_report:{year}",
                done_on=date(year + 1, 3, 1),
                recorded_at=datetime(year + 1, 3, 1, tzinfo=at.tzinfo),
            )
        )
