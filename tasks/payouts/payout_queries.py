"""The reads a payout run makes: a handful of bulk queries, whatever the number of municipalities.

Why bulk: a run for all 357 municipalities (or ten times as many rows) must stay within twice the
time of one raw SQL ``GROUP BY`` over the same activity. So activity is
priced and summed in SQL — one row back per municipality and month — and every other read is one
query per table, never one per municipality.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, case, func, literal_column, text
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import Session, col, select

from sio_domain.payees import Participation
from sio_domain.payment_clearance import AgreementState
from sio_domain.payout_approval import Approval
from sio_domain.payout_periods import Month
from sio_domain.settlement import PaidLine, StaffAdjustment
from tasks.storage.tables import (
    ActivityReport,
    ActivityStatus,
    AdjustmentRecord,
    BankAccountRecord,
    ExpenditureRecord,
    LedgerLineRecord,
    ParticipationRecord,
    PayoutApprovalRecord,
    PayoutProposalRecord,
    ReplyRecord,
    SignatureRecord,
    SystemAdaptationClaim,
)

_PAYOUT_LOCK_BASE = 5_102_016_100  # beside tasks/storage/database.py's migration lock key

Source = Session | Connection
"""Where a read runs: the run's session, or a connection of its own (the activity, read
alongside the rest of the run: :mod:`tasks.payouts.payout_engine`)."""


def _connection(source: Source) -> Connection:
    """The connection column queries run on as plain SQL, in the session's transaction.

    The ORM's per-row handling cost more than the queries for the thousands of rows a run
    reads (ledger, activity); the column types still convert the values. Anything the session
    holds unwritten is flushed first, as the ORM's own query would.
    """
    if isinstance(source, Session):
        source.flush()
        return source.connection()
    return source


def _rows(source: Source, statement: Any) -> Sequence[Row[Any]]:
    return _connection(source).execute(statement).all()


def _first(source: Source, statement: Any) -> Row[Any] | None:
    return _connection(source).execute(statement).first()


def participations(session: Session) -> list[Participation]:
    """Every recorded participation, in every round (for the one-round-per-month rule)."""
    table = ParticipationRecord
    rows = _rows(
        session,
        select(  # type: ignore[call-overload]  # sqlmodel types up to 4 columns
            col(table.round_id),
            col(table.kommunenummer),
            col(table.model),
            col(table.start),
            col(table.end),
            col(table.abf_start),
        ),
    )
    return [Participation(*row) for row in rows]


def agreement_states(session: Session, round_id: str) -> dict[str, AgreementState]:
    """Per participation number: when the agreement was received and signed, and the reply."""
    received: dict[str, date] = {}
    signed: dict[str, date] = {}
    signatures = _rows(
        session,
        select(
            col(SignatureRecord.kommunenummer),
            col(SignatureRecord.party),
            col(SignatureRecord.signed_on),
            col(SignatureRecord.received_on),
        ).where(col(col(SignatureRecord.round_id)) == round_id),
    )
    for number, party, signed_on, received_on in signatures:
        if party == "municipality":
            received[number] = received_on
        elif party == "directorate":
            signed[number] = signed_on
    replies = {
        number: (accepted, replied_on)
        for number, accepted, replied_on in _rows(
            session,
            select(
                col(ReplyRecord.kommunenummer), ReplyRecord.accepted, col(ReplyRecord.replied_on)
            ).where(col(col(ReplyRecord.round_id)) == round_id),
        )
    }
    return {
        number: AgreementState(
            municipality_received_on=received.get(number),
            directorate_signed_on=signed.get(number),
            reply_accepted=replies[number][0] if number in replies else None,
            replied_on=replies[number][1] if number in replies else None,
        )
        for number in set(received) | set(signed) | set(replies)
    }


def expenditure_by_number(
    session: Session, year: int, functions: tuple[str, ...]
) -> dict[str, Decimal]:
    """Net operating expenditure of ``year`` on ``functions``, per number (NOK)."""
    rows = _rows(
        session,
        select(ExpenditureRecord.kommunenummer, func.sum(ExpenditureRecord.amount_ore))
        .where(
            col(ExpenditureRecord.year) == year,
            col(ExpenditureRecord.function).in_(functions),
        )
        .group_by(col(ExpenditureRecord.kommunenummer)),
    )
    return {number: Decimal(int(total)).scaleb(-2) for number, total in rows}


def activity_value(
    source: Source,
    *,
    first: Month,
    last: Month,
    as_of: datetime,
    prices_ore: Mapping[tuple[str, int], int],
) -> dict[tuple[str, Month], Decimal]:
    """(number, month) → Σ units × unit price (NOK, exact) of the activity reported by ``as_of``.

    For each municipality, month and service the latest report made by ``as_of`` counts (activity
    is append-only; a later report supersedes an earlier one). Units are hundredths and prices
    øre, so the SQL sum is an exact integer in 1/10 000 NOK.

    Most runs find no superseded report in their months, and then every report is the latest.
    So the plain ``GROUP BY`` runs first, and per group it also counts the reports of priced
    services and sums a power of two per service (:func:`_code_bits`): a repeated service shows
    as fewer one bits than reports, and only then are the reports ranked (a window function,
    which costs more than the plain ``GROUP BY``) — one query instead of a check and a query.
    A service without a price adds 0 whichever of its reports counts: its repeats do not matter.
    ``source`` may be a connection of its own, so a run can price its activity while it does
    the rest of its work.
    """
    price = price_case(ActivityReport, prices_ore)
    bits = _code_bits(prices_ore)
    if bits is None:
        superseded = _any_superseded(source, first=first, last=last, as_of=as_of)
        reports = latest_activity if superseded else _reports
        return _values(source, reports(first=first, last=last, as_of=as_of), prices_ore)
    code = col(ActivityReport.service_code)
    rows = _rows(
        source,
        select(  # type: ignore[call-overload]  # sqlmodel types up to 4 columns
            col(ActivityReport.kommunenummer),
            col(ActivityReport.month),
            func.sum(col(col(ActivityReport.units_hundredths)) * price),
            func.sum(case(dict.fromkeys(bits, 1), value=code, else_=0)),
            func.sum(case(bits, value=code, else_=0)),
        )
        .where(*_window(first=first, last=last, as_of=as_of))
        .group_by(col(ActivityReport.kommunenummer), col(ActivityReport.month)),
    )
    if any(int(count or 0) != int(mask or 0).bit_count() for _, _, _, count, mask in rows):
        latest = latest_activity(first=first, last=last, as_of=as_of)
        return _values(source, latest, prices_ore)
    return _to_values((number, label, total) for number, label, total, _, _ in rows)


_MAX_CODE_BITS = 60  # Σ 2^i stays within a signed 64-bit integer (SQLite, PostgreSQL bigint)


def _code_bits(prices_ore: Mapping[tuple[str, int], int]) -> dict[str, int] | None:
    """A power of two per priced service code, or None for too many codes to fit 64 bits.

    Summed over a group's reports, the powers of two have as many one bits as there are
    reports exactly when no code repeats (a repeated power of two carries into a higher bit).
    """
    codes = sorted({code for code, _ in prices_ore})
    if len(codes) > _MAX_CODE_BITS:
        return None
    return {code: 1 << index for index, code in enumerate(codes)}


def _values(
    source: Source, reports: Subquery, prices_ore: Mapping[tuple[str, int], int]
) -> dict[tuple[str, Month], Decimal]:
    value = func.sum(reports.c.units_hundredths * price_case(reports.c, prices_ore))
    rows = _rows(
        source,
        select(reports.c.kommunenummer, reports.c.month, value).group_by(
            reports.c.kommunenummer, reports.c.month
        ),
    )
    return _to_values(rows)


def _to_values(rows: Iterable[Any]) -> dict[tuple[str, Month], Decimal]:
    months: dict[str, Month] = {}
    values = {}
    for number, label, total in rows:
        month = months.get(label) or months.setdefault(label, Month.parse(label))
        values[(number, month)] = Decimal(int(total or 0)).scaleb(-4)
    return values


def _window(*, first: Month, last: Month, as_of: datetime) -> list[ColumnElement[bool]]:
    return [
        col(ActivityReport.reported_at) <= as_of,
        col(ActivityReport.month) >= first.label,
        col(ActivityReport.month) <= last.label,
    ]


def _any_superseded(source: Source, *, first: Month, last: Month, as_of: datetime) -> bool:
    """Whether any municipality, month and service in the window has more than one report."""
    found = _first(
        source,
        select(ActivityReport.kommunenummer)
        .where(*_window(first=first, last=last, as_of=as_of))
        .group_by(
            col(ActivityReport.kommunenummer),
            col(ActivityReport.month),
            col(ActivityReport.service_code),
        )
        .having(func.count() > 1)
        .limit(1),
    )
    return found is not None


def _reports(*, first: Month, last: Month, as_of: datetime) -> Subquery:
    """Subquery: every report in the months, made by ``as_of``."""
    return (
        select(
            ActivityReport.kommunenummer,
            ActivityReport.month,
            ActivityReport.service_code,
            ActivityReport.units_hundredths,
        )
        .where(*_window(first=first, last=last, as_of=as_of))
        .subquery("reports")
    )


def latest_activity(*, first: Month, last: Month, as_of: datetime) -> Subquery:
    """Subquery: the latest report by ``as_of`` per municipality, month and service."""
    rank = (
        func.row_number()
        .over(
            partition_by=(
                col(ActivityReport.kommunenummer),
                col(ActivityReport.month),
                col(ActivityReport.service_code),
            ),
            order_by=(col(ActivityReport.reported_at).desc(), col(ActivityReport.id).desc()),
        )
        .label("rank")
    )
    ranked = (
        select(  # type: ignore[call-overload]  # sqlmodel types up to 4 columns
            col(ActivityReport.kommunenummer),
            col(ActivityReport.month),
            col(ActivityReport.service_code),
            col(ActivityReport.units_hundredths),
            rank,
        )
        .where(*_window(first=first, last=last, as_of=as_of))
        .subquery("ranked")
    )
    return (
        select(
            ranked.c.kommunenummer, ranked.c.month, ranked.c.service_code, ranked.c.units_hundredths
        )
        .where(ranked.c.rank == 1)
        .subquery("latest")
    )


def price_case(columns: Any, prices_ore: Mapping[tuple[str, int], int]) -> ColumnElement[int]:
    """``CASE`` giving each row's unit price in øre: by the month's year, then the service code."""
    by_year: dict[str, dict[str, int]] = {}
    for (code, year), price in prices_ore.items():
        by_year.setdefault(f"{year:04d}", {})[code] = price
    return case(
        {
            year: case(prices, value=columns.service_code, else_=literal_column("0"))
            for year, prices in sorted(by_year.items())
        },
        value=func.substr(columns.month, 1, 4),
        else_=literal_column("0"),
    )


def ledger(session: Session, round_id: str) -> list[PaidLine]:
    """Every line of the round already in the ledger (what has been paid)."""
    rows = _rows(
        session,
        select(  # type: ignore[call-overload]  # sqlmodel types up to 4 columns
            col(LedgerLineRecord.id),
            col(LedgerLineRecord.kommunenummer),
            col(LedgerLineRecord.period),
            col(LedgerLineRecord.component),
            col(LedgerLineRecord.amount_ore),
            col(LedgerLineRecord.corrects),
            col(LedgerLineRecord.line_key),
        ).where(col(col(LedgerLineRecord.round_id)) == round_id),
    )
    return [
        PaidLine(line_id, number, period, component, Decimal(amount).scaleb(-2), corrects, key)
        for line_id, number, period, component, amount, corrects, key in rows
    ]


def adjustments(session: Session, round_id: str, as_of: datetime) -> list[StaffAdjustment]:
    """Adjustments entered by ``as_of`` (whether paid is settled against the ledger)."""
    rows = session.exec(
        select(AdjustmentRecord).where(
            col(AdjustmentRecord.round_id) == round_id, col(AdjustmentRecord.entered_at) <= as_of
        )
    ).all()
    return [
        StaffAdjustment(
            r.id or 0, r.kommunenummer, r.period, Decimal(r.amount_ore).scaleb(-2), r.reason
        )
        for r in rows
    ]


def adaptation_claims(
    session: Session, round_id: str, as_of: datetime
) -> list[tuple[str, Decimal, datetime]]:
    """(participation number, amount, entered at) of system-adaptation claims, oldest first."""
    rows = session.exec(
        select(SystemAdaptationClaim)
        .where(
            col(SystemAdaptationClaim.round_id) == round_id,
            col(SystemAdaptationClaim.entered_at) <= as_of,
        )
        .order_by(col(SystemAdaptationClaim.entered_at), col(SystemAdaptationClaim.id))
    ).all()
    return [(r.kommunenummer, Decimal(r.amount_ore).scaleb(-2), r.entered_at) for r in rows]


def lock_round(session: Session, round_id: str) -> None:
    """Serialise payout work on one round (a run, an approval) until the transaction ends.

    Whoever comes second — the CLI or a flow, any process — waits here and then sees what the
    first committed. PostgreSQL: a transaction-level advisory lock per round. SQLite: a write
    statement as the transaction's first, which takes the database's single writer lock
    (``RESERVED``) before anything is read, so no run decides on a snapshot another run is about
    to change. Call it first in the session's transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = _PAYOUT_LOCK_BASE + zlib.crc32(round_id.encode())
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        session.connection().execute(text("UPDATE payout_run SET run = run WHERE 0 = 1"))


def duties_done(session: Session, round_id: str) -> dict[str, dict[str, date]]:
    """Per participation number: duties (``annual_report:<year>``) recorded done, and the day.

    The day done is what counts (the run compares it with its own day), as a signature counts
    from the day the directorate received it: staff record both after the fact.
    """
    rows = _rows(
        session,
        select(
            col(ActivityStatus.kommunenummer),
            col(ActivityStatus.activity_key),
            col(ActivityStatus.done_on),
        ).where(
            col(ActivityStatus.round_id) == round_id,
            col(ActivityStatus.activity_key).startswith("annual_report:"),
        ),
    )
    done: dict[str, dict[str, date]] = {}
    for number, key, done_on in rows:
        done.setdefault(number, {})[key] = done_on
    return done


def bank_accounts(session: Session) -> dict[str, str]:
    """Per kommunenummer: the latest account recorded.

    An account is a standing fact, not a decision of trial time: the latest one is where money
    goes, whenever the run's instant. Recording one changes a held proposal (the hold lifts), so
    that proposal needs its approvals again.
    """
    rows = _rows(
        session,
        select(BankAccountRecord.kommunenummer, BankAccountRecord.account).order_by(
            col(BankAccountRecord.recorded_at), col(BankAccountRecord.id)
        ),
    )
    return {str(number): str(account) for number, account in rows}


def approvals(session: Session, round_id: str, run: str) -> list[Approval]:
    """Every approval recorded for one run, of any proposal fingerprint."""
    rows = session.exec(
        select(PayoutApprovalRecord).where(
            col(PayoutApprovalRecord.round_id) == round_id, col(PayoutApprovalRecord.run) == run
        )
    ).all()
    return [
        Approval(r.role, r.name, r.fingerprint, r.approved_at)  # type: ignore[arg-type]
        for r in rows
    ]


def proposal(session: Session, round_id: str, run: str) -> PayoutProposalRecord | None:
    """The run's current proposal, if one was computed."""
    return session.exec(
        select(PayoutProposalRecord).where(
            col(PayoutProposalRecord.round_id) == round_id, col(PayoutProposalRecord.run) == run
        )
    ).first()
