"""``sio payout ROUND --run YYYYQn``: a quarterly payout run against the application database.

Plain functions, no Prefect import: the ``payout`` flow wraps :func:`run_payout` (and publishes
:func:`tasks.documents.statements.statement_table_rows` as its table artifact); the CLI calls it
directly.

Two-person approval (økonomiregelverket 2.5.2 and 3.7.3): a run first computes its *proposal*
(the lines, what is held back and why) and stores it with its fingerprint
(sio_domain/payout_approval.py). It writes the ledger only when a ``disponent`` and an
``attestant`` — two different people — approved that very fingerprint (:func:`approve_payout`,
from ``sio payout approve`` or the flow's form). A later computation that differs (new activity,
an adjustment) replaces the proposal, and it must be approved again.

Exactly once: a run's lines, its statement mails and its ``payout_run`` row are written in one
transaction, so a crash leaves all or nothing; a second run of a paid quarter adds nothing and
reports the lines that run wrote. Every line also carries a unique ``line_key``. All payout work
on one round is serialised (:func:`tasks.payouts.payout_queries.lock_round`, shared by the CLI and
the
flows), and a quarter cannot be run after a later one.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, func
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from sio_domain.financing import baseline_year, unit_prices_in_ore
from sio_domain.money import format_amount, to_ore
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.payees import Flag
from sio_domain.payout_approval import (
    Approval,
    ApprovalRefused,
    ProposedLine,
    Role,
    check_approval,
    current,
    missing_roles,
    proposal_fingerprint,
    same_person,
)
from sio_domain.payout_periods import Month, Quarter
from sio_domain.payout_run import (
    PayoutInputs,
    PayoutPlan,
    activity_window,
    check_run_quarter,
    complete_payout,
    draft_payout,
)
from sio_domain.round_definition import RoundDefinition
from sio_domain.services import SERVICE_CATALOGUE
from sio_domain.settlement import line_key
from tasks.payouts import payout_queries as queries
from tasks.payouts.ledger import LedgerLine, append_line_rows, ledger_lines
from tasks.records.municipality_lookup import registry as load_registry
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for
from tasks.storage.tables import (
    LedgerLineRecord,
    PayoutApprovalRecord,
    PayoutProposalRecord,
    PayoutRunRecord,
)

Status = Literal["paid", "dry_run", "already_run", "awaiting_approval"]
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
    fingerprint: str = ""
    approvals: list[Approval] = field(default_factory=list)
    awaiting: list[Role] = field(default_factory=list)
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
            "fingerprint": self.fingerprint,
            "approvals": [
                {"role": a.role, "name": a.name, "approved_at": a.approved_at.isoformat()}
                for a in self.approvals
            ],
            "awaiting": list(self.awaiting),
        }

    def totals_by_municipality(self) -> dict[str, dict[str, Decimal]]:
        """kommunenummer → component → amount of the lines to pay (the proposal's summary)."""
        totals: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            row = totals.setdefault(line.kommunenummer, {})
            row[line.component] = row.get(line.component, Decimal("0.00")) + line.amount
        return totals


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
    quarter = check_run_label(round_def, run)
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


def check_run_label(round_ref_or_definition: str | RoundDefinition, run: str) -> Quarter:
    """The quarter ``run`` names, if it is one the round holds a payout run in; else one
    ``ValueError`` line naming ``--run`` (checked before anything runs)."""
    round_def = _round(round_ref_or_definition)
    try:
        quarter = Quarter.parse(run)
    except ValueError as error:
        raise ValueError(f"--run: {error}") from None
    check_run_quarter(round_def, quarter)
    return quarter


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
            _fingerprint(result)
            report(1.0, "dry run: nothing written")
            return result
        queries.lock_round(session, round_def.id)
        previous = _run_record(session, round_def.id, quarter.label)
        if previous is not None:
            result = _already_run(session, context, previous.as_of)
            _finish(result, exports_dir, report)
            return result
        _refuse_out_of_order(session, round_def.id, quarter, as_of)
        result = _propose(session, context, as_of, report)
        if not result.awaiting:
            _pay(session, context, result, actor=actor, mail_statements=mail_statements)
        session.commit()
    _finish(result, exports_dir, report)
    return result


def approve_payout(
    round_ref_or_definition: str | RoundDefinition,
    run: str,
    *,
    role: str,
    name: str,
    database_url: str,
    now: datetime,
    via: str = "cli",
    fingerprint: str | None = None,
    exports_dir: Path | None = None,
    mail_statements: bool = True,
    actor: str = "sio payout approve",
) -> PayoutResult:
    """Record one approval of the run's current proposal; pay the run if it is the second.

    The proposal is computed again at its own as-of instant first: the approval counts only for
    what the run would pay now. ``fingerprint``, when given, is the proposal the approver read
    (the form shows it); a proposal that changed since is refused with the new fingerprint.
    The approval, and the payment it completes, are one transaction.
    """
    round_def = _round(round_ref_or_definition)
    quarter = check_run_label(round_def, run)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now {now.isoformat()} must carry a time zone")
    with _without_gc_pauses(), session_for(database_url) as session:
        context = _Context(round_def, quarter, load_registry(database_url))
        queries.lock_round(session, round_def.id)
        if _run_record(session, round_def.id, quarter.label) is not None:
            raise ApprovalRefused(f"--run {quarter.label}: the run is already paid")
        stored = queries.proposal(session, round_def.id, quarter.label)
        if stored is None:
            raise ApprovalRefused(
                f"--run {quarter.label}: no proposal to approve yet; hold the run first"
                f" (sio payout {round_def.id} --run {quarter.label})"
            )
        _refuse_out_of_order(session, round_def.id, quarter, stored.as_of)
        shown = fingerprint or stored.fingerprint
        result = _propose(session, context, stored.as_of, lambda fraction, text: None)
        if result.fingerprint != shown:
            session.commit()  # keep the new proposal: it is what must be approved now
            raise ApprovalRefused(
                f"--run {quarter.label}: the proposal changed since it was shown"
                f" (now {result.fingerprint[:12]}); review it and approve again"
            )
        approved = check_approval(
            role=role,
            name=name,
            fingerprint=result.fingerprint,
            approvals=result.approvals,
            allowed=round_def.payout.approvers,
        )
        _record_approval(session, context, result, approved, name.strip(), now, via, actor)
        if not result.awaiting:
            _pay(session, context, result, actor=actor, mail_statements=mail_statements)
        session.commit()
    _finish(result, exports_dir, lambda fraction, text: None)
    return result


def _finish(result: PayoutResult, exports_dir: Path | None, report: Progress) -> None:
    if result.status == "already_run":
        if exports_dir is not None and result.lines:
            from tasks.documents.statements import write_statements
            from tasks.records.municipality_lookup import registry

            # a run killed between its commit and its files: the repeat writes what is missing
            write_statements(result, exports_dir, registry(), missing_only=True)
        report(1.0, "already run: nothing new")
        return
    if result.status != "paid":
        report(1.0, f"awaiting approval by {', '.join(result.awaiting)}")
        return
    report(0.9, f"{len(result.lines)} lines written")
    if exports_dir is not None:
        from tasks.documents.statements import write_statements
        from tasks.records.municipality_lookup import registry

        write_statements(result, exports_dir, registry())  # written standards of the payees
    report(1.0, "done")


def _fingerprint(result: PayoutResult) -> str:
    result.fingerprint = proposal_fingerprint(
        result.round_id,
        result.run,
        (
            ProposedLine(
                line.line_key,
                line.kommunenummer,
                line.period,
                line.component,
                line.amount,
                line.corrects,
            )
            for line in result.lines
        ),
        {held.kommunenummer: held.reasons for held in result.held},
    )
    return result.fingerprint


def _propose(
    session: Session, context: _Context, as_of: datetime, report: Progress
) -> PayoutResult:
    """Compute the run at ``as_of`` and make it the stored proposal (kept if unchanged)."""
    round_id, run = context.round_def.id, context.quarter.label
    result = _compute(session, context, as_of, "awaiting_approval", report)
    fingerprint = _fingerprint(result)
    stored = queries.proposal(session, round_id, run)
    if stored is None or stored.fingerprint != fingerprint:
        stored = stored or PayoutProposalRecord(
            round_id=round_id, run=run, fingerprint="", as_of=as_of, computed_at=as_of
        )
        stored.fingerprint = fingerprint
        stored.as_of = as_of
        stored.computed_at = datetime.now(UTC)
        stored.lines = len(result.lines)
        stored.total_ore = to_ore(result.total)
        stored.held = json.dumps([held.kommunenummer for held in result.held])
        session.add(stored)
        session.flush()
        record_audit(
            session,
            at=as_of,
            actor="payout-proposal",
            what="payout_proposed",
            round_id=round_id,
            detail={
                "run": run,
                "as_of": as_of.isoformat(),
                "fingerprint": fingerprint,
                "lines": len(result.lines),
                "total_ore": stored.total_ore,
                "held": [held.kommunenummer for held in result.held],
            },
        )
    else:
        result.as_of = stored.as_of  # the same proposal: dated when it was first computed
    _approval_state(session, result)
    return result


def _approval_state(session: Session, result: PayoutResult) -> None:
    approvals = queries.approvals(session, result.round_id, result.run)
    result.approvals = current(approvals, result.fingerprint)
    result.awaiting = missing_roles(approvals, result.fingerprint)


def _record_approval(
    session: Session,
    context: _Context,
    result: PayoutResult,
    role: Role,
    name: str,
    now: datetime,
    via: str,
    actor: str,
) -> None:
    existing = next((a for a in result.approvals if a.role == role), None)
    if existing is not None:
        if same_person(existing.name, name):
            return  # approved already: a repeated approval changes nothing
        raise ApprovalRefused(
            f"--as {role}: {existing.name} already approved this proposal as {role}"
        )
    session.add(
        PayoutApprovalRecord(
            round_id=context.round_def.id,
            run=result.run,
            role=role,
            name=name,
            fingerprint=result.fingerprint,
            approved_at=now,
            via=via,
        )
    )
    session.flush()
    record_audit(
        session,
        at=now,
        actor=f"{actor} ({via})",
        what="payout_approved",
        round_id=context.round_def.id,
        detail={"run": result.run, "role": role, "name": name, "fingerprint": result.fingerprint},
    )
    _approval_state(session, result)


def _pay(
    session: Session,
    context: _Context,
    result: PayoutResult,
    *,
    actor: str,
    mail_statements: bool,
) -> None:
    """Write the approved proposal: the run row, the ledger lines, the audit entry, the mails."""
    session.add(
        PayoutRunRecord(
            round_id=context.round_def.id,
            run=result.run,
            as_of=result.as_of,
            started_at=datetime.now(UTC),
        )
    )
    session.flush()
    result.status = "paid"
    _write(session, context, result, actor=actor, mail_statements=mail_statements)


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
    with _activity_alongside(session, round_def, first, last, as_of) as priced_activity:
        inputs = PayoutInputs(
            participations=participations,
            agreements=queries.agreement_states(session, round_def.id),
            expenditure=queries.expenditure_by_number(
                session, baseline_year(round_def), round_def.financing.kostra_functions
            ),
            activity={},  # being priced alongside; complete_payout takes it below
            paid=queries.ledger(session, round_def.id),
            adjustments=queries.adjustments(session, round_def.id, as_of),
            claims=[
                (number, amount, entered.astimezone(OSLO).date())
                for number, amount, entered in queries.adaptation_claims(
                    session, round_def.id, as_of
                )
            ],
            duties_done=queries.duties_done(session, round_def.id),
            accounts=queries.bank_accounts(session),
        )
        on = as_of.astimezone(OSLO).date()
        from tasks.records.replanning import round_as_decided

        round_def = round_as_decided(session, round_def, on)  # an early end decided by then counts
        draft = draft_payout(round_def, quarter, on=on, registry=context.registry, inputs=inputs)
        activity = priced_activity()
    report(0.3, "activity priced")
    plan = complete_payout(draft, activity, replace(inputs, activity=activity))
    report(0.6, "lines computed")
    return _result(round_def, plan, as_of, status, {p.id: p.line_key for p in inputs.paid})


@contextmanager
def _activity_alongside(
    session: Session, round_def: RoundDefinition, first: Month, last: Month, as_of: datetime
) -> Iterator[Callable[[], Mapping[tuple[str, Month], Decimal]]]:
    """The run's priced activity (its one large read), read on a connection of its own while
    the run reads and works out everything else; the callable waits for it.

    The database does the pricing and summing in its own process (PostgreSQL) or with Python's
    lock released (SQLite), so on two cores the run's own work overlaps it. The run's
    transaction holds the round's payout lock, and activity is only ever appended, so the
    second connection reads what the run's own would. A database that is one connection
    (SQLite in memory) is read in line.
    """
    if first > last:
        yield dict
        return
    prices = unit_prices_in_ore(
        round_def.financing, tuple(SERVICE_CATALOGUE), range(first.year, last.year + 1)
    )
    bind = session.get_bind()
    if not isinstance(bind, Engine) or isinstance(bind.pool, StaticPool):
        found = queries.activity_value(
            session, first=first, last=last, as_of=as_of, prices_ore=prices
        )
        yield lambda: found
        return

    def read() -> Mapping[tuple[str, Month], Decimal]:
        with bind.connect() as connection:
            return queries.activity_value(
                connection, first=first, last=last, as_of=as_of, prices_ore=prices
            )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sio-payout-activity") as pool:
        yield pool.submit(read).result


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
    rows = []
    total_ore = 0
    for line in result.lines:
        amount_ore = to_ore(line.amount)
        total_ore += amount_ore
        rows.append(
            (
                line.line_key,
                round_def.id,
                line.kommunenummer,
                line.municipality,
                line.model,
                line.run,
                line.period,
                line.component,
                amount_ore,
                ids.get(line.corrects) if line.corrects else None,
                line.basis,
                now,
            )
        )
    append_line_rows(session, rows)
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
            "held_reasons": {held.kommunenummer: list(held.reasons) for held in result.held},
            "fingerprint": result.fingerprint,
            "approvals": [
                {"role": a.role, "name": a.name, "approved_at": a.approved_at.isoformat()}
                for a in result.approvals
            ],
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
        session.exec(  # type: ignore[arg-type]
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
