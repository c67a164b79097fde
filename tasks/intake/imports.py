"""Bringing staff's CSV files in: contacts, applications, and the selection decided from a file.

``sio import KIND FILE [--round ROUND]`` and ``sio decide selection ROUND --file FILE`` land here
(the command contract, "File formats"). Every import is all-or-nothing: each row is checked (the
file
reader, the registry, the round's rules) and written inside one transaction together with its
audit entries, and the first bad row raises :class:`~tasks.intake.csv_rows.ImportRefused` — one line
naming the file, line, column and value — before anything is committed.

Municipalities may be given by any number they have held; each is resolved to the number in
force on the date that matters: the import date for contacts, the submission date for
applications, the decision date for a selection (sio_domain.selection).

Re-running an import is harmless. The count returned is the number of rows that changed the
database: a contact added or updated, an application stored, a decision recorded; a row that is
already there unchanged counts 0 (an application or decision that is there *differently* is
refused instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from sio_domain.application_criteria import (
    SIGNER_TITLES,
    ApplicationFacts,
    Finding,
    check_application,
    criteria_for_round,
    is_late,
)
from sio_domain.municipality_registry import MunicipalityNotInForce, MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.round_definition import Role, RoundDefinition
from sio_domain.selection import (
    DecisionEntry,
    DecisionRefused,
    SelectionDecision,
    validate_selection,
)
from tasks.intake.csv_rows import CsvRow, ImportRefused, read_rows
from tasks.records.application_store import (
    add_application,
    application_of,
    applications_of,
    record_selection,
    same_application,
)
from tasks.records.contact_store import ROLES, ContactEntry, save_contact
from tasks.storage.audit import record_audit
from tasks.storage.database import session_for

if TYPE_CHECKING:
    from deployments.settings import Settings

CONTACT_COLUMNS = ("kommunenummer", "name", "role", "email", "phone")
APPLICATION_COLUMNS = (
    "kommunenummer",
    "submitted_at",
    "signed_by_title",
    "council_resolution_date",
    "epj_system",
    "attachment",
)
SELECTION_COLUMNS = ("kommunenummer", "decision", "model")
SELECTION_OPTIONAL_COLUMNS = ("decided_by", "decided_on", "reason")
ROUND_KINDS = ("applications", "selection")
FINANCE_KINDS = ("expenditure", "activity")


@dataclass(frozen=True)
class ImportedApplication:
    """What became of one application row: where it is stored, late or not, its findings."""

    line: int
    kommunenummer: str
    given_as: str
    late: bool
    findings: tuple[Finding, ...]
    stored: bool
    """False when the same application was already stored (a re-import)."""

    def summary(self) -> str:
        """One line for staff, e.g. ``line 3: 0138 late; attachment_missing: …``."""
        flags = ["late"] if self.late else []
        flags += [finding.as_line() for finding in self.findings]
        state = "" if self.stored else " (already stored)"
        return f"line {self.line}: {self.kommunenummer}{state} " + ("; ".join(flags) or "complete")


def import_for_round(
    kind: str,
    path: Path,
    *,
    round_ref: str | None,
    settings: Settings,
    now: datetime | None = None,
    actor: str | None = None,
) -> int:
    """Import one file of ``kind``; returns how many rows changed the database.

    Kinds: ``contacts`` (no round needed), ``applications`` and ``selection`` (need
    ``round_ref``); ``expenditure`` and ``activity`` are handed to tasks.intake.finance_imports and
    ``municipalities`` to tasks.records.municipality_store.
    ``now`` is the import instant (simulated time in ``sio simulate``; default: the clock).
    """
    if kind in FINANCE_KINDS:
        from tasks.intake.finance_imports import import_finance_file

        return import_finance_file(kind, path, settings, now=now)
    moment = now or datetime.now(UTC)
    url = settings.resolved_database_url
    if kind == "municipalities":
        from tasks.records.municipality_store import import_municipalities

        return import_municipalities(path, database_url=url, now=moment)
    who = actor or f"sio import {kind}"
    if kind == "contacts":
        return import_contacts(path, database_url=url, now=moment, actor=who)
    if kind not in ROUND_KINDS:
        known = ", ".join(("municipalities", "contacts", *ROUND_KINDS, *FINANCE_KINDS))
        raise ValueError(f"cannot import {kind!r} here (kinds: {known})")
    if round_ref is None:
        raise ValueError(f"--round: importing {kind} needs the round it belongs to")
    from tasks.intake.round_files import load_round

    round_def = load_round(round_ref)
    if kind == "applications":
        imported = import_applications(
            path, round_def=round_def, database_url=url, now=moment, actor=who
        )
        return sum(application.stored for application in imported)
    return len(decide_selection(path, round_def=round_def, database_url=url, now=moment, actor=who))


def decide_selection_from_file(
    path: Path,
    *,
    round_ref: str,
    settings: Settings,
    now: datetime | None = None,
    actor: str = "sio decide selection",
) -> list[str]:
    """``sio decide selection ROUND --file FILE``: the kommunenumre newly decided, in file order."""
    from tasks.intake.round_files import load_round

    return decide_selection(
        path,
        round_def=load_round(round_ref),
        database_url=settings.resolved_database_url,
        now=now or datetime.now(UTC),
        actor=actor,
    )


def load_registry(database_url: str) -> MunicipalityRegistry:
    """The shipped municipality table plus the rows imported into this database."""
    from tasks.records.municipality_lookup import registry

    return registry(database_url)


def import_contacts(path: Path, *, database_url: str, now: datetime, actor: str) -> int:
    """Add or update contacts (``kommunenummer,name,role,email,phone``); rows changed."""
    registry = load_registry(database_url)
    changes: dict[str, int] = {"added": 0, "updated": 0, "unchanged": 0}
    with session_for(database_url) as session:
        first_line: dict[tuple[str, str, str], int] = {}
        for row in read_rows(path, required=CONTACT_COLUMNS):
            # A contact belongs to the number the file gave (D: recipients across mergers):
            # resolving it here would send Hobøl's letters to Spydeberg's people.
            in_force = _known_number(row, registry)
            entry = ContactEntry(
                kommunenummer=in_force,
                name=row.required("name", "the person's name"),
                role=_role(row),
                email=row.email("email"),
                phone=row.phone("phone"),
            )
            key = (entry.kommunenummer, entry.role, entry.email.lower())
            if key in first_line:
                raise row.refuse(
                    "email",
                    f"is listed twice as {entry.role} of {registry.get(in_force).label}"
                    f" (also on line {first_line[key]})",
                )
            first_line[key] = row.line
            changes[save_contact(session, entry, now=now, actor=actor, source=str(path))] += 1
        changed = changes["added"] + changes["updated"]
        if changed:
            record_audit(
                session, at=now, actor=actor, what="contacts_imported", detail=_of(path, changes)
            )
        _commit(session, path)
    return changed


def import_applications(
    path: Path, *, round_def: RoundDefinition, database_url: str, now: datetime, actor: str
) -> list[ImportedApplication]:
    """Store a round's applications, checked against its criteria and flagged when late."""
    registry = load_registry(database_url)
    criteria = criteria_for_round(round_def)
    results: list[ImportedApplication] = []
    with session_for(database_url) as session:
        first_line: dict[str, int] = {}
        for row in read_rows(path, required=APPLICATION_COLUMNS):
            facts = _application(row, round_def, registry, now)
            number = facts.kommunenummer
            if number in first_line:
                raise row.refuse(
                    "kommunenummer",
                    f"is a second application from {registry.get(number).label}"
                    f" (the first is on line {first_line[number]})",
                )
            first_line[number] = row.line
            late = is_late(facts.submitted_at, round_def)
            findings = tuple(check_application(facts, criteria))
            stored = application_of(session, round_def.id, number)
            if stored is not None and not same_application(stored, facts):
                raise row.refuse(
                    "kommunenummer",
                    f"already has an application in round {round_def.id} (submitted"
                    f" {stored.submitted_at.astimezone(OSLO).isoformat(timespec='minutes')});"
                    " a second application is refused",
                )
            if stored is None:
                add_application(
                    session,
                    round_def.id,
                    facts,
                    late=late,
                    findings=findings,
                    now=now,
                    actor=actor,
                    source=f"{path}:{row.line}",
                )
            results.append(
                ImportedApplication(
                    row.line, number, row["kommunenummer"], late, findings, stored is None
                )
            )
        stored_count = sum(result.stored for result in results)
        if stored_count:
            record_audit(
                session,
                at=now,
                actor=actor,
                what="applications_imported",
                round_id=round_def.id,
                detail=_of(path, {"stored": stored_count, "rows": len(results)}),
            )
        _commit(session, path)
    return results


def parse_selection_file(
    path: Path,
    *,
    round_def: RoundDefinition,
    registry: MunicipalityRegistry,
    applicants: list[str],
    now: datetime,
) -> list[SelectionDecision]:
    """The checked decisions of a selection file (``kommunenummer,decision,model[,decided_by,
    decided_on,reason]``); ``now`` is the instant they are recorded (its Oslo date is "today")."""
    entries = [
        DecisionEntry(
            kommunenummer=row["kommunenummer"],
            decision=row["decision"],
            model=row["model"],
            decided_by=row["decided_by"],
            decided_on=row["decided_on"],
            reason=row["reason"],
            line=row.line,
        )
        for row in read_rows(path, required=SELECTION_COLUMNS, optional=SELECTION_OPTIONAL_COLUMNS)
    ]
    try:
        return validate_selection(
            round_def,
            entries,
            registry=registry,
            applicants=applicants,
            today=now.astimezone(OSLO).date(),
        )
    except DecisionRefused as error:
        raise _from_decision(path, error) from None


def decide_selection(
    path: Path, *, round_def: RoundDefinition, database_url: str, now: datetime, actor: str
) -> list[str]:
    """Record the decisions of a selection file; the kommunenumre newly decided."""
    registry = load_registry(database_url)
    with session_for(database_url) as session:
        applicants = [record.kommunenummer for record in applications_of(session, round_def.id)]
        decisions = parse_selection_file(
            path, round_def=round_def, registry=registry, applicants=applicants, now=now
        )
        try:
            new = record_selection(
                session,
                round_def,
                decisions,
                now=now,
                actor=actor,
                recorded_via=f"file:{path.name}",
                registry=registry,
            )
        except DecisionRefused as error:
            raise _from_decision(path, error) from None
        _commit(session, path)
    return new


def _application(
    row: CsvRow, round_def: RoundDefinition, registry: MunicipalityRegistry, now: datetime
) -> ApplicationFacts:
    number = _known_number(row, registry)
    submitted_at = row.iso_datetime("submitted_at")
    if submitted_at > now:
        raise row.refuse("submitted_at", "is in the future")
    submitted_on = submitted_at.astimezone(OSLO).date()
    try:
        in_force = registry.in_force(number, submitted_on).kommunenummer
    except MunicipalityNotInForce as error:
        raise row.refuse("kommunenummer", f"was not in force when submitted: {error}") from None
    if round_def.invited != "all" and not set(registry.lineage(in_force)) & set(round_def.invited):
        raise row.refuse(
            "kommunenummer",
            f"({registry.get(in_force).label}) was not invited to round {round_def.id}",
        )
    title = row.choice("signed_by_title", SIGNER_TITLES, allow_empty=True)
    return ApplicationFacts(
        kommunenummer=in_force,
        submitted_at=submitted_at,
        signed_by_title=next((t for t in SIGNER_TITLES if t == title), None),
        council_resolution_date=row.optional_iso_date("council_resolution_date"),
        epj_system=row.optional("epj_system"),
        attachment=row.optional("attachment"),
    )


def _known_number(row: CsvRow, registry: MunicipalityRegistry) -> str:
    number = row.kommunenummer("kommunenummer")
    if number not in registry:
        raise row.refuse(
            "kommunenummer",
            "is not in the municipality registry (import a municipalities file that adds it)",
        )
    return number


def _role(row: CsvRow) -> Role:
    value = row.choice("role", ROLES)
    return next(role for role in ROLES if role == value)


def _from_decision(path: Path, error: DecisionRefused) -> ImportRefused:
    return ImportRefused(str(path), error.line or 0, error.column, error.value, error.problem)


def _of(path: Path, counts: dict[str, int]) -> dict[str, object]:
    return {"file": str(path), **counts}


def _commit(session: Session, path: Path) -> None:
    """Commit; a row another import stored meanwhile refuses the whole file (re-import it)."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ValueError(
            f"{path}: another import stored some of these rows at the same time; nothing from"
            " this file was stored, import it again"
        ) from None
