"""Municipal bank accounts on record (kontonummer), append-only: the latest recorded counts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from sio_domain.bank_accounts import valid_account
from tasks.storage.audit import record_audit
from tasks.storage.tables import BankAccountRecord


def record_bank_account(
    session: Session,
    *,
    round_id: str,
    kommunenummer: str,
    account: str,
    now: datetime,
    recorded_by: str,
) -> BankAccountRecord:
    """Record a municipality's account (checked again here: nothing invalid is stored)."""
    record = BankAccountRecord(
        round_id=round_id,
        kommunenummer=kommunenummer,
        account=valid_account(account),
        recorded_at=now,
        recorded_by=recorded_by,
    )
    session.add(record)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=recorded_by,
        what="bank_account_recorded",
        round_id=round_id,
        kommunenummer=kommunenummer,
        detail={"account": record.account},
    )
    return record
