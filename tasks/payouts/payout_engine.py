"""``sio payout ROUND --run YYYYQn``: a quarterly payout run against the application database.

Plain functions, no Prefect import: the ``payout`` flow wraps :func:`run_payout` (and publishes
:func:`tasks.documents.statements.statement_table_rows` as its table artifact); the CLI calls it
directly.

Exactly once (issue 4): a run's lines, its statement mails and its ``payout_run`` row are written
in one transaction, so a crash leaves all or nothing. The ``payout_run`` row (unique per round
and quarter) is inserted first: it takes SQLite's write lock, and a second run of the same quarter
finds it and adds nothing — it reports the lines that run wrote. Every line also carries a unique
``line_key``. Runs of one round are serialised (PostgreSQL advisory lock, SQLite's writer lock),
and a quarter cannot be run after a later one: a later run never changes an earlier run's lines.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sio_domain.financing import baseline_year, unit_prices_in_ore
from sio_domain.money import format_amount, to_ore
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.payees import Flag
from sio_domain.payout_periods import Quarter
from sio_domain.payout_run import PayoutInputs, PayoutPlan, activity_window, plan_payout
from sio_domain.round_definition import RoundDefinition
from sio_domain.services import SERVICE_CATALOGUE
from sio_domain.settlement import line_key
from tasks.payouts import payout_queries as queries
from tasks.payouts.ledger import LedgerLine, ledger_lines
from tasks.records.municipality_lookup import registry as load_registry
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for
from tasks.storage.tables import LedgerLineRecord, PayoutRunRecord

Status = Literal["paid", "dry_run", "already_run"]
_CHUNK = 5000  # lines per INSERT: memory stays flat however many lines a run writes
Progress = Callable[[float, str], None]


@dataclass
class HeldBack:
    """A payee whose lines were not paid this run, and why."""

    kommunenummer: str
    municipality: str
    reasons: list[str]
    lines: list[LedgerLine]

    def as_json(self) -> dict[str, Any]:
        return {
            "kommunenummer": self.kommunenummer,
            "municipality": self.municipality,
            "reasons": self.reasons,
            "lines": [line.as_json() for line in self.lines],
        }


@dataclass
class PayoutResult:
    """What a run paid (``lines``), held back (``held``) and flagged for staff (``flags``)."""

    round_id: str
    run: str
    as_of: datetime
    status: Status
    lines: list[LedgerLine]
    held: list[HeldBack] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    statement_cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    def as_json(self) -> dict[str, Any]:
        return {
            "round": self.round_id,
            "run": self.run,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "total": format_amount(self.total),
            "lines": [line.as_json() for line in self.lines],
            "held": [held.as_json() for held in self.held],
            "flags": [{"kommunenummer": f.kommunenummer, "reason": f.reason} for f in self.flags],
        }


def run_payout(
    round_ref_or_definition: str | RoundDefinition,
    run: str,
    *,
    database_url: str,
    as_of: datetime,
    dry_run: bool = False,
    exports_dir: Path | None = None,
    mail_statements: bool = True,
    actor: str = "sio payout",
    progress: Progress | None = None,
) -> PayoutResult:
    """Hold the payout run of quarter ``run`` (``YYYYQn``) for a round, as of ``as_of``.

    ``dry_run`` computes and returns the lines without writing anything. With ``exports_dir`` the
    run's statements (xlsx + csv per municipality) are written there after the commit; with
    ``mail_statements`` each statement is queued in the outbox for the finance officers.
    ``progress(fraction, text)`` is called as the run proceeds (for a Prefect progress artifact).
    """
    round_def = _round(round_ref_or_definition)
    quarter = Quarter.parse(run)
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} must carry a time zone")
    with _without_gc_pauses():
        return _run(
            round_def,
            quarter,
            database_url,
            as_of,
            dry_run,
            exports_dir,
            mail_statements,
            actor,
            progress or (lambda fraction, text: None),
        )


@contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """Leave the cyclic garbage collector off for the run, as it was before afterwards.

    A run allocates tens of thousands of small objects (entitlements, ledger rows), each of
    them freed by reference counting; with the collector on, they set off full collections
    that scan every object of the process, which cost as much as the run's arithmetic.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(
    round_def: RoundDefinition,
    quarter: Quarter,
    database_url: str,
    as_of: datetime,
    dry_run: bool,
    exports_dir: Path | None,
    mail_statements: bool,
    actor: str,
    report: Progress,
) -> PayoutResult:
    registry = load_registry(database_url)
    context = _Context(round_def, quarter, registry)
    with session_for(database_url) as session:
        if dry_run:
            previous = _run_record(session, round_def.id, quarter.label)
            if previous is not None:
                return _already_run(session, context, previous.as_of)
            result = _compute(session, context, as_of, "dry_run", report)
            report(1.0, "dry run: nothing written")
            return result
        queries.lock_round(session, round_def.id)
        started = datetime.now(UTC)
        try:
            session.add(
                PayoutRunRecord(
                    round_id=round_def.id, run=quarter.label, as_of=as_of, started_at=started
                )
            )
            session.flush()
        except IntegrityError:
            session.rollback()
            previous = _run_record(session, round_def.id, quarter.label)
            assert previous is not None
            return _already_run(session, context, previous.as_of)
        _refuse_out_of_order(session, round_def.id, quarter, as_of)
        result = _compute(session, context, as_of, "paid", report)
        _write(session, context, result, actor=actor, mail_statements=mail_statements)
        session.commit()
    report(0.9, f"{len(result.lines)} lines written")
    if exports_dir is not None:
        from tasks.documents.statements import write_statements

        write_statements(result, exports_dir, context.registry)
    report(1.0, "done")
    return result


def _round(reference: str | RoundDefinition) -> RoundDefinition:
    if isinstance(reference, RoundDefinition):
        return reference
    from tasks.intake.round_files import load_round

    return load_round(reference)


def _run_record(session: Session, round_id: str, run: str) -> PayoutRunRecord | None:
    return session.exec(
        select(PayoutRunRecord).where(
            col(PayoutRunRecord.round_id) == round_id, col(PayoutRunRecord.run) == run
        )
    ).first()


def _refuse_out_of_order(
    session: Session, round_id: str, quarter: Quarter, as_of: datetime
) -> None:
    latest = session.exec(
        select(func.max(PayoutRunRecord.run)).where(
            col(PayoutRunRecord.round_id) == round_id, col(PayoutRunRecord.run) != quarter.label
        )
    ).one_or_none()
    if latest is not None and Quarter.parse(latest) > quarter:
        raise ValueError(
            f"--run {quarter.label}: run {latest} of {round_id} has already been held; an earlier"
            " quarter cannot be run after a later one (what it would pay, the next run pays)"
        )
    starts = datetime.combine(quarter.first_day, datetime.min.time(), tzinfo=OSLO)
    if as_of < starts:
        raise ValueError(
            f"--run {quarter.label} cannot be held before the quarter begins"
            f" ({quarter.first_day.isoformat()}); use --dry-run to see what it would pay"
        )


@dataclass(frozen=True)
class _Context:
    round_def: RoundDefinition
    quarter: Quarter
    registry: MunicipalityRegistry


def _compute(
    session: Session, context: _Context, as_of: datetime, status: Status, report: Progress
) -> PayoutResult:
    round_def, quarter = context.round_def, context.quarter
    participations = queries.participations(session)
    first, last = activity_window(round_def, participations, quarter)
    activity = {}
    if first <= last:
        prices = unit_prices_in_ore(
            round_def.financing, tuple(SERVICE_CATALOGUE), range(first.year, last.year + 1)
        )
        activity = queries.activity_value(
            session, first=first, last=last, as_of=as_of, prices_ore=prices
        )
    report(0.3, "activity priced")
    inputs = PayoutInputs(
        participations=participations,
        agreements=queries.agreement_states(session, round_def.id),
        expenditure=queries.expenditure_by_number(
            session, baseline_year(round_def), round_def.financing.kostra_functions
        ),
        activity=activity,
        paid=queries.ledger(session, round_def.id),
        adjustments=queries.adjustments(session, round_def.id, as_of),
        claims=[
            (number, amount, entered.astimezone(OSLO).date())
            for number, amount, entered in queries.adaptation_claims(session, round_def.id, as_of)
        ],
    )
    on = as_of.astimezone(OSLO).date()
    plan = plan_payout(round_def, quarter, on=on, registry=context.registry, inputs=inputs)
    report(0.6, "lines computed")
    return _result(round_def, plan, as_of, status, {p.id: p.line_key for p in inputs.paid})


def _result(
    round_def: RoundDefinition,
    plan: PayoutPlan,
    as_of: datetime,
    status: Status,
    keys_by_id: dict[int, str],
) -> PayoutResult:
    run = plan.run.label
    paid: list[LedgerLine] = []
    held: list[HeldBack] = []
    for outcome in sorted(plan.payees.values(), key=lambda o: o.kommunenummer):
        lines = [
            LedgerLine(
                kommunenummer=outcome.kommunenummer,
                municipality=outcome.name,
                model=outcome.model,
                run=run,
                period=line.period,
                component=line.component,
                amount=line.amount,
                corrects=keys_by_id.get(line.corrects) if line.corrects is not None else None,
                line_key=line_key(
                    round_def.id,
                    outcome.kommunenummer,
                    line.period,
                    line.component,
                    run,
                    line.reference,
                ),
                basis=line.basis,
            )
            for line in sorted(outcome.lines, key=lambda n: (n.period, n.component))
        ]
        if outcome.reported_held:
            held.append(HeldBack(outcome.kommunenummer, outcome.name, outcome.problems, lines))
        elif not outcome.held:
            paid.extend(lines)
    return PayoutResult(round_def.id, run, as_of, status, paid, held, plan.flags)


def _write(
    session: Session,
    context: _Context,
    result: PayoutResult,
    *,
    actor: str,
    mail_statements: bool,
) -> None:
    round_def = context.round_def
    now = datetime.now(UTC)
    ids = {key: line_id for line_id, key in _ids_of_corrected(session, result)}
    table = LedgerLineRecord.__table__  # type: ignore[attr-defined]
    total_ore = 0
    for start in range(0, len(result.lines), _CHUNK):
        rows = [
            {
                "line_key": line.line_key,
                "round_id": round_def.id,
                "kommunenummer": line.kommunenummer,
                "municipality": line.municipality,
                "model": line.model,
                "run": line.run,
                "period": line.period,
                "component": line.component,
                "amount_ore": to_ore(line.amount),
                "corrects": ids.get(line.corrects) if line.corrects else None,
                "basis": line.basis,
                "created_at": now,
            }
            for line in result.lines[start : start + _CHUNK]
        ]
        session.execute(insert(table), rows)
        total_ore += sum(row["amount_ore"] for row in rows)
    record = _run_record(session, round_def.id, result.run)
    assert record is not None
    record.finished_at = now
    record.lines = len(result.lines)
    record.total_ore = total_ore
    session.add(record)
    record_audit(
        session,
        at=now,
        actor=actor,
        what="payout_run",
        round_id=round_def.id,
        detail={
            "run": result.run,
            "as_of": result.as_of.isoformat(),
            "lines": len(result.lines),
            "total_ore": total_ore,
            "held": [held.kommunenummer for held in result.held],
        },
    )
    if mail_statements and result.lines:
        from tasks.documents.statements import enqueue_statement_mails

        enqueue_statement_mails(session, result, context.registry)


def _ids_of_corrected(session: Session, result: PayoutResult) -> list[tuple[int, str]]:
    keys = sorted({line.corrects for line in result.lines if line.corrects})
    if not keys:
        return []
    return list(
        session.exec(
            select(LedgerLineRecord.id, LedgerLineRecord.line_key).where(
                col(LedgerLineRecord.line_key).in_(keys)
            )
        ).all()
    )


def _already_run(session: Session, context: _Context, as_of: datetime) -> PayoutResult:
    """A quarter already run: the lines that run wrote, and nothing new.

    What it held back is in its audit entry (``payout_run``); the next run reports it again.
    """
    round_id, run = context.round_def.id, context.quarter.label
    lines = ledger_lines(session, round_id, run=run)
    return PayoutResult(round_id, run, as_of, "already_run", lines)
