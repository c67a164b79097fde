"""A quarterly payout run (utbetalingskjøring), decided from what is known at its as-of instant.

The run held in quarter Q (design decision **D**, 5th working day of the quarter, 06:00
Europe/Oslo):

1. pays the quarter's advance — frame or lump sum, and the income supplement — for the months each
   payee takes part in during Q (and any earlier quarter not yet paid);
2. settles ABF for the quarter before Q, and for any earlier quarter, from the activity reported
   by the as-of instant; activity reported later becomes ``correction`` lines in a later run;
3. pays staff ``adjustment`` lines and ``system_adaptation`` claims not yet paid;
4. holds back, and flags, every payee whose agreement is not signed by both parties and received
   (and, where the round has a reply deadline, whose offer is not accepted), whose baseline
   expenditure is missing, whose annual report is overdue (design decision (D)) or, when the
   caller checks accounts, who has no valid bank account on record; the first run after that is
   fixed pays it all (catch-up).

Pure: the caller loads the inputs (tasks/payouts/payout_engine.py) and writes the lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sio_domain.bank_accounts import is_valid_account
from sio_domain.entitlement import (
    AdaptationClaim,
    Component,
    Entitlement,
    abf_owed,
    advance_entitlements,
    system_adaptation_entitlements,
)
from sio_domain.financing import (
    FinancingDataError,
    GrowthIndex,
    baseline_year,
    first_trial_year,
    top_up_amount,
)
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.payees import Flag, Participation, PayeeSchedule, payee_schedules
from sio_domain.payment_clearance import AgreementState, clearance_problems, duty_problems
from sio_domain.payout_periods import Month, Quarter
from sio_domain.round_definition import RoundDefinition
from sio_domain.settlement import (
    NewLine,
    PaidLine,
    StaffAdjustment,
    adjustment_lines,
    settle,
)


@dataclass(frozen=True)
class PayoutInputs:
    """Everything a run reads, loaded in bulk by the caller."""

    participations: Sequence[Participation]
    agreements: Mapping[str, AgreementState]
    expenditure: Mapping[str, Decimal]
    activity: Mapping[tuple[str, Month], Decimal]
    paid: Sequence[PaidLine]
    adjustments: Sequence[StaffAdjustment] = ()
    claims: Sequence[tuple[str, Decimal, date]] = ()
    duties_done: Mapping[str, Mapping[str, date]] = field(default_factory=dict)
    accounts: Mapping[str, str] | None = None


@dataclass
class PayeeOutcome:
    """One payee in one run: the lines it gets now, or why they are held back."""

    kommunenummer: str
    name: str
    model: str
    started: bool = True
    problems: list[str] = field(default_factory=list)
    lines: list[NewLine] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return bool(self.problems)

    @property
    def reported_held(self) -> bool:
        """Held back with something due by now (a later number's future months are not news)."""
        return self.held and (self.started or bool(self.lines))


@dataclass
class PayoutPlan:
    """What a run pays (``payees`` without problems) and holds back (with problems)."""

    run: Quarter
    payees: dict[str, PayeeOutcome]
    flags: list[Flag]

    def paid(self) -> list[PayeeOutcome]:
        return [outcome for outcome in self.payees.values() if not outcome.held]

    def held(self) -> list[PayeeOutcome]:
        return [outcome for outcome in self.payees.values() if outcome.reported_held]


def horizon(run: Quarter) -> dict[Component, Quarter]:
    """The last period each computed component is settled for in ``run`` (see module doc)."""
    return {
        "frame": run,
        "lump_sum": run,
        "income_supplement": run,
        "system_adaptation": run,
        "abf": run.previous(),
    }


LATE_RUNS = 4  # runs after the last participation quarter: late activity, corrections, claw-backs


def run_quarters(round_def: RoundDefinition) -> tuple[Quarter, Quarter]:
    """The first and last quarter a run of the round may be held in.

    From the quarter of the round's collaboration start (or go-live, if earlier or alone) to
    :data:`LATE_RUNS` quarters after the quarter of its effective end: the run after the end
    settles the last quarter's ABF (design decision (D)), later ones pay late corrections.
    """
    milestones = round_def.milestones
    starts = [milestones.go_live.date]
    if milestones.collaboration_start is not None:
        starts.append(milestones.collaboration_start.date)
    last = Quarter.of(milestones.effective_end)
    for _ in range(LATE_RUNS):
        last = last.next()
    return Quarter.of(min(starts)), last


def check_run_quarter(round_def: RoundDefinition, run: Quarter) -> None:
    """``ValueError`` for a run outside the round's payout quarters (one line, naming it)."""
    first, last = run_quarters(round_def)
    if not first <= run <= last:
        raise ValueError(
            f"--run {run.label}: {round_def.id} holds payout runs from {first.label}"
            f" to {last.label}"
        )


def activity_window(
    round_def: RoundDefinition, participations: Sequence[Participation], run: Quarter
) -> tuple[Month, Month]:
    """The months whose activity a run prices: from the round's first participation month to the
    last month of the quarter before the run."""
    starts = [p.start for p in participations if p.round_id == round_def.id]
    first = Month.of(min(starts, default=round_def.milestones.go_live.date))
    return first, run.previous().last_month


def plan_payout(
    round_def: RoundDefinition,
    run: Quarter,
    *,
    on: date,
    registry: MunicipalityRegistry,
    inputs: PayoutInputs,
) -> PayoutPlan:
    """Decide the run: the new lines per payee, what is held back and why (``on``: as-of date)."""
    draft = draft_payout(round_def, run, on=on, registry=registry, inputs=inputs)
    return complete_payout(draft, inputs.activity, inputs)


@dataclass
class PayoutDraft:
    """A run decided up to its activity: who is paid or held and why, and the advances owed.

    ABF (settled from the priced activity, the one large read of a run) is all that is left;
    :func:`complete_payout` adds it and settles. The split lets the caller price the activity
    while everything else is worked out; the lines are the same as deciding it in one go.
    """

    run: Quarter
    outcomes: dict[str, PayeeOutcome]
    flags: list[Flag]
    schedules: dict[str, PayeeSchedule]
    advances: dict[str, list[Entitlement]]
    """Per payee whose amounts could be worked out (schedule order): its advances."""
    adaptation: list[Entitlement]


def draft_payout(
    round_def: RoundDefinition,
    run: Quarter,
    *,
    on: date,
    registry: MunicipalityRegistry,
    inputs: PayoutInputs,
) -> PayoutDraft:
    """Everything :func:`plan_payout` decides that does not need ``inputs.activity``."""
    ours = [p for p in inputs.participations if p.round_id == round_def.id]
    others = [p for p in inputs.participations if p.round_id != round_def.id]
    schedules, flags = payee_schedules(round_def, ours, registry, other_rounds=others)
    outcomes: dict[str, PayeeOutcome] = {}
    advances: dict[str, list[Entitlement]] = {}
    growth = GrowthIndex(round_def.financing, first_trial_year(round_def))
    by_number: dict[str, list[Participation]] = {}
    for participation in ours:
        by_number.setdefault(participation.kommunenummer, []).append(participation)
    for payee, schedule in schedules.items():
        started = min(schedule.months).quarter <= run
        outcome = PayeeOutcome(payee, registry.get(payee).name, schedule.model, started)
        outcome.problems += _clearance(round_def, schedule, inputs.agreements, on)
        outcome.problems += _duties(round_def, schedule, by_number, inputs.duties_done, on)
        if inputs.accounts is not None and account_of(payee, registry, inputs.accounts) is None:
            outcome.problems.append("no valid bank account (kontonummer) recorded")
        try:
            owed = _advances(round_def, growth, schedule, run, registry, inputs, outcome)
        except FinancingDataError as error:
            outcome.problems.append(str(error))
        else:
            if owed is not None:
                advances[payee] = owed
        outcomes[payee] = outcome
    claims, claim_flags = _claims(inputs.claims, schedules, registry)
    flags += claim_flags
    adaptation = system_adaptation_entitlements(
        claims, round_def.financing.system_adaptation_max, run
    )
    return PayoutDraft(run, outcomes, flags, schedules, advances, adaptation)


def complete_payout(
    draft: PayoutDraft, activity: Mapping[tuple[str, Month], Decimal], inputs: PayoutInputs
) -> PayoutPlan:
    """The draft's ABF from ``activity`` (by number and month), settled against the ledger.

    ABF is settled up to the quarter before the run; later months are not looked up.
    """
    run, outcomes, flags = draft.run, draft.outcomes, draft.flags
    settled = run.previous()
    owed: list[Entitlement] = []
    for payee, advances in draft.advances.items():
        owed += advances
        owed += abf_owed(draft.schedules[payee], activity, settled)
    owed += draft.adaptation
    payees = set(outcomes)
    lines = settle(owed, inputs.paid, payees=payees, horizon=horizon(run))
    lines += adjustment_lines(inputs.adjustments, inputs.paid, payees=payees)
    for line in lines:
        outcomes[line.kommunenummer].lines.append(line)
    for adjustment in inputs.adjustments:
        if adjustment.kommunenummer not in outcomes:
            flags.append(
                Flag(
                    adjustment.kommunenummer,
                    f"adjustment {adjustment.id} ({adjustment.period}) not paid:"
                    " the municipality is not a payee of this round",
                )
            )
    return PayoutPlan(run, outcomes, flags)


def _clearance(
    round_def: RoundDefinition,
    schedule: PayeeSchedule,
    agreements: Mapping[str, AgreementState],
    on: date,
) -> list[str]:
    needs_reply = round_def.milestones.reply_deadline is not None
    problems = []
    for member in schedule.members:
        state = agreements.get(member, AgreementState())
        for problem in clearance_problems(state, needs_reply=needs_reply, on=on):
            prefix = "" if member == schedule.kommunenummer else f"{member}: "
            problems.append(prefix + problem)
    return problems


def account_of(
    payee: str, registry: MunicipalityRegistry, accounts: Mapping[str, str]
) -> str | None:
    """The payee's valid account: recorded under its number, else under a number of its lineage
    (the newest number first: a successor's own account wins over a predecessor's)."""
    for number in reversed(registry.lineage(payee)):
        account = accounts.get(number)
        if account is not None and is_valid_account(account):
            return account
    return None


def _duties(
    round_def: RoundDefinition,
    schedule: PayeeSchedule,
    participations: Mapping[str, Sequence[Participation]],
    done: Mapping[str, Mapping[str, date]],
    on: date,
) -> list[str]:
    """Late duties of the payee's participations that hold its payment (design decision (D))."""
    if "annual_report" not in round_def.payout.holding_duties:
        return []
    rule = round_def.annual_report
    problems = []
    for member in schedule.members:
        for participation in participations.get(member, ()):
            prefix = "" if member == schedule.kommunenummer else f"{member}: "
            problems += [
                prefix + problem
                for problem in duty_problems(
                    participation_start=participation.start,
                    participation_end=participation.end,
                    done=done.get(member, {}),
                    on=on,
                    due_month=rule.due_month,
                    due_day=rule.due_day,
                )
            ]
    return problems


def _advances(
    round_def: RoundDefinition,
    growth: GrowthIndex,
    schedule: PayeeSchedule,
    run: Quarter,
    registry: MunicipalityRegistry,
    inputs: PayoutInputs,
    outcome: PayeeOutcome,
) -> list[Entitlement] | None:
    """The payee's advances up to ``run``; None (and the problem noted) without its baseline."""
    base = baseline_year(round_def)
    year_end = date(base, 12, 31)
    numbers = [
        number
        for number in registry.lineage(schedule.kommunenummer)
        if registry.get(number).valid_on(year_end)
    ]
    missing = [number for number in numbers if number not in inputs.expenditure]
    if missing or not numbers:
        outcome.problems.append(
            f"no expenditure for {base} (the baseline) imported for {', '.join(missing or numbers)}"
            if numbers
            else f"no municipality of this lineage was in force at the end of {base}"
        )
        return None
    baseline = sum((inputs.expenditure[number] for number in numbers), Decimal("0"))
    years = schedule.by_year()
    top_up = {}
    if round_def.financing.top_up:
        top_up = {
            year: top_up_amount(
                round_def.financing,
                schedule.kommunenummer,
                year,
                lambda number, on: registry.in_force(number, on).kommunenummer,
                months.all[0].first_day,
            )
            for year, months in years.items()
        }
    return advance_entitlements(
        schedule,
        round_def.financing,
        baseline=baseline,
        growth=growth,
        top_up=top_up,
        through=run,
    )


_ZERO = Decimal("0")


def _claims(
    claims: Sequence[tuple[str, Decimal, date]],
    schedules: Mapping[str, PayeeSchedule],
    registry: MunicipalityRegistry,
) -> tuple[list[AdaptationClaim], list[Flag]]:
    """Claims as owed to the payee in force when each was entered; model A payees only."""
    result, flags = [], []
    for number, amount, entered_on in claims:
        try:
            payee = registry.in_force(number, entered_on).kommunenummer
        except (KeyError, ValueError) as error:
            flags.append(Flag(number, f"system-adaptation claim not paid: {error}"))
            continue
        schedule = schedules.get(payee)
        if schedule is None or schedule.model != "A":
            flags.append(
                Flag(number, "system-adaptation claim not paid: only model A participants")
            )
            continue
        result.append(AdaptationClaim(number, payee, Quarter.of(entered_on), amount))
    return result, flags
