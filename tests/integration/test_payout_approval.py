"""A payout run waits for two named approvers, writes nothing before both, and re-asks when its
proposal changed; late duties and missing accounts hold a payee (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, select

import sio_domain
from sio_domain.payout_approval import ApprovalRefused
from sio_domain.round_definition import RoundDefinition
from tasks.intake.round_files import load_round
from tasks.payouts.ledger import record_adjustment
from tasks.payouts.payout_engine import approve_payout, run_payout
from tasks.storage.database import session_for
from tasks.storage.tables import ActivityStatus, AuditEntry, BankAccountRecord, OutgoingMail
from tests.integration import test_payout
from tests.integration.test_payout import Trial, run_instant, stjordal_2016
from tests.support.payout_approval import ATTESTANT, DISPONENT, approve_both

db = test_payout.db  # the same SQLite / PostgreSQL fixture
Q3 = "2016Q3"
ROUNDS = Path(sio_domain.__file__).parent / "rounds"


def hold(trial: Trial, run: str = Q3, as_of: datetime | None = None) -> object:
    return run_payout("sio-2016", run, database_url=trial.url, as_of=as_of or run_instant(run))


def approve(trial: Trial, role: str, name: str, run: str = Q3, **options: object) -> object:
    return approve_payout(
        "sio-2016", run, role=role, name=name, database_url=trial.url,
        now=run_instant(run) + timedelta(hours=3), **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_nothing_is_written_before_both_approvals_and_the_second_pays(db: Trial) -> None:
    stjordal_2016(db)
    proposal = hold(db)
    assert proposal.status == "awaiting_approval" and proposal.lines  # type: ignore[attr-defined]
    assert db.line_count() == 0
    first = approve(db, "disponent", DISPONENT)
    assert first.status == "awaiting_approval" and first.awaiting == ["attestant"]  # type: ignore[attr-defined]
    assert db.line_count() == 0 and hold(db).status == "awaiting_approval"  # type: ignore[attr-defined]
    paid = approve(db, "attestant", ATTESTANT)
    assert paid.status == "paid"  # type: ignore[attr-defined]
    assert db.line_count() == len(paid.lines) == len(proposal.lines)  # type: ignore[attr-defined]
    assert paid.as_of == run_instant(Q3)  # type: ignore[attr-defined]  # dated at the run
    assert hold(db).status == "already_run"  # type: ignore[attr-defined]
    with session_for(db.url) as session:
        audit = session.exec(
            select(AuditEntry.what, AuditEntry.detail).order_by(col(AuditEntry.id))
        ).all()
    whats = [what for what, _ in audit]
    assert whats.count("payout_approved") == 2 and whats[-1] == "payout_run"
    detail = audit[-1][1]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert [a["name"] for a in detail["approvals"]] == [DISPONENT, ATTESTANT]


def test_one_person_cannot_approve_in_both_roles(db: Trial) -> None:
    stjordal_2016(db)
    hold(db)
    approve(db, "disponent", DISPONENT)
    with pytest.raises(ApprovalRefused, match="role separation"):
        approve(db, "attestant", DISPONENT.upper())
    assert db.line_count() == 0


def test_a_changed_proposal_must_be_approved_again(db: Trial) -> None:
    stjordal_2016(db)
    hold(db)
    approve(db, "disponent", DISPONENT)
    with session_for(db.url) as session:
        record_adjustment(
            session, round_id="sio-2016", kommunenummer="1714", period="2016Q2",
            amount=Decimal("1000.00"), reason="Ekstra",
            now=run_instant(Q3) + timedelta(days=1), entered_by="test",
        )  # fmt: skip
        session.commit()
    later = run_instant(Q3) + timedelta(days=2)
    again = hold(db, as_of=later)
    assert again.awaiting == ["disponent", "attestant"]  # type: ignore[attr-defined]
    assert approve(db, "attestant", ATTESTANT).status == "awaiting_approval"  # type: ignore[attr-defined]
    assert db.line_count() == 0
    paid = approve(db, "disponent", DISPONENT)
    assert paid.status == "paid" and paid.as_of == later  # type: ignore[attr-defined]
    assert "adjustment" in {line.component for line in paid.lines}  # type: ignore[attr-defined]


def test_an_approval_of_a_proposal_no_longer_shown_is_refused(db: Trial) -> None:
    stjordal_2016(db)
    proposal = hold(db)
    with pytest.raises(ApprovalRefused, match="changed since it was shown"):
        approve(db, "disponent", DISPONENT, fingerprint="0" * 64)
    ok = approve(db, "disponent", DISPONENT, fingerprint=proposal.fingerprint)  # type: ignore[attr-defined]
    assert ok.approvals[0].name == DISPONENT  # type: ignore[attr-defined]


def test_approving_before_a_proposal_exists_is_refused(db: Trial) -> None:
    stjordal_2016(db)
    with pytest.raises(ApprovalRefused, match="no proposal"):
        approve(db, "disponent", DISPONENT)


def test_the_round_file_limits_who_may_approve(db: Trial, tmp_path: Path) -> None:
    stjordal_2016(db)
    text = (ROUNDS / "sio-2016.toml").read_text(encoding="utf-8")
    path = tmp_path / "sio-2016-approvers.toml"
    path.write_text(
        text + '\n[payout]\napprovers = { disponent = ["Dina Disponent"],'
        ' attestant = ["Atle Attestant"] }\n',
        encoding="utf-8",
    )
    strict: RoundDefinition = load_round(str(path))
    run_payout(strict, Q3, database_url=db.url, as_of=run_instant(Q3))
    with pytest.raises(ApprovalRefused, match="may not approve as attestant"):
        approve_payout(
            strict, Q3, role="attestant", name="Eve", database_url=db.url, now=run_instant(Q3)
        )
    assert approve_both(strict, Q3, database_url=db.url, now=run_instant(Q3)).status == "paid"


def test_the_statement_names_both_approvers(db: Trial) -> None:
    stjordal_2016(db)
    from tasks.storage.tables import ContactRecord

    with session_for(db.url) as session:
        session.add(
            ContactRecord(
                kommunenummer="1714", name="Økonomi", role="finance_officer",
                email="okonomi@stjordal.kommune.no", phone="",
                imported_at=datetime(2015, 1, 1, tzinfo=UTC),
            )
        )  # fmt: skip
        session.commit()
    hold(db)
    approve(db, "disponent", DISPONENT)
    approve(db, "attestant", ATTESTANT)
    with session_for(db.url) as session:
        mail = session.exec(select(OutgoingMail)).one()
    assert f"budsjettdisponert av {DISPONENT}" in mail.body
    assert f"attestert av {ATTESTANT}" in mail.body
    assert mail.due_at == run_instant(Q3)


def test_a_late_annual_report_holds_the_payee_until_recorded_then_catches_up(db: Trial) -> None:
    stjordal_2016(db)
    with session_for(db.url) as session:
        report = session.exec(
            select(ActivityStatus).where(col(ActivityStatus.activity_key) == "annual_report:2016")
        ).one()
        session.delete(report)
        session.commit()
    for run in ("2016Q2", "2016Q3", "2016Q4", "2017Q1", "2017Q2"):
        db.run("sio-2016", run)
    held = db.run("sio-2016", "2017Q3")
    assert held.lines == [] and "annual_report:2016" in held.held[0].reasons[0]
    with session_for(db.url) as session:
        session.add(
            ActivityStatus(
                round_id="sio-2016", kommunenummer="1714", activity_key="annual_report:2016",
                done_on=date(2017, 8, 1), recorded_at=datetime(2017, 8, 1, tzinfo=UTC),
            )
        )  # fmt: skip
        session.commit()
    caught_up = db.run("sio-2016", "2017Q4")
    assert {line.period for line in caught_up.lines} >= {"2017Q3", "2017Q4"}


def test_a_payee_without_a_valid_account_is_held_and_flagged(db: Trial) -> None:
    stjordal_2016(db)
    with session_for(db.url) as session:
        for record in session.exec(select(BankAccountRecord)).all():
            session.delete(record)
        session.commit()
    proposal = hold(db)
    assert proposal.lines == []  # type: ignore[attr-defined]
    assert proposal.held[0].reasons == ["no valid bank account (kontonummer) recorded"]  # type: ignore[attr-defined]


def test_an_earlier_quarter_cannot_be_approved_after_a_later_one_was_paid(db: Trial) -> None:
    stjordal_2016(db)
    hold(db)  # 2016Q3 awaits approval …
    db.run("sio-2016", "2016Q4")  # … while 2016Q4 is proposed, approved and paid
    with pytest.raises(ValueError, match="already been held"):
        approve(db, "disponent", DISPONENT)


def test_the_approval_form_shows_the_proposal_and_asks_for_the_missing_role(db: Trial) -> None:
    from flows.payout import ApprovalInput, _form, validated_parameters

    stjordal_2016(db)
    hold(db)
    result = approve(db, "disponent", DISPONENT)
    form = _form(result)
    assert issubclass(form, ApprovalInput)
    defaults = {name: field.default for name, field in form.model_fields.items()}
    assert defaults["role"] == "attestant"
    assert defaults["fingerprint"] == result.fingerprint  # type: ignore[attr-defined]
    text = form._description  # type: ignore[attr-defined]
    assert result.fingerprint in text and DISPONENT in text  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="^--run: '2016Q5' is not a quarter"):
        validated_parameters("sio-2016", "2016Q5", None, run_instant(Q3))
