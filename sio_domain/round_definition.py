"""A trial round (forsøksrunde) as data: every date, rule and amount the software uses.

Why data and not code: the seeds leave many dates open ("tidspunkt avtales med den enkelte
kommune") and the directorate corrects figures during the trial, so operations staff must be able
to correct a round without a release (preamble). Every value carries the seed it comes
from, or is marked **D** for a design decision.

The model validates what a person can get wrong in a hand-edited file: real dates, the milestone
order (invitation < application deadline < selection < agreement deadline < go-live < end),
non-negative amounts and known service codes.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sio_domain.round_letters import RoundLetters
from sio_domain.services import SERVICE_CATALOGUE

Model = Literal["A", "B"]
Responsible = Literal["municipality", "directorate", "both"]
Role = Literal[
    "contact_person",
    "project_leader",
    "chief_executive",
    "finance_officer",
    "allocation_officer",
    "service_manager",
]
DecidingBody = Literal["ministry", "directorate", "parliament"]
GrowthRule = Literal["municipal_economy", "deflator_and_demography"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Kommunenummer = Annotated[str, Field(pattern=r"^\d{4}$")]
Amount = Annotated[Decimal, Field(ge=0)]
Rate = Annotated[Decimal, Field(ge=0, le=1)]
Day = date  # a name for ``date`` inside models that have a field called ``date``


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_floats(value: Any) -> Any:
    """Amounts must be written as quoted decimals: a binary float cannot hold 0.1 exactly."""
    if isinstance(value, float):
        raise ValueError(f'write {value!r} as a quoted decimal, e.g. "{value}"')
    return value


class DatedFact(_Strict):
    """A date with the seed it comes from; ``firm`` is false while it is still to be agreed."""

    date: date
    source: str
    firm: bool = True
    note: str | None = None
    decided_on: Day | None = None
    """When the date was decided, if after the round was announced (an early end): letters
    dated before it do not know it."""


class Milestones(_Strict):
    """The round's key dates, each with its source (seeds 004, 000, 001, 002, 003)."""

    invitation: DatedFact | None = None
    application_deadline: DatedFact | None = None
    selection_deadline: DatedFact | None = None
    selection_late_after: DatedFact | None = None
    reply_deadline: DatedFact | None = None
    agreement_deadline: DatedFact | None = None
    collaboration_start: DatedFact | None = None
    go_live: DatedFact
    end: DatedFact
    early_end: DatedFact | None = None

    @model_validator(mode="after")
    def _in_order(self) -> Milestones:
        chain = [
            ("invitation", self.invitation),
            ("application_deadline", self.application_deadline),
            ("selection_deadline", self.selection_deadline),
            ("agreement_deadline", self.agreement_deadline),
            ("go_live", self.go_live),
            ("end", self.end),
        ]
        present = [(name, fact.date) for name, fact in chain if fact is not None]
        for (first, first_day), (second, second_day) in zip(present, present[1:], strict=False):
            if not first_day < second_day:
                raise ValueError(
                    f"{second} ({second_day.isoformat()}) must come after "
                    f"{first} ({first_day.isoformat()})"
                )
        if self.reply_deadline is not None and self.selection_deadline is not None:
            if self.reply_deadline.date < self.selection_deadline.date:
                raise ValueError(
                    f"reply_deadline ({self.reply_deadline.date.isoformat()}) must not come "
                    f"before selection_deadline ({self.selection_deadline.date.isoformat()})"
                )
        if self.early_end is not None and not (
            self.go_live.date < self.early_end.date <= self.end.date
        ):
            raise ValueError(
                f"early_end ({self.early_end.date.isoformat()}) must lie after go_live and "
                f"not after end ({self.end.date.isoformat()})"
            )
        return self

    @property
    def effective_end(self) -> date:
        """The last day of participation: the early end when parliament ended the trial early."""
        return (self.early_end or self.end).date


class PlanActivity(_Strict):
    """A row of the training/follow-up plan (opplærings- og oppfølgingsplan, Bilag 1)."""

    row: str
    key: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    title_nn: str | None = None
    start: date | None = None
    end: date | None = None
    month: YearMonth | None = None
    responsible: Responsible
    firm: bool = True
    before_go_live: bool = False
    for_cohorts: tuple[str, ...] = ()
    source: str
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self) -> PlanActivity:
        if self.month is None and self.start is None:
            raise ValueError(f"activity {self.key!r} needs start (and end) or month")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(
                f"activity {self.key!r}: end ({self.end.isoformat()}) is before start "
                f"({self.start.isoformat()})"
            )
        return self


class Gathering(_Strict):
    """A gathering (samling), network gathering (nettverkssamling) or information meeting."""

    kind: Literal["gathering", "network_gathering", "info_meeting"]
    key: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    title_nn: str | None = None
    row: str | None = None
    start: date | datetime | None = None
    end: date | datetime | None = None
    month: YearMonth | None = None
    firm: bool = True
    audience: tuple[Role, ...] = ("contact_person",)
    responsible: Responsible = "directorate"
    for_cohorts: tuple[str, ...] = ()
    source: str
    note: str | None = None

    @model_validator(mode="after")
    def _dated(self) -> Gathering:
        if self.month is None and self.start is None:
            raise ValueError(f"gathering {self.key!r} needs start or month")
        if isinstance(self.start, datetime) and self.start.tzinfo is None:
            raise ValueError(f"gathering {self.key!r}: start needs a UTC offset, e.g. +01:00")
        if isinstance(self.end, datetime) and self.end.tzinfo is None:
            raise ValueError(f"gathering {self.key!r}: end needs a UTC offset, e.g. +01:00")
        if self.start is not None and self.end is not None:
            if type(self.start) is not type(self.end):
                raise ValueError(
                    f"gathering {self.key!r}: start and end must both be dates or datetimes"
                )
            if self.end < self.start:
                raise ValueError(f"gathering {self.key!r}: end is before start")
        return self


class MeetingSlot(_Strict):
    """Default proposed day and time of a status meeting (design decision **D**: 2nd Tuesday
    10–11:30)."""

    weekday: Weekday = "tuesday"
    nth: Annotated[int, Field(ge=1, le=4)] = 2
    start: time = time(10, 0)
    end: time = time(11, 30)

    @model_validator(mode="after")
    def _ordered(self) -> MeetingSlot:
        if not self.start < self.end:
            raise ValueError(f"meeting slot end {self.end} must come after start {self.start}")
        return self


class CadencePhase(_Strict):
    """One phase of the status-meeting cadence: every n months from..to, or a list of months."""

    first: YearMonth | None = Field(default=None, alias="from")
    last: YearMonth | None = Field(default=None, alias="to")
    every_months: Annotated[int, Field(ge=1, le=12)] = 1
    months: tuple[YearMonth, ...] = ()
    rows: str
    source: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> CadencePhase:
        if self.months and (self.first or self.last):
            raise ValueError("a cadence phase has either months or from/to, not both")
        if not self.months and not (self.first and self.last):
            raise ValueError("a cadence phase needs months, or from and to")
        if self.first and self.last and self.last < self.first:
            raise ValueError(f"cadence phase: to ({self.last}) is before from ({self.first})")
        return self

    def month_list(self) -> list[str]:
        """The months (YYYY-MM) this phase holds a meeting in."""
        if self.months:
            return list(self.months)
        assert self.first is not None and self.last is not None
        year, month = (int(part) for part in self.first.split("-"))
        result = []
        while f"{year:04d}-{month:02d}" <= self.last:
            result.append(f"{year:04d}-{month:02d}")
            month += self.every_months
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return result


class StatusMeetings(_Strict):
    """Status meetings (statusmøter): a data-driven cadence and a default slot."""

    slot: MeetingSlot = MeetingSlot()
    phases: tuple[CadencePhase, ...]


class ModelPlan(_Strict):
    """What one model (A or B) of the round holds: Bilag 1 activities, gatherings, meetings."""

    title: str
    title_nn: str | None = None
    participation_start: DatedFact | None = None
    abf_start: DatedFact | None = None
    activities: tuple[PlanActivity, ...] = ()
    gatherings: tuple[Gathering, ...] = ()
    status_meetings: StatusMeetings | None = None


class Cohort(_Strict):
    """Invited municipalities that share a model and start dates (seed 001: from 01.05 / 01.07)."""

    key: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    title: str
    title_nn: str | None = None
    model: Model
    members: tuple[Kommunenummer, ...]
    participation_start: DatedFact
    abf_start: DatedFact | None = None
    status_meetings: StatusMeetings | None = None
    source: str


class MunicipalityOverride(_Strict):
    """A dated value for one municipality that differs from its cohort (e.g. a postponed ABF)."""

    kommunenummer: Kommunenummer
    abf_start: DatedFact | None = None
    participation_start: DatedFact | None = None


class Reminders(_Strict):
    """When reminders and invitations go out (design decision **D**)."""

    deadline_offsets: tuple[Annotated[int, Field(ge=0)], ...] = (14, 7, 1)
    meeting_invitation: Annotated[int, Field(ge=0)] = 10
    meeting_reminder: Annotated[int, Field(ge=0)] = 2
    send_at: time = time(9, 0)
    source: str = "D: 14, 7 and 1 working days before, 09:00 Europe/Oslo"


class AnnualReport(_Strict):
    """The annual report per participation (design decision **D**; seed 000 §2.3 reporting duty)."""

    due_month: Annotated[int, Field(ge=1, le=12)] = 4
    due_day: Annotated[int, Field(ge=1, le=31)] = 1
    source: str = "D: annual report due 1 April the following year (seed 000 §2.3)"


class PayoutSchedule(_Strict):
    """Quarterly payout runs on the n-th working day of each quarter (design decision **D**)."""

    working_day: Annotated[int, Field(ge=1, le=20)] = 5
    at: time = time(6, 0)
    source: str = "D: 5th working day of each quarter, 06:00 Europe/Oslo"
    # Who may approve a run, per role (disponent, attestant); empty: anyone named.
    approvers: dict[Literal["disponent", "attestant"], tuple[str, ...]] = {}
    # Duties whose lateness holds the next payout (key prefix, e.g. annual_report).
    holding_duties: tuple[Literal["annual_report"], ...] = ("annual_report",)
    debtor_account: str | None = None  # the directorate's kontonummer for payment files


class Financing(_Strict):
    """Financing parameters (Financing; seeds 004, 001)."""

    supplement_rate: Rate
    caps: dict[int, Amount]
    growth_rule: GrowthRule
    deflators: dict[int, Annotated[Decimal, Field(ge=-1, le=1)]]
    demographic_growth: dict[int, Annotated[Decimal, Field(ge=-1, le=1)]] = {}
    lump_sum_share: Rate
    system_adaptation_max: Amount
    price_base_year: int
    unit_prices: dict[int, dict[str, Amount]]
    top_up: dict[Kommunenummer, dict[int, Amount]] = {}
    kostra_functions: tuple[str, ...] = ("234", "253", "254", "261")
    sources: dict[str, str] = {}

    _floats = field_validator(
        "supplement_rate", "lump_sum_share", "system_adaptation_max", mode="before"
    )(_no_floats)

    @field_validator("caps", "deflators", "demographic_growth", mode="before")
    @classmethod
    def _no_float_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for item in value.values():
                _no_floats(item)
        return value

    @field_validator("unit_prices", mode="before")
    @classmethod
    def _known_codes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for prices in value.values():
                if isinstance(prices, dict):
                    for code, price in prices.items():
                        if code not in SERVICE_CATALOGUE:
                            known = ", ".join(sorted(SERVICE_CATALOGUE))
                            raise ValueError(f"unknown service code {code!r} (known: {known})")
                        _no_floats(price)
        return value

    @model_validator(mode="after")
    def _base_prices(self) -> Financing:
        if self.price_base_year not in self.unit_prices:
            raise ValueError(f"unit_prices has no list for price_base_year {self.price_base_year}")
        missing = sorted(set(SERVICE_CATALOGUE) - set(self.unit_prices[self.price_base_year]))
        if missing:
            raise ValueError(f"unit_prices.{self.price_base_year} lacks {', '.join(missing)}")
        return self


class Staff(_Strict):
    """The directorate's own follow-up: a task waiting this many working days is escalated (D)."""

    escalate_after_working_days: Annotated[int, Field(ge=1)] = 5


class RoundDefinition(_Strict):
    """One trial round, loaded from its round file."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: str
    sources: str
    selection_decided_by: DecidingBody
    invited: Literal["all"] | tuple[Kommunenummer, ...]
    milestones: Milestones
    models: dict[Model, ModelPlan]
    cohorts: tuple[Cohort, ...] = ()
    overrides: tuple[MunicipalityOverride, ...] = ()
    reminders: Reminders = Reminders()
    annual_report: AnnualReport = AnnualReport()
    payout: PayoutSchedule = PayoutSchedule()
    financing: Financing
    title_nn: str | None = None
    """The round's title in nynorsk, for nynorsk municipalities (målform, språklova)."""
    letters: RoundLetters = RoundLetters()
    """Letterhead, case officer, evaluator and appeal body of the round's letters."""
    staff: Staff = Staff()

    @model_validator(mode="after")
    def _consistent(self) -> RoundDefinition:
        if not self.models:
            raise ValueError("a round needs at least one model")
        for cohort in self.cohorts:
            if cohort.model not in self.models:
                raise ValueError(f"cohort {cohort.key!r} uses model {cohort.model} not in models")
        cohort_keys = {cohort.key for cohort in self.cohorts}
        for name, plan in self.models.items():
            items: list[PlanActivity | Gathering] = [*plan.activities, *plan.gatherings]
            for item in items:
                unknown = set(item.for_cohorts) - cohort_keys
                if unknown:
                    raise ValueError(
                        f"models.{name}: {item.key!r} names unknown cohort {sorted(unknown)[0]!r}"
                    )
        seen: dict[str, str] = {}
        for cohort in self.cohorts:
            for member in cohort.members:
                if member in seen:
                    raise ValueError(f"{member} is in cohorts {seen[member]!r} and {cohort.key!r}")
                seen[member] = cohort.key
        return self

    def cohort_of(self, kommunenummer: str) -> Cohort | None:
        """The cohort a municipality was invited in, if the round names its invitees."""
        for cohort in self.cohorts:
            if kommunenummer in cohort.members:
                return cohort
        return None

    def override_for(self, kommunenummer: str) -> MunicipalityOverride | None:
        """The round file's dated values for one municipality, if any."""
        for override in self.overrides:
            if override.kommunenummer == kommunenummer:
                return override
        return None
