"""Quarterly payout runs against a real database (SQLite and PostgreSQL): the trial's promises.

Exact to the øre, paid once whatever re-runs, late activity as corrections, mergers paid to the
successor with one cap, and nothing paid before the agreement is signed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import func, select

from deployments.settings import load_settings
from sio_domain.norwegian_calendar import nth_working_day_of_month, oslo_datetime
from sio_domain.payout_periods import Quarter
from tasks.intake.finance_imports import import_activity, import_expenditure
from tasks.payouts.ledger import (
    LedgerLine,
    ledger_lines,
    record_adjustment,
    record_system_adaptation_claim,
)
from tasks.payouts.payout_engine import PayoutResult, run_payout
from tasks.storage.database import dispose_engine, session_for
from tasks.storage.tables import (
    LedgerLineRecord,
    ParticipationRecord,
    PayoutApprovalRecord,
    ReplyRecord,
    SignatureRecord,
)
from tests.support.payout_approval import record_payable, run_and_approve

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
R2016_END = date(2019, 4, 30)
R2019_END = date(2021, 12, 31)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trial]:
    """A trial database on SQLite (SIO_HOME) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        request.getfixturevalue("sio_home")
        url = load_settings().resolved_database_url
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield Trial(url, tmp_path)
    dispose_engine(url)


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Trial]:
    request.getfixturevalue("sio_home")
    url = load_settings().resolved_database_url
    yield Trial(url, tmp_path)
    dispose_engine(url)


def run_instant(quarter: str) -> datetime:
    """06:00 Europe/Oslo on the quarter's 5th working day, when the deployment runs ."""
    first = Quarter.parse(quarter).first_day
    return oslo_datetime(nth_working_day_of_month(first.year, first.month, 5), time(6, 0))


@dataclass
class Trial:
    """Factory helpers: record what the lifecycle would have recorded, import, run, read."""

    url: str
    folder: Path

    def participate(
        self,
        round_id: str,
        number: str,
        model: str,
        start: date,
        end: date,
        abf_start: date | None = None,
        *,
        signed: bool = True,
    ) -> None:
        with session_for(self.url) as session:
            session.add(
                ParticipationRecord(
                    round_id=round_id,
                    kommunenummer=number,
                    model=model,
                    start=start,
                    end=end,
                    abf_start=abf_start,
                )
            )
            record_payable(
                session, round_id, number, start=start, end=end, at=datetime(2015, 1, 1, tzinfo=UTC)
            )
            session.commit()
        if signed:
            self.sign(round_id, number, received_on=start.replace(year=start.year - 1, month=2))

    def sign(self, round_id: str, number: str, *, received_on: date) -> None:
        recorded = datetime(received_on.year, received_on.month, received_on.day, tzinfo=UTC)
        with session_for(self.url) as session:
            for party in ("municipality", "directorate"):
                session.add(
                    SignatureRecord(
                        round_id=round_id,
                        kommunenummer=number,
                        party=party,
                        signed_on=received_on,
                        place="Oslo",
                        signatory="Test",
                        received_on=received_on,
                        recorded_at=recorded,
                    )
                )
            session.commit()

    def reply(self, round_id: str, number: str, *, accepted: bool, on: date) -> None:
        with session_for(self.url) as session:
            session.add(
                ReplyRecord(
                    round_id=round_id,
                    kommunenummer=number,
                    accepted=accepted,
                    replied_on=on,
                    recorded_at=datetime(on.year, on.month, on.day, tzinfo=UTC),
                )
            )
            session.commit()

    def expenditure(self, year: int, amounts: dict[str, str]) -> None:
        """Each municipality's baseline, spread over the four KOSTRA functions."""
        lines = ["kommunenummer,year,function,amount"]
        for number, amount in amounts.items():
            total = Decimal(amount)
            quarter = (total / 4).quantize(Decimal("0.01"))
            parts = [quarter, quarter, quarter, total - 3 * quarter]
            for function, part in zip(("234", "253", "254", "261"), parts, strict=True):
                lines.append(f"{number},{year},{function},{part}")
        path = self.folder / f"expenditure-{year}-{len(amounts)}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_expenditure(path, database_url=self.url, now=datetime(year + 1, 3, 1, tzinfo=UTC))

    def activity(self, reported: datetime, rows: Iterable[tuple[str, str, str, str]]) -> None:
        lines = ["kommunenummer,month,service_code,units", *(",".join(row) for row in rows)]
        path = self.folder / f"activity-{reported:%Y%m%d%H%M}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_activity(path, database_url=self.url, now=reported)

    def run(self, round_id: str, quarter: str, **options: object) -> PayoutResult:
        options.setdefault("as_of", run_instant(quarter))
        return run_and_approve(round_id, quarter, database_url=self.url, **options)

    def ledger(self, round_id: str) -> list[LedgerLine]:
        with session_for(self.url) as session:
            return ledger_lines(session, round_id)

    def line_count(self) -> int:
        with session_for(self.url) as session:
            return session.exec(select(func.count()).select_from(LedgerLineRecord)).one()


def total(
    lines: Iterable[LedgerLine],
    *,
    component: str | None = None,
    year: int | None = None,
    number: str | None = None,
) -> Decimal:
    return sum(
        (
            line.amount
            for line in lines
            if (component is None or line.component == component)
            and (year is None or line.period.startswith(str(year)))
            and (number is None or line.kommunenummer == number)
        ),
        Decimal("0.00"),
    )


def stjordal_2016(db: Trial, baseline: str = "900000000", **options: object) -> None:
    db.participate(
        "sio-2016", "1714", "A", date(2016, 5, 1), R2016_END, date(2016, 5, 1), **options
    )  # type: ignore[arg-type]
    db.expenditure(2015, {"1714": baseline})


def test_acceptance_a_capped_municipality_gets_exactly_the_cap(db: Trial) -> None:
    """Issue 4, done-when: 2017 supplement 25 000 000.00; May–December 2016 16 666 666.67."""
    stjordal_2016(db)
    for quarter in ("2016Q2", "2016Q3", "2016Q4", "2017Q1", "2017Q2", "2017Q3", "2017Q4"):
        assert db.run("sio-2016", quarter).status == "paid"
    lines = db.ledger("sio-2016")
    assert total(lines, component="income_supplement", year=2016) == Decimal("16666666.67")
    assert total(lines, component="income_supplement", year=2017) == Decimal("25000000.00")
    supplement_2016 = [line.amount for line in lines if line.component == "income_supplement"][:3]
    assert supplement_2016 == [Decimal("4166666.67"), Decimal("6250000.00"), Decimal("6250000.00")]
    assert all(line.run == line.period for line in lines)  # each advance paid in its quarter


def test_a_model_b_municipality_gets_four_percent_of_its_expenditure(db: Trial) -> None:
    db.participate("sio-2016", "1664", "B", date(2016, 5, 1), R2016_END)
    db.expenditure(2015, {"1664": "100000000"})
    db.run("sio-2016", "2017Q4")
    lines = db.ledger("sio-2016")
    expenditure_2017 = Decimal("100000000") * Decimal("1.027") * Decimal("1.025")
    assert total(lines, component="income_supplement", year=2017) == (
        Decimal("0.04") * expenditure_2017
    ).quantize(Decimal("0.01"))
    assert total(lines, component="frame", year=2017) == expenditure_2017.quantize(Decimal("0.01"))
    assert {line.component for line in lines} == {"frame", "income_supplement"}
    assert {line.model for line in lines} == {"B"}


def test_abf_is_units_times_that_years_unit_price(db: Trial) -> None:
    stjordal_2016(db, "100000000")
    db.activity(
        datetime(2016, 7, 2, tzinfo=UTC),
        [("1714", "2016-05", "home_nursing", "100.5"), ("1714", "2016-06", "long_term_stay", "30")],
    )
    db.activity(datetime(2017, 4, 2, tzinfo=UTC), [("1714", "2017-01", "home_nursing", "10")])
    db.run("sio-2016", "2017Q2")
    abf = {line.period: line.amount for line in db.ledger("sio-2016") if line.component == "abf"}
    assert abf == {
        "2016Q2": Decimal("165375.00"),  # 100.5 h × 750 + 30 days × 3000
        "2017Q1": Decimal("7687.50"),  # 10 h × 768.75 (750 indexed by the 2017 deflator)
    }


def test_a_second_run_of_the_same_quarter_adds_nothing(db: Trial) -> None:
    stjordal_2016(db)
    first = db.run("sio-2016", "2016Q3")
    count = db.line_count()
    again = db.run("sio-2016", "2016Q3", as_of=run_instant("2016Q3").replace(day=28))
    assert (first.status, again.status) == ("paid", "already_run")
    assert db.line_count() == count
    assert [line.line_key for line in again.lines] == [line.line_key for line in first.lines]


def test_lines_written_in_bulk_read_back_exactly_as_the_run_paid_them(db: Trial) -> None:
    stjordal_2016(db)
    before = datetime.now(UTC)
    paid = db.run("sio-2016", "2016Q3")
    after = datetime.now(UTC)
    with session_for(db.url) as session:
        rows = session.exec(select(LedgerLineRecord).order_by(LedgerLineRecord.id)).all()
        stored = [
            (r.line_key, r.kommunenummer, r.municipality, r.model, r.run, r.period, r.component)
            + (r.amount_ore, r.corrects, r.basis)
            for r in rows
        ]
        assert stored == [
            (line.line_key, line.kommunenummer, line.municipality, line.model, line.run)
            + (line.period, line.component, int(line.amount * 100), None, line.basis)
            for line in paid.lines
        ]
        stamps = {row.created_at for row in rows}
    assert len(stamps) == 1  # one run, one instant
    (stamp,) = stamps
    assert stamp.tzinfo == UTC and before <= stamp <= after


def test_two_runs_of_one_quarter_at_the_same_time_pay_once(db: Trial) -> None:
    """Two approved runs of one quarter at once (CLI and flow): one pays, one finds it paid."""
    stjordal_2016(db)
    proposal = run_payout("sio-2016", "2016Q4", database_url=db.url, as_of=run_instant("2016Q4"))
    assert proposal.status == "awaiting_approval" and db.line_count() == 0
    with session_for(db.url) as session:
        for role, name in (("disponent", "Dina"), ("attestant", "Atle")):
            session.add(
                PayoutApprovalRecord(
                    round_id="sio-2016", run="2016Q4", role=role, name=name,
                    fingerprint=proposal.fingerprint, approved_at=run_instant("2016Q4"), via="test",
                )
            )  # fmt: skip
        session.commit()
    results: list[PayoutResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(db.run("sio-2016", "2016Q4")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result.status for result in results) == ["already_run", "paid"]
    paid = next(result for result in results if result.status == "paid")
    assert db.line_count() == len(paid.lines) > 0


def test_late_activity_is_paid_as_corrections_without_touching_earlier_lines(db: Trial) -> None:
    stjordal_2016(db, "100000000")
    db.activity(datetime(2016, 7, 2, tzinfo=UTC), [("1714", "2016-05", "home_nursing", "100")])
    db.run("sio-2016", "2016Q2", as_of=run_instant("2016Q2"))
    db.run("sio-2016", "2016Q3")
    before = [(line.line_key, line.amount) for line in db.ledger("sio-2016")]
    original = next(line for line in db.ledger("sio-2016") if line.component == "abf")
    assert (original.period, original.amount) == ("2016Q2", Decimal("75000.00"))
    # a corrected report for May (supersedes the first) and June reported late
    db.activity(
        datetime(2016, 8, 15, tzinfo=UTC),
        [("1714", "2016-05", "home_nursing", "110"), ("1714", "2016-06", "day_care", "4")],
    )
    db.run("sio-2016", "2016Q4")
    db.activity(datetime(2016, 11, 1, tzinfo=UTC), [("1714", "2016-06", "day_care", "1")])
    db.run("sio-2016", "2017Q1")
    lines = db.ledger("sio-2016")
    assert [(line.line_key, line.amount) for line in lines][: len(before)] == before
    corrections = [line for line in lines if line.component == "correction"]
    assert [(c.run, c.period, c.amount, c.corrects) for c in corrections] == [
        ("2016Q4", "2016Q2", Decimal("11100.00"), original.line_key),  # 10 h × 750 + 4 × 900
        ("2017Q1", "2016Q2", Decimal("-2700.00"), original.line_key),  # June: 4 → 1 day
    ]
    assert total(lines, component="abf") + total(lines, component="correction") == Decimal(
        "83400.00"
    )


def test_a_dry_run_computes_and_writes_nothing(db: Trial) -> None:
    stjordal_2016(db)
    result = db.run("sio-2016", "2016Q3", dry_run=True)
    assert result.status == "dry_run" and len(result.lines) == 4
    assert db.line_count() == 0
    assert db.run("sio-2016", "2016Q3").lines == result.lines


def test_an_earlier_quarter_cannot_be_run_after_a_later_one(sqlite_db: Trial) -> None:
    stjordal_2016(sqlite_db)
    sqlite_db.run("sio-2016", "2016Q4")
    with pytest.raises(ValueError, match="run 2016Q4 of sio-2016 has already been held"):
        sqlite_db.run("sio-2016", "2016Q3")
    with pytest.raises(ValueError, match="cannot be held before the quarter begins"):
        sqlite_db.run("sio-2016", "2017Q2", as_of=run_instant("2017Q1"))
    assert sqlite_db.run("sio-2016", "2017Q2", as_of=run_instant("2017Q1"), dry_run=True).lines


def test_nothing_is_paid_before_the_agreement_is_signed_then_everything_is(db: Trial) -> None:
    stjordal_2016(db, signed=False)
    held = db.run("sio-2016", "2016Q2")
    assert held.lines == [] and db.line_count() == 0
    assert [h.kommunenummer for h in held.held] == ["1714"]
    assert held.held[0].reasons == [
        "the directorate has not received the agreement signed by the municipality",
        "the agreement is not signed by the directorate",
    ]
    assert total(held.held[0].lines, component="income_supplement") == Decimal("4166666.67")
    db.sign("sio-2016", "1714", received_on=date(2016, 5, 20))
    caught_up = db.run("sio-2016", "2016Q3")
    assert caught_up.held == []
    assert sorted({(line.period, line.component) for line in caught_up.lines}) == [
        ("2016Q2", "income_supplement"),
        ("2016Q2", "lump_sum"),
        ("2016Q3", "income_supplement"),
        ("2016Q3", "lump_sum"),
    ]


def test_rounds_with_a_reply_deadline_pay_only_an_accepted_offer(db: Trial) -> None:
    """Round 2021 (seed 002): reply by 31.12.2020. Enebakk 0229 is 3028 from 01.01.2020."""
    db.participate("sio-2021", "0229", "A", date(2021, 1, 1), R2019_END, date(2021, 7, 1))
    db.expenditure(2020, {"3028": "400000000"})
    held = db.run("sio-2021", "2021Q1").held
    assert [(h.kommunenummer, h.reasons) for h in held] == [
        ("3028", ["0229: no reply to the offer is recorded"])
    ]
    db.reply("sio-2021", "0229", accepted=True, on=date(2020, 12, 18))
    paid = db.run("sio-2021", "2021Q2")
    assert {line.kommunenummer for line in paid.lines} == {"3028"}
    assert {(line.period, line.component) for line in paid.lines} >= {("2021Q1", "frame")}


def test_a_missing_baseline_holds_the_municipality_back(db: Trial) -> None:
    db.participate("sio-2016", "1714", "A", date(2016, 5, 1), R2016_END, date(2016, 5, 1))
    result = db.run("sio-2016", "2016Q2")
    assert result.held[0].reasons == ["no expenditure for 2015 (the baseline) imported for 1714"]


def test_after_the_merger_indre_ostfold_is_paid_with_one_cap(db: Trial) -> None:
    """Hobøl, Askim, Spydeberg, Trøgstad, Eidsberg → Indre Østfold 3014 (01.01.2020)."""
    predecessors = ("0122", "0123", "0124", "0125", "0138")
    db.participate("sio-2019", "0138", "A", date(2019, 5, 1), R2019_END, date(2019, 5, 1))
    for number in predecessors[:4]:
        db.participate("sio-2019", number, "A", date(2019, 7, 1), R2019_END, date(2020, 1, 1))
    db.expenditure(2018, dict.fromkeys(predecessors, "300000000"))
    first = db.run("sio-2019", "2020Q1")
    assert first.held == []
    hobol_2019 = [line for line in first.lines if line.kommunenummer == "0138"]
    assert {line.component for line in hobol_2019} == {"lump_sum", "income_supplement"}
    assert max(line.period for line in hobol_2019) == "2019Q4"
    merged = [line for line in first.lines if line.kommunenummer == "3014"]
    assert {(line.period, line.component) for line in merged} == {
        ("2020Q1", "frame"),  # ABF postponed to 01.01.2021 (round file override)
        ("2020Q1", "income_supplement"),
    }
    assert {line.municipality for line in merged} == {"Indre Østfold"}
    db.run("sio-2019", "2021Q1")
    lines = db.ledger("sio-2019")
    assert total(lines, component="income_supplement", year=2020, number="3014") == Decimal(
        "28000000.00"
    )
    assert {line.component for line in lines if line.period == "2021Q1"} == {
        "lump_sum",
        "income_supplement",
    }
    expected_frame = Decimal("1500000000") * Decimal("1.028") * Decimal("1.031")
    assert total(lines, component="frame", year=2020) == expected_frame.quantize(Decimal("0.01"))


def test_an_adjustment_is_paid_once_by_the_next_run(db: Trial) -> None:
    stjordal_2016(db)
    db.run("sio-2016", "2016Q2")
    with session_for(db.url) as session:
        record_adjustment(
            session,
            round_id="sio-2016",
            kommunenummer="1714",
            period="2016Q2",
            amount=Decimal("-2500.00"),
            reason="Feil i rapportert aktivitet",
            now=datetime(2016, 6, 1, tzinfo=UTC),
            entered_by="staff:test",
        )
        session.commit()
    second = db.run("sio-2016", "2016Q3")
    adjustments = [line for line in second.lines if line.component == "adjustment"]
    assert [(line.period, line.amount, line.basis) for line in adjustments] == [
        ("2016Q2", Decimal("-2500.00"), "Feil i rapportert aktivitet")
    ]
    third = db.run("sio-2016", "2016Q4")
    assert [line for line in third.lines if line.component == "adjustment"] == []


def test_system_adaptation_is_reimbursed_up_to_the_maximum(db: Trial) -> None:
    """Seed 000 §1.4: up to NOK 40 000 towards adapting the case system, model A."""
    stjordal_2016(db)
    for amount, entered in (("30000", date(2016, 3, 10)), ("20000", date(2016, 7, 1))):
        with session_for(db.url) as session:
            record_system_adaptation_claim(
                session,
                round_id="sio-2016",
                kommunenummer="1714",
                amount=Decimal(amount),
                documentation="Faktura fra leverandør",
                now=datetime(entered.year, entered.month, entered.day, tzinfo=UTC),
                entered_by="staff:test",
            )
            session.commit()
        db.run("sio-2016", f"2016Q{3 if entered.month > 6 else 2}")
    paid = [
        (line.period, line.amount)
        for line in db.ledger("sio-2016")
        if line.component == "system_adaptation"
    ]
    assert paid == [("2016Q1", Decimal("30000.00")), ("2016Q3", Decimal("10000.00"))]


def test_activity_priced_on_its_own_connection_pays_what_one_connection_pays(
    db: Trial, tmp_path: Path
) -> None:
    """A run prices its activity on a second connection while it reads and decides the rest; a
    database that is a single connection (SQLite in memory) prices it in line. The lines, the
    superseded report and the late June included, are the same."""
    alone = Trial(
        f"sqlite:///file:sio-{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true", tmp_path
    )
    paid: list[list[tuple[str, str, Decimal, str | None, str]]] = []
    for trial in (db, alone):
        stjordal_2016(trial, "100000000")
        trial.participate("sio-2016", "5035", "B", date(2016, 5, 1), R2016_END)
        trial.expenditure(2015, {"5035": "50000000"})
        trial.activity(
            datetime(2016, 7, 2, tzinfo=UTC),
            [("1714", "2016-05", "home_nursing", "100"), ("1714", "2016-06", "day_care", "3")],
        )
        trial.run("sio-2016", "2016Q3")
        trial.activity(
            datetime(2016, 8, 15, tzinfo=UTC),
            [("1714", "2016-05", "home_nursing", "110"), ("1714", "2016-07", "day_care", "2")],
        )
        trial.run("sio-2016", "2016Q4")
        paid.append(
            [
                (line.line_key, line.component, line.amount, line.corrects, line.basis)
                for line in trial.ledger("sio-2016")
            ]
        )
    dispose_engine(alone.url)
    assert paid[0] == paid[1]
    corrections = [line for line in paid[0] if line[1] == "correction"]
    assert [amount for _, _, amount, _, _ in corrections] == [Decimal("7500.00")]  # 10 h × 750
