"""A simulation scenario (scenario): the dated outside events a round's simulation applies.

What the system cannot decide itself comes from outside: municipalities apply, the deciding body
selects (seed 004: «valg av deltagende kommuner er foretatt innen 15. januar 2016»), municipalities
reply (seed 002) and return the signed agreement (seed 000), report Bilag 1 activities done, agree
status-meeting times (seed 000: «Tidspunkt avtales med den enkelte kommune»), and send activity and
expenditure figures. A scenario lists those events with their dates; the simulation applies each
at its instant and lets the stages do the rest.

Each shipped round has a default scenario from the historical record (design decision D: dates
not in the seeds are chosen before their deadlines). Contacts (every role, one e-mail domain per
municipality) and figures (expenditure per KOSTRA function, monthly units per service code) are
synthetic and deterministic: a function of the kommunenummer, never of a random draw.

A user's own scenario is a TOML or JSON file of the same shape (:class:`Scenario`); a bad one is
refused with one line naming the field and the value, before anything is stored.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO, working_days_before
from sio_domain.obligations import obligation_key
from sio_domain.plan import build_plan
from sio_domain.round_definition import RoundDefinition

Kommunenummer = Annotated[str, Field(pattern=r"^\d{4}$")]
ROLES = (
    "contact_person",
    "project_leader",
    "chief_executive",
    "finance_officer",
    "allocation_officer",
    "service_manager",
)


class ScenarioError(ValueError):
    """A scenario refused: one line naming the field and the value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Application(_Strict):
    """An application (søknad) submitted at ``submitted_at``."""

    kommunenummer: Kommunenummer
    submitted_at: datetime
    signed_by_title: Literal["rådmann", "kommunedirektør", "delegate"] = "rådmann"
    council_resolution_date: date | None = None
    epj_system: str = "Gerica"

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=OSLO)


class Decision(_Strict):
    """The deciding body's decision on one application (selected with a model, or rejected)."""

    kommunenummer: Kommunenummer
    decision: Literal["selected", "rejected"]
    model: Literal["A", "B"] | None = None
    decided_on: date
    decided_by: str | None = None


class Reply(_Strict):
    """The municipality's reply to an offer (seed 002: «Svarfrist ... innen 31. desember»)."""

    kommunenummer: Kommunenummer
    accepted: bool = True
    on: date


class Signature(_Strict):
    """The signed agreement received by the directorate, and the directorate's own signature."""

    kommunenummer: Kommunenummer
    received_on: date
    signed_on: date | None = None
    directorate_signed_on: date | None = None


class ActivityDone(_Strict):
    """A Bilag 1 activity (``activity:<key>``) or annual report (``annual_report:<year>``) done."""

    kommunenummer: Kommunenummer
    activity: Annotated[str, Field(pattern=r"^(activity|annual_report):[a-z0-9_]+$")]
    on: date


class MeetingMove(_Strict):
    """A status meeting moved to an agreed time, agreed on ``agreed_on``."""

    kommunenummer: Kommunenummer
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    start: datetime
    agreed_on: date

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=OSLO)


class Figures(_Strict):
    """Which synthetic figures the simulation imports for the participants."""

    expenditure: bool = True
    activity: bool = True


class Scenario(_Strict):
    """Every outside event of one simulated round."""

    round: str | None = None
    municipalities: tuple[Kommunenummer, ...] = ()
    """Municipalities that get synthetic contacts besides those named by an event."""
    applications: tuple[Application, ...] = ()
    decisions: tuple[Decision, ...] = ()
    replies: tuple[Reply, ...] = ()
    signatures: tuple[Signature, ...] = ()
    activities: tuple[ActivityDone, ...] = ()
    meetings: tuple[MeetingMove, ...] = ()
    figures: Figures = Figures()

    def named(self) -> list[str]:
        """Every municipality the scenario names, in order of first mention."""
        numbers: dict[str, None] = dict.fromkeys(self.municipalities)
        for group in (
            self.applications,
            self.decisions,
            self.replies,
            self.signatures,
            self.activities,
            self.meetings,
        ):
            for item in group:
                numbers.setdefault(item.kommunenummer)
        return list(numbers)

    def participants(self) -> dict[str, str]:
        """Selected municipality → model."""
        return {d.kommunenummer: d.model or "A" for d in self.decisions if d.decision == "selected"}


def parse_scenario(text: str, origin: str) -> Scenario:
    """A scenario from TOML (or JSON when ``origin`` ends in ``.json``), or one-line refusal."""
    try:
        data: Any = json.loads(text) if origin.endswith(".json") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{origin}: is not valid {_format(origin)}: {error}") from None
    return scenario_from(data, origin)


def scenario_from(data: Any, origin: str) -> Scenario:
    """Validate a parsed scenario; the first problem as ``origin: field: problem (value)``."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "scenario"
        value = first.get("input")
        shown = "" if isinstance(value, Mapping | list) else f" (value {value!r})"
        raise ScenarioError(f"{origin}: {where}: {first['msg']}{shown}") from None
    groups: tuple[tuple[str, Sequence[Any]], ...] = (
        ("decisions", scenario.decisions),
        ("signatures", scenario.signatures),
        ("replies", scenario.replies),
        ("applications", scenario.applications),
    )
    for field, items in groups:
        seen: set[str] = set()
        for position, item in enumerate(items):
            if item.kommunenummer in seen:
                raise ScenarioError(
                    f"{origin}: {field}.{position}.kommunenummer: {item.kommunenummer!r}"
                    " appears twice"
                )
            seen.add(item.kommunenummer)
    for position, decision in enumerate(scenario.decisions):
        if decision.decision == "selected" and decision.model is None:
            raise ScenarioError(
                f"{origin}: decisions.{position}.model: a selected municipality needs a model"
                f" (value {decision.model!r})"
            )
    return scenario


def check_against(
    scenario: Scenario, round_def: RoundDefinition, registry: MunicipalityRegistry, origin: str
) -> None:
    """Refuse a scenario naming an unknown municipality or a model the round does not have."""
    for number in scenario.named():
        if number not in registry:
            raise ScenarioError(f"{origin}: kommunenummer: {number!r} is not in the registry")
    for position, decision in enumerate(scenario.decisions):
        if decision.model is not None and decision.model not in round_def.models:
            raise ScenarioError(
                f"{origin}: decisions.{position}.model: round {round_def.id} has no model"
                f" {decision.model!r}"
            )
    if scenario.round is not None and scenario.round != round_def.id:
        raise ScenarioError(f"{origin}: round: {scenario.round!r} is not {round_def.id!r}")


def _format(origin: str) -> str:
    return "JSON" if origin.endswith(".json") else "TOML"


# ------------------------------------------------------------------ synthetic contacts and figures


def email_domain(kommunenummer: str, name: str) -> str:
    """The municipality's own mail domain, e.g. ``stjordal-1714.kommune.no``."""
    base = name.split("(")[0].strip().lower()
    for norwegian, ascii_ in (("æ", "ae"), ("ø", "o"), ("å", "a")):
        base = base.replace(norwegian, ascii_)
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    slug = "-".join("".join(c if c.isalnum() else " " for c in base).split())
    return f"{slug or 'kommune'}-{kommunenummer}.kommune.no"


def synthetic_contacts(kommunenummer: str, name: str) -> list[dict[str, str]]:
    """One contact per role, in the municipality's own domain (``contacts`` file rows)."""
    domain = email_domain(kommunenummer, name)
    short = name.split("(")[0].strip()
    return [
        {
            "kommunenummer": kommunenummer,
            "name": f"{role.replace('_', ' ').capitalize()} {short}",
            "role": role,
            "email": f"{role.replace('_', '.')}@{domain}",
            "phone": "",
        }
        for role in ROLES
    ]


def synthetic_expenditure(kommunenummer: str, year: int, function: str) -> Decimal:
    """Net operating expenditure (NOK) on a KOSTRA function: 40–140 million, by number and year."""
    seed = int(kommunenummer) * 7919 + int(function) * 104729
    base = 40_000_000 + (seed % 100) * 1_000_000
    return Decimal(base + (year % 100) * 250_000 + int(function) * 1000)


def synthetic_units(kommunenummer: str, month: str, code_index: int) -> int:
    """Units of one service in one month: 50–449, by number, month and service."""
    year, number = (int(part) for part in month.split("-"))
    return 50 + (int(kommunenummer) * 31 + year * 12 + number * 17 + code_index * 53) % 400


# ------------------------------------------------------------------ the historical scenarios


def _at(day: date, clock: time = time(12)) -> datetime:
    return datetime.combine(day, clock, tzinfo=OSLO)


def _activity_events(
    round_def: RoundDefinition,
    registry: MunicipalityRegistry,
    participants: Mapping[str, str],
    late: Sequence[str] = (),
) -> list[ActivityDone]:
    """Every obligation of the participant's plan (Bilag 1 activities it is responsible for,
    annual reports) done 5 working days before it is due — for those in ``late``, 3 days after."""
    events = []
    for knr, model in participants.items():
        held = registry.lineage(knr) if knr in registry else ()
        plan = build_plan(
            round_def,
            model=model,  # type: ignore[arg-type]
            municipality=knr,
            held_numbers=held,
        )
        for event in plan:
            key = obligation_key(event)
            if key is None:
                continue
            due = event.end if event.kind == "activity" else event.day
            if isinstance(due, datetime):
                due = due.astimezone(OSLO).date()
            done = due + timedelta(days=3) if knr in late else working_days_before(due, 5)
            events.append(ActivityDone(kommunenummer=knr, activity=key, on=done))
    return events


def default_scenario(round_def: RoundDefinition, registry: MunicipalityRegistry) -> Scenario:
    """The shipped round's scenario from the historical record (D for dates the seeds lack)."""
    builders = {"sio-2016": _scenario_2016, "sio-2019": _scenario_2019, "sio-2021": _scenario_2021}
    builder = builders.get(round_def.id)
    if builder is None:
        return Scenario(round=round_def.id)
    return builder(round_def, registry)


def _scenario_2016(round_def: RoundDefinition, registry: MunicipalityRegistry) -> Scenario:
    """Round 2016: Stjørdal, Os, Lillesand, Hobøl in model A; Selbu, Spydeberg in model B
    (seed 000); Fusa and Askim rejected; Eidsberg applied late; Trøgstad never applied."""
    selected = {"1714": "A", "1243": "A", "0926": "A", "0138": "A", "1664": "B", "0123": "B"}
    submitted = {
        "1714": date(2015, 11, 19),
        "1243": date(2015, 11, 25),
        "0926": date(2015, 11, 20),
        "0138": date(2015, 11, 26),
        "1664": date(2015, 11, 23),
        "0123": date(2015, 11, 10),
        "1241": date(2015, 11, 27),
        "0124": date(2015, 11, 30),
        "0125": date(2015, 12, 3),  # after the deadline of 01.12.2015
    }
    decided = date(2016, 1, 14)
    received = {
        "1714": date(2016, 1, 20),
        "1243": date(2016, 1, 27),
        "0926": date(2016, 1, 25),
        "0138": date(2016, 2, 3),  # late: the deadline was 01.02.2016
        "1664": date(2016, 1, 28),
        "0123": date(2016, 1, 22),
    }
    return Scenario(
        round=round_def.id,
        municipalities=("0122",),
        applications=tuple(
            Application(kommunenummer=k, submitted_at=_at(d), council_resolution_date=d)
            for k, d in submitted.items()
        ),
        decisions=tuple(
            Decision(
                kommunenummer=k,
                decision="selected" if k in selected else "rejected",
                model=selected.get(k),
                decided_on=decided,
            )
            for k in submitted
        ),
        signatures=tuple(Signature(kommunenummer=k, received_on=d) for k, d in received.items()),
        activities=tuple(_activity_events(round_def, registry, selected, late=("0926",))),
        meetings=(
            MeetingMove(
                kommunenummer="1714",
                month="2016-06",
                start=_at(date(2016, 6, 16), time(13)),
                agreed_on=date(2016, 5, 20),
            ),
        ),
    )


def _scenario_2019(round_def: RoundDefinition, registry: MunicipalityRegistry) -> Scenario:
    """Round 2019: the ten invited (seed 001) apply and are all selected in model A (their
    cohorts are in the round file), and return the agreement in February 2019."""
    invited = list(round_def.invited) if round_def.invited != "all" else []
    decided = date(2019, 1, 31)
    selected = dict.fromkeys(invited, "A")
    return Scenario(
        round=round_def.id,
        applications=tuple(
            Application(
                kommunenummer=k,
                submitted_at=_at(date(2018, 12, 3) + timedelta(days=i)),
                council_resolution_date=date(2018, 11, 29),
            )
            for i, k in enumerate(invited)
        ),
        decisions=tuple(
            Decision(kommunenummer=k, decision="selected", model="A", decided_on=decided)
            for k in invited
        ),
        signatures=tuple(
            Signature(kommunenummer=k, received_on=date(2019, 2, 11) + timedelta(days=i))
            for i, k in enumerate(invited)
        ),
        activities=tuple(_activity_events(round_def, registry, selected)),
    )


def _scenario_2021(round_def: RoundDefinition, registry: MunicipalityRegistry) -> Scenario:
    """Round 2021: Arendal, Askøy, Enebakk, Froland, Lyngdal, Lødingen selected by parliament
    (seed 002), Os (Innlandet) rejected; replies and agreements before 31.12.2020."""
    selected = ["4203", "4627", "3028", "4214", "4225", "1851"]
    applicants = [*selected, "3430"]
    decided = date(2020, 12, 15)
    participants = dict.fromkeys(selected, "A")
    return Scenario(
        round=round_def.id,
        applications=tuple(
            Application(
                kommunenummer=k,
                submitted_at=_at(date(2020, 10, 12) + timedelta(days=i)),
                signed_by_title="kommunedirektør",
                council_resolution_date=date(2020, 10, 1),
            )
            for i, k in enumerate(applicants)
        ),
        decisions=tuple(
            Decision(
                kommunenummer=k,
                decision="selected" if k in participants else "rejected",
                model="A" if k in participants else None,
                decided_on=decided,
            )
            for k in applicants
        ),
        replies=tuple(Reply(kommunenummer=k, on=date(2020, 12, 18)) for k in selected),
        signatures=tuple(
            Signature(kommunenummer=k, received_on=date(2020, 12, 22)) for k in selected
        ),
        activities=tuple(_activity_events(round_def, registry, participants)),
    )


def with_synthetic_applicants(
    scenario: Scenario,
    round_def: RoundDefinition,
    registry: MunicipalityRegistry,
    numbers: Sequence[str],
    total: int,
) -> Scenario:
    """The scenario with synthetic applicants added until it names ``total`` municipalities.

    Each added municipality applies ten working days before the deadline (or before the
    selection), is selected in the round's first model, replies and returns its agreement on the
    days the scenario's first participant did, and reports its activities in time (D: a benchmark
    and load scenario; the historical participants are unchanged).
    """
    named = scenario.named()
    extra = [n for n in numbers if n not in named][: max(0, total - len(named))]
    if not extra:
        return scenario
    m = round_def.milestones
    deadline = (m.application_deadline or m.selection_deadline or m.go_live).date
    submitted = _at(working_days_before(deadline, 10))
    decided = scenario.decisions[0].decided_on if scenario.decisions else deadline
    model = sorted(round_def.models)[0]
    reply_on = scenario.replies[0].on if scenario.replies else None
    received = scenario.signatures[0].received_on if scenario.signatures else decided
    participants = dict.fromkeys(extra, model)
    return scenario.model_copy(
        update={
            "applications": (
                *scenario.applications,
                *(
                    Application(
                        kommunenummer=k,
                        submitted_at=submitted,
                        council_resolution_date=deadline - timedelta(days=20),
                    )
                    for k in extra
                ),
            ),
            "decisions": (
                *scenario.decisions,
                *(
                    Decision(kommunenummer=k, decision="selected", model=model, decided_on=decided)
                    for k in extra
                ),
            ),
            "replies": (
                *scenario.replies,
                *(Reply(kommunenummer=k, on=reply_on) for k in extra if reply_on is not None),
            ),
            "signatures": (
                *scenario.signatures,
                *(Signature(kommunenummer=k, received_on=received) for k in extra),
            ),
            "activities": (
                *scenario.activities,
                *_activity_events(round_def, registry, participants),
            ),
        }
    )


def synthetic_registry_rows(count: int, start: int = 9001) -> list[dict[str, str]]:
    """Registry rows for synthetic municipalities (``municipalities`` file rows), numbers from
    ``start``; every fourth writes nynorsk. For simulations beyond the shipped registry."""
    return [
        {
            "kommunenummer": f"{start + i:04d}",
            "name": f"Simulert kommune {start + i:04d}",
            "valid_from": "",
            "valid_to": "",
            "successor": "",
            "written_standard": "nynorsk" if i % 4 == 3 else "bokmål",
        }
        for i in range(count)
    ]
