"""Applications and selection decisions in the application database, and the participations a
selection creates.

Data access only: the rules live in ``sio_domain.application_criteria`` (findings, late) and
``sio_domain.selection`` (what a valid decision is). Every function takes the caller's session
and writes its audit entries into the same transaction; the caller commits, so a refused file or
a failed run leaves nothing behind. Recording is idempotent: the same decision again changes
nothing, so the selection flow and ``sio decide selection`` can both be re-run safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from sio_domain.application_criteria import ApplicationFacts, Finding, format_findings
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.plan import build_plan
from sio_domain.round_definition import Model, RoundDefinition
from sio_domain.selection import DecisionRefused, SelectionDecision
from tasks.storage.audit import record_audit
from tasks.storage.tables import ApplicationRecord, ParticipationRecord, SelectionDecisionRecord


def applications_of(session: Session, round_id: str) -> list[ApplicationRecord]:
    """The round's applications, by kommunenummer."""
    statement = (
        select(ApplicationRecord)
        .where(ApplicationRecord.round_id == round_id)
        .order_by(col(ApplicationRecord.kommunenummer))
    )
    return list(session.exec(statement).all())


def application_of(session: Session, round_id: str, kommunenummer: str) -> ApplicationRecord | None:
    """The application stored for this municipality (under exactly this number), if any."""
    statement = select(ApplicationRecord).where(
        ApplicationRecord.round_id == round_id, ApplicationRecord.kommunenummer == kommunenummer
    )
    return session.exec(statement).first()


def same_application(record: ApplicationRecord, facts: ApplicationFacts) -> bool:
    """Whether a stored application says exactly what ``facts`` say (a harmless re-import)."""
    return (
        record.submitted_at == facts.submitted_at
        and (record.signed_by_title or None) == facts.signed_by_title
        and record.council_resolution_date == facts.council_resolution_date
        and (record.epj_system or None) == (facts.epj_system or None)
        and (record.attachment or None) == (facts.attachment or None)
    )


def add_application(
    session: Session,
    round_id: str,
    facts: ApplicationFacts,
    *,
    late: bool,
    findings: Sequence[Finding],
    now: datetime,
    actor: str,
    source: str,
) -> ApplicationRecord:
    """Store one application with its late flag and findings, and audit it."""
    record = ApplicationRecord(
        round_id=round_id,
        kommunenummer=facts.kommunenummer,
        submitted_at=facts.submitted_at,
        signed_by_title=facts.signed_by_title or "",
        council_resolution_date=facts.council_resolution_date,
        epj_system=facts.epj_system,
        attachment=facts.attachment,
        late=late,
        findings=format_findings(list(findings)),
        imported_at=now,
    )
    session.add(record)
    record_audit(
        session,
        at=now,
        actor=actor,
        what="application_received",
        round_id=round_id,
        kommunenummer=facts.kommunenummer,
        detail={
            "source": source,
            "submitted_at": facts.submitted_at.isoformat(),
            "late": late,
            "findings": [finding.code for finding in findings],
        },
    )
    return record


def decisions_of(session: Session, round_id: str) -> list[SelectionDecisionRecord]:
    """The round's recorded selection decisions, by kommunenummer."""
    statement = (
        select(SelectionDecisionRecord)
        .where(SelectionDecisionRecord.round_id == round_id)
        .order_by(col(SelectionDecisionRecord.kommunenummer))
    )
    return list(session.exec(statement).all())


def record_selection(
    session: Session,
    round_def: RoundDefinition,
    decisions: Sequence[SelectionDecision],
    *,
    now: datetime,
    actor: str,
    recorded_via: str,
    registry: MunicipalityRegistry | None = None,
) -> list[str]:
    """Record checked decisions; returns the kommunenumre whose decision is new, in order.

    A decision already recorded with the same outcome and model is left as it is (a re-run). A
    different outcome or model for a municipality already decided raises DecisionRefused naming
    the decision's line: a recorded decision is changed by staff on purpose, not by a new file.
    Each selected municipality gets its participation (model; start, ABF start from the plan;
    end = the round's effective end). ``registry`` defaults to the shipped and imported table.
    """
    if registry is None:
        registry = _registry_of(session)
    recorded = {record.kommunenummer: record for record in decisions_of(session, round_def.id)}
    new: list[str] = []
    for decision in decisions:
        earlier = recorded.get(decision.kommunenummer)
        if earlier is not None:
            if earlier.decision != decision.decision or earlier.model != decision.model:
                column = "decision" if earlier.decision != decision.decision else "model"
                value = decision.decision if column == "decision" else decision.model or ""
                raise DecisionRefused(
                    decision.line,
                    column,
                    value,
                    f"conflicts with the decision already recorded for"
                    f" {registry.get(decision.kommunenummer).label}: {_describe(earlier)}",
                    subject=decision.kommunenummer,
                )
            continue
        record = _decision_record(round_def.id, decision, now=now, recorded_via=recorded_via)
        session.add(record)
        recorded[decision.kommunenummer] = record
        record_audit(
            session,
            at=now,
            actor=actor,
            what="selection_decided",
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            detail={
                "decision": decision.decision,
                "model": decision.model,
                "decided_by": decision.decided_by,
                "decided_on": decision.decided_on.isoformat(),
                "recorded_via": recorded_via,
            },
        )
        if decision.decision == "selected":
            _add_participation(session, round_def, decision, registry, now=now, actor=actor)
        new.append(decision.kommunenummer)
    return new


def participation_dates(
    round_def: RoundDefinition,
    kommunenummer: str,
    model: Model,
    registry: MunicipalityRegistry,
) -> tuple[date, date, date | None]:
    """(start, end, ABF start) of a participation, from the plan for that municipality and model.

    Start is the plan's participation start, or go-live when the municipality starts with the
    round (seed 000: 01.05.2016; seed 001: 01.05.2019 or 01.07.2019 by cohort); end is the
    round's agreed end — an early end by parliament applies from the day it was decided.
    """
    events = build_plan(
        round_def,
        municipality=kommunenummer,
        held_numbers=registry.lineage(kommunenummer),
        model=model,
    )
    starts = [e.day for e in events if e.kind in ("participation_start", "go_live")]
    abf = [e.day for e in events if e.kind == "abf_start"]
    start = starts[0] if starts else round_def.milestones.go_live.date
    # The end as agreed; an early end applies from its decision date (tasks.storage.trial_state).
    return start, round_def.milestones.end.date, abf[0] if abf else None


def _add_participation(
    session: Session,
    round_def: RoundDefinition,
    decision: SelectionDecision,
    registry: MunicipalityRegistry,
    *,
    now: datetime,
    actor: str,
) -> None:
    assert decision.model is not None
    existing = session.exec(
        select(ParticipationRecord).where(
            ParticipationRecord.round_id == round_def.id,
            ParticipationRecord.kommunenummer == decision.kommunenummer,
        )
    ).first()
    if existing is not None:
        return
    start, end, abf_start = participation_dates(
        round_def, decision.kommunenummer, decision.model, registry
    )
    session.add(
        ParticipationRecord(
            round_id=round_def.id,
            kommunenummer=decision.kommunenummer,
            model=decision.model,
            start=start,
            end=end,
            abf_start=abf_start,
        )
    )
    record_audit(
        session,
        at=now,
        actor=actor,
        what="participation_created",
        round_id=round_def.id,
        kommunenummer=decision.kommunenummer,
        detail={
            "model": decision.model,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "abf_start": abf_start.isoformat() if abf_start else None,
        },
    )


def _decision_record(
    round_id: str, decision: SelectionDecision, *, now: datetime, recorded_via: str
) -> SelectionDecisionRecord:
    return SelectionDecisionRecord(
        round_id=round_id,
        kommunenummer=decision.kommunenummer,
        decision=decision.decision,
        model=decision.model,
        decided_by=decision.decided_by,
        decided_on=decision.decided_on,
        recorded_at=now,
        recorded_via=recorded_via,
        reason=decision.reason,
    )


def _describe(record: SelectionDecisionRecord) -> str:
    outcome = f"selected for model {record.model}" if record.decision == "selected" else "rejected"
    return (
        f"{outcome} (decided {record.decided_on.isoformat()} by {record.decided_by}, recorded"
        f" via {record.recorded_via}); a recorded decision is not changed by a new one"
    )


def _registry_of(session: Session) -> MunicipalityRegistry:
    """The shipped table plus the municipalities imported into this session's database."""
    from sio_domain.municipality_registry import MunicipalityVersion
    from tasks.records.municipality_lookup import shipped_versions
    from tasks.storage.tables import MunicipalityRecord

    rows = session.exec(select(MunicipalityRecord).order_by(col(MunicipalityRecord.kommunenummer)))
    imported = tuple(
        MunicipalityVersion(
            kommunenummer=r.kommunenummer,
            name=r.name,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            successor=r.successor,
            written_standard=r.written_standard,
        )
        for r in rows
    )
    return MunicipalityRegistry([*shipped_versions(), *imported])
