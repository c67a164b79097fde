"""The selection (utvelgelse): which applicants take part in a round, and in which model.

One set of decisions, from a file (``sio decide selection ROUND --file FILE``) or from the staff's
form in the Prefect UI, is checked here before anything is recorded. The rules:

- Each decision is ``selected`` or ``rejected``; the outcome goes to the applicant as a decision
  letter (vedtaksbrev, seed 003 «Hvordan søker skal opplyses om utfallet»).
- «Kommunene kan ikke selv velge hvilken modell de deltar i» (seed 004): the model is part of the
  decision — required when selected, empty when rejected, and one of the round's models (round
  2019 has only model A, seed 001). Where the round file invites a municipality in a cohort of a
  given model (seed 001: Stjørdal, Os, Lillesand, Hobøl continue in model A), the decision must
  name that model.
- Who decides differs by round : the ministry (2016, seed 000 §1.1), the directorate
  after clarifying with the ministry (2019, seed 003), parliament in the budget (2021, seed 002).
  ``decided_by`` defaults to the round's ``selection_decided_by``; ``decided_on`` to today, and
  may not lie in the future.
- Only a municipality that applied can be decided on. **Design decision:** a round whose file has
  no application deadline had its applications before sio existed (round 2021: «14 kommuner har
  søkt», seed 002), so there any municipality in the registry — and in the round's invited set,
  when the round names one — may be decided on.
- A municipality is decided once per set, under any number it has held (the command contract); the
  decision is recorded under the number its application was stored under, or, without
  applications, the number in force on the decision date.

Pure: the registry, the applicants and today's date are parameters.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sio_domain.municipality_registry import (
    MunicipalityNotInForce,
    MunicipalityRegistry,
    UnknownMunicipality,
)
from sio_domain.round_definition import DecidingBody, Model, RoundDefinition

Decision = Literal["selected", "rejected"]
DECISIONS: tuple[Decision, ...] = ("selected", "rejected")
DECIDING_BODIES: tuple[DecidingBody, ...] = ("ministry", "directorate", "parliament")

_KOMMUNENUMMER = re.compile(r"[0-9]{4}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DecisionEntry(BaseModel):
    """One decision as given — a file row or one line of the staff's form — before checking.

    ``line`` is the file line it came from (None for the form); empty strings mean "not given".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kommunenummer: str
    decision: str
    model: str = ""
    decided_by: str = ""
    decided_on: str = ""
    reason: str = ""
    line: int | None = None


class SelectionDecision(BaseModel):
    """A checked decision, ready to be recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kommunenummer: str
    """The number the decision is recorded under (the application's, see the module doc)."""
    given_as: str
    decision: Decision
    model: Model | None
    decided_by: DecidingBody
    decided_on: date
    reason: str | None = None
    """Why a rejected application was rejected, as staff wrote it (forvaltningsloven § 25)."""
    line: int | None = None


class DecisionRefused(ValueError):
    """A decision that cannot be recorded: where it came from, the column, the value and why.

    The message is one line: ``line 4, column model: 'C' is not a model of round sio-2016 (A,
    B)``; for a decision from the form, ``decision for 0138, column …``. File importers prefix
    the file name.
    """

    def __init__(
        self,
        line: int | None,
        column: str,
        value: str,
        problem: str,
        *,
        subject: str = "",
    ) -> None:
        self.line = line
        self.column = column
        self.value = value
        self.problem = problem
        where = f"line {line}" if line is not None else f"decision for {subject or '?'}"
        super().__init__(f"{where}, column {column}: {value!r} {problem}")


def applications_required(round_def: RoundDefinition) -> bool:
    """Whether only applicants can be decided: the round's applications go through sio."""
    return round_def.milestones.application_deadline is not None


def validate_selection(
    round_def: RoundDefinition,
    entries: Iterable[DecisionEntry],
    *,
    registry: MunicipalityRegistry,
    applicants: Collection[str],
    today: date,
) -> list[SelectionDecision]:
    """Check a set of decisions against the round; the first bad one raises DecisionRefused.

    ``applicants`` are the numbers the round's applications are stored under (ignored when
    :func:`applications_required` is false).
    """
    decisions: list[SelectionDecision] = []
    first_line: dict[str, int | None] = {}
    for entry in entries:
        decision = _validate_one(round_def, entry, registry, applicants, today)
        if decision.kommunenummer in first_line:
            earlier = first_line[decision.kommunenummer]
            where = f"on line {earlier}" if earlier is not None else "earlier in this selection"
            raise _refuse(
                entry,
                "kommunenummer",
                f"is decided twice: {_label(registry, decision.kommunenummer)} is also {where}",
            )
        first_line[decision.kommunenummer] = entry.line
        decisions.append(decision)
    return decisions


def _validate_one(
    round_def: RoundDefinition,
    entry: DecisionEntry,
    registry: MunicipalityRegistry,
    applicants: Collection[str],
    today: date,
) -> SelectionDecision:
    number = entry.kommunenummer.strip()
    if not _KOMMUNENUMMER.fullmatch(number):
        raise _refuse(entry, "kommunenummer", "is not a kommunenummer (4 digits, e.g. 0301)")
    if number not in registry:
        raise _refuse(entry, "kommunenummer", "is not in the municipality registry")
    decision = _decision(entry)
    model = _model(round_def, entry, decision)
    decided_by = _decided_by(round_def, entry)
    decided_on = _decided_on(entry, today)
    recorded_under = _recorded_under(round_def, entry, registry, applicants, decided_on)
    if model is not None:
        cohort = next(
            (c for n in registry.lineage(recorded_under) if (c := round_def.cohort_of(n))), None
        )
        if cohort is not None and cohort.model != model:
            raise _refuse(
                entry,
                "model",
                f"differs from the model {cohort.model} that {_label(registry, recorded_under)}"
                f" was invited in (cohort {cohort.key!r} of round {round_def.id})",
            )
    return SelectionDecision(
        kommunenummer=recorded_under,
        given_as=number,
        decision=decision,
        model=model,
        decided_by=decided_by,
        decided_on=decided_on,
        reason=_reason(entry, decision),
        line=entry.line,
    )


def _decision(entry: DecisionEntry) -> Decision:
    value = entry.decision.strip().casefold()
    for decision in DECISIONS:
        if value == decision:
            return decision
    raise _refuse(entry, "decision", f"is not a decision ({' or '.join(DECISIONS)})")


def _model(round_def: RoundDefinition, entry: DecisionEntry, decision: Decision) -> Model | None:
    value = entry.model.strip().upper()
    models = sorted(round_def.models)
    if decision == "rejected":
        if value:
            raise _refuse(entry, "model", "must be empty when the decision is rejected")
        return None
    if not value:
        raise _refuse(
            entry,
            "model",
            f"is empty; a selected municipality is assigned a model ({', '.join(models)}):"
            " municipalities cannot choose their own (seed 004)",
        )
    for model in models:
        if value == model:
            return model
    raise _refuse(entry, "model", f"is not a model of round {round_def.id} ({', '.join(models)})")


def _reason(entry: DecisionEntry, decision: Decision) -> str | None:
    text = " ".join(entry.reason.split())
    if text and decision == "selected":
        raise _refuse(entry, "reason", "is for rejections only (leave it empty when selected)")
    if len(text) > 1000:
        raise _refuse(entry, "reason", "is longer than 1000 characters")
    return text or None


def _decided_by(round_def: RoundDefinition, entry: DecisionEntry) -> DecidingBody:
    value = entry.decided_by.strip().casefold()
    if not value:
        return round_def.selection_decided_by
    for body in DECIDING_BODIES:
        if value == body:
            return body
    raise _refuse(entry, "decided_by", f"is not a deciding body ({', '.join(DECIDING_BODIES)})")


def _decided_on(entry: DecisionEntry, today: date) -> date:
    value = entry.decided_on.strip()
    if not value:
        return today
    if not _ISO_DATE.fullmatch(value):
        raise _refuse(entry, "decided_on", "is not a date (YYYY-MM-DD)")
    try:
        decided_on = date.fromisoformat(value)
    except ValueError:
        raise _refuse(entry, "decided_on", "is not a real date (YYYY-MM-DD)") from None
    if decided_on > today:
        raise _refuse(entry, "decided_on", f"is in the future (today is {today.isoformat()})")
    return decided_on


def _recorded_under(
    round_def: RoundDefinition,
    entry: DecisionEntry,
    registry: MunicipalityRegistry,
    applicants: Collection[str],
    decided_on: date,
) -> str:
    number = entry.kommunenummer.strip()
    identity = registry.lineage(number)
    if applications_required(round_def):
        matches = sorted(a for a in applicants if a in identity)
        if not matches:
            raise _refuse(
                entry,
                "kommunenummer",
                f"did not apply to round {round_def.id}: only applicants can be decided on",
            )
        if len(matches) > 1:
            raise _refuse(
                entry,
                "kommunenummer",
                f"matches the applications of {', '.join(matches)}: give the number the"
                " application was made under",
            )
        return matches[0]
    if round_def.invited != "all" and not set(identity) & set(round_def.invited):
        raise _refuse(entry, "kommunenummer", f"was not invited to round {round_def.id}")
    try:
        return registry.in_force(number, decided_on).kommunenummer
    except (MunicipalityNotInForce, UnknownMunicipality) as error:
        raise _refuse(entry, "kommunenummer", f"cannot be decided on: {error}") from None


def _refuse(entry: DecisionEntry, column: str, problem: str) -> DecisionRefused:
    value = str(getattr(entry, column))
    return DecisionRefused(entry.line, column, value, problem, subject=entry.kommunenummer)


def _label(registry: MunicipalityRegistry, number: str) -> str:
    return registry.get(number).label
