"""A whole round in simulated time (simulering): the stage code the deployments run, on a fresh
temporary database and ``.eml`` outbox, driven by the next-due calendar and a scenario.

Why the same code: a simulation is only worth showing if it is what the trial will do. Every step
is a stage run through the unit of work (``tasks.runs.stages.decide`` and ``UnitOfWork.apply``, as
``run_stage`` does it), mail goes through the same delivery, the payout runs are
``tasks.payouts.payout_engine.run_payout`` at the plan's payout instants (the 5th working day of
each
quarter, 06:00), and the outside world's events are imported through the same importers and
recording functions the CLI uses, each at its own instant (as-of truth, design decision D).

Its folder is thrown away at the end, so its outbox and SQLite file are not flushed to disk at
each write, and each letter's document is attached as its HTML rather than laid out as PDF (the
same template and text; laying out took most of a simulation's time).

Time advances from event to due run: after each step the state is loaded and the next-due calendar
(``sio_domain.next_due``) says when a stage next has work; idle mornings are skipped, which gives
exactly the letters the daily schedules would have sent.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from deployments.settings import Settings
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.next_due import next_due
from sio_domain.norwegian_calendar import OSLO, is_working_day
from sio_domain.obligations import obligations
from sio_domain.round_definition import RoundDefinition
from sio_domain.scenario import (
    Scenario,
    ScenarioError,
    check_against,
    synthetic_contacts,
    synthetic_expenditure,
    synthetic_registry_rows,
    synthetic_units,
    with_synthetic_applicants,
)
from sio_domain.stage_times import payout_instants, stage_schedule
from sio_domain.trial_state import TrialState
from tasks.runs.stage_run import StageRun
from tasks.runs.stages import decide, summarise

LETTERS_HEADER = (
    "date",
    "kind",
    "kommunenummer",
    "recipient_kommunenummer",
    "written_standard",
    "key",
)
ACTOR = "simulation"
STAFF_ADDRESS = "sio-stab@helsedir.no"
"""The staff mailbox of every simulation (staff letters go there, never to a real one)."""
APPROVERS = ("Simulert disponent", "Simulert attestant")
"""The two named approvers of every simulated payout run (budsjettdisponering, attestasjon)."""


def synthetic_account(kommunenummer: str) -> str:
    """A valid, deterministic kontonummer for a simulated municipality (MOD11 by python-stdnum)."""
    from stdnum.no import kontonr

    for group in range(10, 100):
        number = f"8601{group:02d}{kommunenummer}"
        for check in "0123456789":
            if kontonr.is_valid(number + check):
                return number + check
    raise ValueError(f"no synthetic account for {kommunenummer}")


def approve_simulated_run(round_def: Any, label: str, *, database_url: str, at: datetime) -> None:
    """Both approvals of a simulated payout run, by the two named simulated approvers."""
    from tasks.payouts.payout_engine import approve_payout

    for role, name in zip(("disponent", "attestant"), APPROVERS, strict=True):
        approve_payout(
            round_def, label, role=role, name=name, database_url=database_url, now=at, actor=ACTOR
        )


@dataclass
class Timings:
    """Where a simulation's time went (seconds)."""

    start_up: float = 0.0
    events: float = 0.0
    stages: float = 0.0
    calendar: float = 0.0
    payouts: float = 0.0
    delivery: float = 0.0


@dataclass
class SimulationResult:
    """The summary (the command's JSON), the letters log rows, and the timings."""

    summary: dict[str, Any]
    letters: list[dict[str, str]]
    timings: Timings = field(default_factory=Timings)
    runs: list[tuple[str, str]] = field(default_factory=list)
    ledger: list[dict[str, str]] = field(default_factory=list)
    """Every ledger line: kommunenummer, run, period, component, amount."""


@dataclass(order=True)
class _Event:
    at: datetime
    order: int
    what: str = field(compare=False)
    apply: Callable[[], None] = field(compare=False, repr=False)


def simulate(
    round_def: RoundDefinition,
    scenario: Scenario,
    *,
    until: date,
    municipalities: int | None = None,
    origin: str = "scenario",
    workdir: Path | None = None,
    stage_runner: Callable[[str, datetime], None] | None = None,
    payout_runner: Callable[[str, datetime], None] | None = None,
    pdf_documents: bool = False,
) -> SimulationResult:
    """Run ``round_def`` from its first event to the end of ``until`` on a fresh database.

    ``stage_runner``/``payout_runner`` replace the in-process stage and payout steps (the Prefect
    variant passes flows); they receive the stage (or quarter) and the instant. Documents are
    attached as HTML unless ``pdf_documents`` (the outbox is thrown away with the folder).
    """
    from tasks.documents.pdf_rendering import documents_as_html

    started = clock.perf_counter()
    with _home(workdir) as home, nullcontext() if pdf_documents else documents_as_html():
        sim = _Simulation(round_def, scenario, home, until, origin, municipalities)
        sim.stage_runner = stage_runner
        sim.payout_runner = payout_runner
        result = sim.run()
    result.summary["seconds"] = round(clock.perf_counter() - started, 1)
    return result


def _without_sync(url: str) -> None:
    """The simulation's SQLite file is thrown away with its folder: it need not survive a power
    cut, so SQLite does not wait for the disk at each commit (``PRAGMA synchronous = OFF``)."""
    from sqlalchemy import event

    from tasks.storage.database import engine_for

    engine = engine_for(url)
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _unsynced):
        event.listen(engine, "connect", _unsynced)


def _unsynced(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous = OFF")
    finally:
        cursor.close()


@contextmanager
def _home(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="sio-simulate-") as folder:
        yield Path(folder)


class _Simulation:
    def __init__(
        self,
        round_def: RoundDefinition,
        scenario: Scenario,
        home: Path,
        until: date,
        origin: str,
        municipalities: int | None,
    ) -> None:
        self.round_def = round_def
        self.origin = origin
        self.home = home
        self.until = until
        self.end = datetime.combine(until, time(23, 59, 59), tzinfo=OSLO)
        self.settings = Settings(
            home=home,
            database_url=f"sqlite:///{home / 'sio.db'}",
            smtp_host=None,
            staff_email=STAFF_ADDRESS,
            outbox_fsync=False,  # the outbox is thrown away with the folder
        )
        self.url = self.settings.resolved_database_url
        _without_sync(self.url)
        self.files = home / "files"
        self.files.mkdir(exist_ok=True)
        self.timings = Timings()
        self.runs: list[tuple[str, str]] = []
        self.stage_runner: Callable[[str, datetime], None] | None = None
        self.payout_runner: Callable[[str, datetime], None] | None = None
        self._accounts: set[str] = set()
        self._plans_key: tuple[tuple[str, str], ...] = ()
        self._plans: dict[str, Any] = {}
        t0 = clock.perf_counter()
        from tasks.records.municipality_lookup import registry as load_registry

        self.registry: MunicipalityRegistry = load_registry(self.url)
        check_against(scenario, round_def, self.registry, origin)
        self.scenario = scenario
        if municipalities is not None:
            scenario = self._grow(scenario, municipalities)
        self.scenario = scenario
        self.schedule = stage_schedule(round_def)
        self.timings.start_up += clock.perf_counter() - t0

    # ------------------------------------------------------------------ set-up

    def _grow(self, scenario: Scenario, total: int) -> Scenario:
        """Add synthetic applicants from the registry (and synthetic registry rows beyond it)."""
        day = self._reference_day()
        available = [
            v.kommunenummer
            for v in self.registry.all()
            if v.valid_on(day) and v.kommunenummer not in scenario.named()
        ]
        taken = {self.registry.in_force(n, day).kommunenummer for n in scenario.named()}
        available = sorted(n for n in available if n not in taken)
        missing = total - len(scenario.named()) - len(available)
        if missing > 0:
            rows = synthetic_registry_rows(missing)
            path = self.files / "municipalities.csv"
            _write_csv(path, list(rows[0]), rows)
            from tasks.records.municipality_store import import_municipalities

            import_municipalities(path, database_url=self.url, now=self._start())
            from tasks.records.municipality_lookup import registry as load_registry

            self.registry = load_registry(self.url)
            available += [row["kommunenummer"] for row in rows]
        return with_synthetic_applicants(scenario, self.round_def, self.registry, available, total)

    def _reference_day(self) -> date:
        m = self.round_def.milestones
        return (m.application_deadline or m.selection_deadline or m.go_live).date

    def _start(self) -> datetime:
        """Midnight before the invitation (or the first event): contacts are known from then."""
        days = [a.submitted_at.astimezone(OSLO).date() for a in self.scenario.applications]
        invitation = self.round_def.milestones.invitation
        if invitation is not None:
            days.append(invitation.date)
        first = min(days) if days else self._reference_day()
        return datetime.combine(first - timedelta(days=1), time(0), tzinfo=OSLO)

    # ------------------------------------------------------------------ the loop

    def run(self) -> SimulationResult:
        t0 = clock.perf_counter()
        start = self._start()
        self._import_contacts(start)
        events = sorted(self._events())
        payouts = [
            (label, at) for label, at in payout_instants(self.round_def, start) if at <= self.end
        ]
        self.timings.start_up += clock.perf_counter() - t0
        now = start
        from tasks.storage.unit_of_work import unit_of_work

        while True:
            t0 = clock.perf_counter()
            horizon = min(
                [self.end]
                + ([events[0].at] if events else [])
                + ([payouts[0][1]] if payouts else [])
            )
            with unit_of_work(self.url, self.registry) as uow:
                state = self._shared_plans(uow.state(self.round_def, now))
            # Nothing later than the next outside event is looked at: that event may change it.
            due = next_due(state, now, self.schedule, until=horizon)
            self.timings.calendar += clock.perf_counter() - t0
            choices: list[tuple[datetime, int, str]] = []
            if events:
                choices.append((events[0].at, 0, "event"))
            if payouts:
                choices.append((payouts[0][1], 1, "payout"))
            if due is not None:
                choices.append((due.at, 2, "stage"))
            if not choices:
                break
            at, _, what = min(choices)
            if at > self.end:
                break
            if what == "event":
                t0 = clock.perf_counter()
                while events and events[0].at == at:  # nothing runs between them
                    event = events.pop(0)
                    try:
                        event.apply()
                    except ValueError as error:
                        raise ScenarioError(
                            f"{self.origin}: {event.what} of {at.isoformat()}: {error}"
                        ) from None
                self.timings.events += clock.perf_counter() - t0
            elif what == "payout":
                label, _ = payouts.pop(0)
                self._payout(label, at)
            else:
                assert due is not None
                self._stage(due.stage, at)
            now = at
        return self._result()

    def _shared_plans(self, state: TrialState) -> TrialState:
        """The state with the plans built so far: a plan depends only on the round and the
        participation's model, so it is built once per participation, not once per run."""
        key = tuple(sorted((k, p.model) for k, p in state.participations.items()))
        if key != self._plans_key:
            self._plans_key, self._plans = key, {}
        return replace(state, _plans=self._plans)

    def _stage(self, stage: str, at: datetime) -> None:
        t0 = clock.perf_counter()
        self.runs.append((stage, at.isoformat()))
        if self.stage_runner is not None:
            self.stage_runner(stage, at)
            self.timings.stages += clock.perf_counter() - t0
            return
        from tasks.storage.unit_of_work import unit_of_work

        run = StageRun(self.round_def, at, self.settings, ACTOR)
        with unit_of_work(self.url, self.registry) as uow:
            state = self._shared_plans(uow.state(self.round_def, at))
            agenda = decide(stage, state)
            applied = uow.apply(
                agenda,
                state,
                actor=ACTOR,
                mail_from=self.settings.mail_from,
                staff_address=self.settings.staff_address,
            )
            uow.commit()
        summarise(run, agenda, applied)
        self.timings.stages += clock.perf_counter() - t0
        self._deliver(at)

    def _payout(self, label: str, at: datetime) -> None:
        t0 = clock.perf_counter()
        self.runs.append(("payout", at.isoformat()))
        self._record_accounts(at)
        if self.payout_runner is not None:
            self.payout_runner(label, at)
        else:
            from tasks.payouts.payout_engine import run_payout

            result = run_payout(self.round_def, label, database_url=self.url, as_of=at, actor=ACTOR)
            if result.status == "awaiting_approval":
                approve_simulated_run(self.round_def, label, database_url=self.url, at=at)
        self.timings.payouts += clock.perf_counter() - t0
        self._deliver(at)

    def _record_accounts(self, at: datetime) -> None:
        """A bank account for every number a participant is paid under, before its first run."""
        from tasks.payouts.payment_accounts import record_bank_account
        from tasks.storage.database import session_for

        with session_for(self.url) as session:
            for knr in sorted(self._participant_numbers()):
                if knr in self._accounts:
                    continue
                record_bank_account(
                    session,
                    round_id=self.round_def.id,
                    kommunenummer=knr,
                    account=synthetic_account(knr),
                    now=at,
                    recorded_by=ACTOR,
                )
                self._accounts.add(knr)
            session.commit()

    def _participant_numbers(self) -> set[str]:
        from sqlmodel import select

        from tasks.records.municipality_lookup import registry as load_registry
        from tasks.storage.database import session_for
        from tasks.storage.tables import ParticipationRecord

        known = load_registry(self.url)
        with session_for(self.url) as session:
            rows = session.exec(
                select(ParticipationRecord.kommunenummer).where(
                    ParticipationRecord.round_id == self.round_def.id
                )
            ).all()
        return {n for knr in rows for n in (known.lineage(knr) if knr in known else [knr])}

    def _deliver(self, at: datetime) -> None:
        if self.stage_runner is not None:
            return  # the flows deliver their own mail
        t0 = clock.perf_counter()
        from tasks.mail.mail_delivery import deliver_pending

        deliver_pending(self.url, self.settings, now=at, actor=ACTOR)
        self.timings.delivery += clock.perf_counter() - t0

    # ------------------------------------------------------------------ the outside world

    def _import_contacts(self, at: datetime) -> None:
        rows = [
            row
            for number in self.scenario.named()
            for row in synthetic_contacts(number, self.registry.get(number).name)
        ]
        if not rows:
            return
        from tasks.intake.imports import import_contacts

        path = self.files / "contacts.csv"
        _write_csv(path, ["kommunenummer", "name", "role", "email", "phone"], rows)
        import_contacts(path, database_url=self.url, now=at, actor=ACTOR)

    def _events(self) -> Iterator[_Event]:
        s = self.scenario
        order = 0

        def event(at: datetime, what: str, apply: Callable[[], None]) -> _Event:
            nonlocal order
            order += 1
            return _Event(at, order, what, apply)

        for application in s.applications:
            yield event(application.submitted_at, "application", self._application(application))
        by_day: dict[date, list[Any]] = defaultdict(list)
        for decision in s.decisions:
            by_day[decision.decided_on].append(decision)
        for day, decisions in sorted(by_day.items()):
            yield event(_morning(day), "selection", self._selection(day, decisions))
        for reply in s.replies:
            yield event(_morning(reply.on, 1), "reply", self._record("reply", reply))
        for signature in s.signatures:
            yield event(
                _morning(signature.received_on, 2),
                "signature",
                self._record("signature", signature),
            )
        for activity in s.activities:
            yield event(_morning(activity.on, 3), "activity", self._record("activity", activity))
        for meeting in s.meetings:
            yield event(_morning(meeting.agreed_on, 4), "meeting", self._record("meeting", meeting))
        participants = s.participants()
        if participants and s.figures.expenditure:
            first = min(d.decided_on for d in s.decisions)
            yield event(_morning(first, 5), "expenditure", self._expenditure(list(participants)))
        if participants and s.figures.activity:
            for month, at in self._activity_months():
                yield event(at, "activity file", self._activity_file(month, participants))

    def _application(self, application: Any) -> Callable[[], None]:
        def apply() -> None:
            from tasks.intake.imports import import_applications

            path = self.files / f"application-{application.kommunenummer}.csv"
            council = application.council_resolution_date or application.submitted_at.date()
            _write_csv(
                path,
                [
                    "kommunenummer",
                    "submitted_at",
                    "signed_by_title",
                    "council_resolution_date",
                    "epj_system",
                    "attachment",
                ],
                [
                    {
                        "kommunenummer": application.kommunenummer,
                        "submitted_at": application.submitted_at.isoformat(),
                        "signed_by_title": application.signed_by_title,
                        "council_resolution_date": council.isoformat(),
                        "epj_system": application.epj_system,
                        "attachment": "soknad.pdf",
                    }
                ],
            )
            import_applications(
                path,
                round_def=self.round_def,
                database_url=self.url,
                now=application.submitted_at,
                actor=ACTOR,
            )

        return apply

    def _selection(self, day: date, decisions: list[Any]) -> Callable[[], None]:
        def apply() -> None:
            from tasks.intake.imports import decide_selection

            path = self.files / f"selection-{day.isoformat()}.csv"
            by = self.round_def.selection_decided_by
            _write_csv(
                path,
                ["kommunenummer", "decision", "model", "decided_by", "decided_on"],
                [
                    {
                        "kommunenummer": d.kommunenummer,
                        "decision": d.decision,
                        "model": d.model or "",
                        "decided_by": d.decided_by or by,
                        "decided_on": day.isoformat(),
                    }
                    for d in decisions
                ],
            )
            decide_selection(
                path,
                round_def=self.round_def,
                database_url=self.url,
                now=_morning(day),
                actor=ACTOR,
            )

        return apply

    def _record(self, kind: str, item: Any) -> Callable[[], None]:
        def apply() -> None:
            from tasks.records.lifecycle_records import (
                record_activity_done,
                record_meeting_time,
                record_reply,
                record_signature,
            )
            from tasks.storage.unit_of_work import unit_of_work

            attribute = {"signature": "received_on", "meeting": "agreed_on"}.get(kind, "on")
            day: date = getattr(item, attribute)
            now = _morning(day)
            with unit_of_work(self.url, self.registry) as uow:
                state = uow.state(self.round_def, now)
                session = uow.session
                knr = item.kommunenummer
                if kind == "reply":
                    record_reply(
                        session,
                        state,
                        knr,
                        accepted=item.accepted,
                        on=item.on,
                        now=now,
                        actor=ACTOR,
                    )
                elif kind == "signature":
                    signed = item.signed_on or item.received_on
                    record_signature(
                        session,
                        state,
                        knr,
                        party="municipality",
                        signed_on=signed,
                        place=self.registry.get(knr).name.split("(")[0].strip(),
                        signatory="Rådmann",
                        received_on=item.received_on,
                        now=now,
                        actor=ACTOR,
                    )
                    ours = item.directorate_signed_on or item.received_on
                    record_signature(
                        session,
                        state,
                        knr,
                        party="directorate",
                        signed_on=ours,
                        place="Oslo",
                        signatory="Divisjonsdirektør",
                        received_on=ours,
                        now=max(now, _morning(ours)),
                        actor=ACTOR,
                    )
                elif kind == "activity":
                    record_activity_done(
                        session,
                        state,
                        knr,
                        activity=item.activity,
                        on=item.on,
                        now=now,
                        actor=ACTOR,
                    )
                else:
                    record_meeting_time(
                        session,
                        state,
                        knr,
                        month=item.month,
                        start=item.start,
                        now=now,
                        actor=ACTOR,
                    )
                uow.commit()

        return apply

    def _expenditure(self, participants: list[str]) -> Callable[[], None]:
        def apply() -> None:
            from tasks.intake.finance_imports import import_expenditure

            first = self.round_def.milestones.go_live.date.year - 1
            last = self.round_def.milestones.effective_end.year
            # A merged municipality reports once, the sum of its predecessors (number on 31.12).
            totals: dict[tuple[str, int, str], Decimal] = defaultdict(Decimal)
            for knr in participants:
                for year in range(first, last + 1):
                    number = _in_force(self.registry, knr, date(year, 12, 31))
                    for function in self.round_def.financing.kostra_functions:
                        totals[(number, year, function)] += synthetic_expenditure(
                            knr, year, function
                        )
            rows = [
                {
                    "kommunenummer": number,
                    "year": str(year),
                    "function": function,
                    "amount": f"{amount:.2f}",
                }
                for (number, year, function), amount in totals.items()
            ]
            path = self.files / "expenditure.csv"
            _write_csv(path, ["kommunenummer", "year", "function", "amount"], rows)
            import_expenditure(path, database_url=self.url, now=_morning(date(first + 1, 1, 1)))

        return apply

    def _activity_months(self) -> Iterator[tuple[str, datetime]]:
        """Each month of the round, reported on the 1st working day of the next month, 12:00."""
        m = self.round_def.milestones
        month = date(m.go_live.date.year, m.go_live.date.month, 1)
        last = m.effective_end
        while month <= last:
            following = (month + timedelta(days=32)).replace(day=1)
            report = following
            while not is_working_day(report):
                report += timedelta(days=1)
            yield month.strftime("%Y-%m"), datetime.combine(report, time(12), tzinfo=OSLO)
            month = following

    def _activity_file(self, month: str, participants: dict[str, str]) -> Callable[[], None]:
        def apply() -> None:
            from tasks.intake.finance_imports import import_activity

            codes = sorted(
                self.round_def.financing.unit_prices[self.round_def.financing.price_base_year]
            )
            first_day = datetime.strptime(month + "-01", "%Y-%m-%d").date()
            units: dict[tuple[str, str], int] = defaultdict(int)
            for knr, model in participants.items():
                if model != "A":
                    continue
                number = _in_force(self.registry, knr, first_day)
                for index, code in enumerate(codes):
                    units[(number, code)] += synthetic_units(knr, month, index)
            rows = [
                {"kommunenummer": number, "month": month, "service_code": code, "units": str(n)}
                for (number, code), n in units.items()
            ]
            if not rows:
                return
            path = self.files / f"activity-{month}.csv"
            _write_csv(path, ["kommunenummer", "month", "service_code", "units"], rows)
            report = (first_day + timedelta(days=32)).replace(day=1)
            while not is_working_day(report):
                report += timedelta(days=1)
            import_activity(
                path, database_url=self.url, now=datetime.combine(report, time(12), tzinfo=OSLO)
            )

        return apply

    # ------------------------------------------------------------------ the result

    def _result(self) -> SimulationResult:
        from tasks.storage.database import session_for
        from tasks.storage.tables import AuditEntry, ContactRecord, LedgerLineRecord, OutgoingMail
        from tasks.storage.unit_of_work import unit_of_work

        with session_for(self.url) as session:
            mails = list(
                session.exec(
                    select(OutgoingMail)
                    .where(col(OutgoingMail.sent_at).is_not(None))
                    .order_by(col(OutgoingMail.due_at), col(OutgoingMail.key))
                )
            )
            owners: dict[str, set[str]] = defaultdict(set)
            for contact in session.exec(select(ContactRecord)):
                owners[contact.email.lower()].add(contact.kommunenummer)
            standards = {}
            for entry in session.exec(select(AuditEntry).where(AuditEntry.what == "letter_queued")):
                detail = json.loads(entry.detail or "{}")
                standards[detail.get("key")] = detail.get("standard")
            ledger = list(session.exec(select(LedgerLineRecord)))
        with unit_of_work(self.url, self.registry) as uow:
            state = uow.state(self.round_def, self.end)
        letters: list[dict[str, str]] = []
        by_kind: Counter[str] = Counter()
        for mail in mails:
            by_kind[mail.kind] += 1
            sent = (mail.sent_at or mail.due_at).astimezone(OSLO)
            day = sent.date()
            standard = standards.get(mail.key) or (
                state.written_standard(mail.kommunenummer, day) if mail.kommunenummer else "bokmål"
            )
            for address in mail.recipients.split(","):
                numbers = owners.get(address.strip().lower(), set())
                letters.append(
                    {
                        "date": sent.isoformat(),
                        "kind": mail.kind,
                        "kommunenummer": mail.kommunenummer or "",
                        "recipient_kommunenummer": _owner(
                            numbers, mail.kommunenummer, self.registry
                        ),
                        "written_standard": standard,
                        "key": mail.key,
                    }
                )
        total = Decimal(0)
        by_municipality: dict[str, Decimal] = defaultdict(Decimal)
        for line in ledger:
            amount = Decimal(line.amount_ore) / 100
            total += amount
            number = _in_force(self.registry, line.kommunenummer, self.until)
            by_municipality[number] += amount
        late = []
        for item in obligations(state):
            if item.deadline <= self.until and item.is_late(self.until):
                what = item.key if item.kind == "activity" else f"{item.kind}_deadline"
                if item.kind == "annual_report":
                    what = item.key
                late.append(
                    {
                        "kommunenummer": item.kommunenummer,
                        "what": what,
                        "date": item.deadline.isoformat(),
                    }
                )
        late.sort(key=lambda row: (row["date"], row["kommunenummer"], row["what"]))
        summary: dict[str, Any] = {
            "round": self.round_def.id,
            "until": self.until.isoformat(),
            "municipalities": len(self.scenario.named()),
            "flow_runs": len(self.runs),
            "mails": {"total": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items()))},
            "payouts": {
                "lines": len(ledger),
                "total": f"{total:.2f}",
                "by_municipality": {k: f"{v:.2f}" for k, v in sorted(by_municipality.items())},
            },
            "late": late,
            "seconds": 0.0,
        }
        lines = [
            {
                "kommunenummer": line.kommunenummer,
                "run": line.run,
                "period": line.period,
                "component": line.component,
                "amount": f"{Decimal(line.amount_ore) / 100:.2f}",
            }
            for line in ledger
        ]
        lines.sort(
            key=lambda row: (row["run"], row["kommunenummer"], row["period"], row["component"])
        )
        return SimulationResult(summary, letters, self.timings, self.runs, lines)


def _owner(numbers: set[str], kommunenummer: str | None, registry: MunicipalityRegistry) -> str:
    """The number a recipient contact was registered under (staff: empty)."""
    if not numbers:
        return ""
    if len(numbers) == 1 or kommunenummer is None or kommunenummer not in registry:
        return sorted(numbers)[0]
    lineage = set(registry.lineage(kommunenummer))
    own = sorted(numbers & lineage)
    return own[0] if own else sorted(numbers)[0]


def _in_force(registry: MunicipalityRegistry, kommunenummer: str, day: date) -> str:
    if kommunenummer not in registry:
        return kommunenummer
    try:
        return registry.in_force(kommunenummer, day).kommunenummer
    except ValueError:
        return kommunenummer


def _morning(day: date, minute: int = 0) -> datetime:
    """06:00 (+ ``minute``) Europe/Oslo: outside events are recorded before the stages run."""
    return datetime.combine(day, time(6, minute), tzinfo=OSLO)


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def write_letters_log(rows: list[dict[str, str]], path: Path) -> None:
    """The letters log: one row per recipient of every letter sent (``LETTERS_HEADER``)."""
    _write_csv(path, list(LETTERS_HEADER), rows)
