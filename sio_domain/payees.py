"""Who is paid for which month, and how: the payee (mottaker) schedule of a round.

A participation is recorded under the number the municipality had when it was selected; the money
for a month goes to the municipality *in force* that month (design decision **D**: "payouts after
a merger
go to the successor, history stays with the predecessors"). So Hobøl (0138) is paid as 0138 for
May–December 2019 and, with Askim, Spydeberg, Trøgstad and Eidsberg, as Indre Østfold (3014) from
01.01.2020 — one municipality with one cap.

Each month a payee takes part in is either frame-financed (earmarked grant, øremerket tilskudd:
model B, and model A before its ABF start) or ABF-financed (aktivitetsbasert finansiering), and
gaps pay nothing (Financing).

**Design decisions** (documented here because the seeds are silent):

- *ABF start after a merger or renumbering*: the round file's override for the successor's number
  if it has one (Indre Østfold: 01.01.2021, seed 002 and the directorate's 2020 annual report),
  else the latest ABF start among the participations paid through it — the merged municipality
  can only price-code all its services once every part of it can.
- *One month, one round*: a municipality's month is financed by one round only, the one whose
  participation started first, so the cap "holds across rounds" ; the same month in a
  later round is left out and flagged.
- A participation never runs past the round's end or parliament's early end (``early_end``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, NamedTuple

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.payout_periods import Month, Quarter, months_spanned
from sio_domain.round_definition import RoundDefinition

FinancingMode = Literal["frame", "abf"]


@dataclass(frozen=True)
class Participation:
    """A municipality's participation in a round (deltakelse), as the lifecycle recorded it."""

    round_id: str
    kommunenummer: str
    model: str
    start: date
    end: date
    abf_start: date | None = None


@dataclass(frozen=True)
class Flag:
    """Something the payout run did not pay, and why, for staff to act on."""

    kommunenummer: str
    reason: str


@dataclass
class PayeeSchedule:
    """One payee in one round: its months, how each is financed, and who it pays for."""

    kommunenummer: str
    model: str
    abf_start: date | None
    members: tuple[str, ...]
    months: dict[Month, FinancingMode] = field(default_factory=dict)
    _years: dict[int, YearMonths] | None = field(default=None, repr=False, compare=False)
    _counted: int = field(default=-1, repr=False, compare=False)

    def years(self) -> list[int]:
        return sorted({month.year for month in self.months})

    def months_in(self, year: int, mode: FinancingMode | None = None) -> list[Month]:
        return sorted(
            month
            for month, kind in self.months.items()
            if month.year == year and (mode is None or kind == mode)
        )

    def by_year(self) -> dict[int, YearMonths]:
        """Each year's months, all and by financing mode, sorted (computed once)."""
        if self._years is None or self._counted != len(self.months):
            self._years, self._counted = self._group_by_year(), len(self.months)
        return self._years

    def _group_by_year(self) -> dict[int, YearMonths]:
        years: dict[int, YearMonths] = {}
        for month, mode in sorted(self.months.items()):
            found = years.get(month.year)
            if found is None:
                found = years[month.year] = YearMonths([], [], [], {}, {}, {})
            quarter = month.quarter
            found.all.append(month)
            found.quarters[quarter] = found.quarters.get(quarter, 0) + 1
            if mode == "frame":
                found.frame.append(month)
                found.frame_quarters[quarter] = found.frame_quarters.get(quarter, 0) + 1
            else:
                found.abf.append(month)
                found.abf_quarters[quarter] = found.abf_quarters.get(quarter, 0) + 1
        return years


class YearMonths(NamedTuple):
    """One year of a payee's months — all, frame-financed, ABF — and how many in each quarter."""

    all: list[Month]
    frame: list[Month]
    abf: list[Month]
    quarters: dict[Quarter, int]
    frame_quarters: dict[Quarter, int]
    abf_quarters: dict[Quarter, int]


def default_abf_start(round_def: RoundDefinition, kommunenummer: str) -> date | None:
    """The round file's ABF start for a municipality: override, else cohort, else model A's."""
    override = round_def.override_for(kommunenummer)
    if override is not None and override.abf_start is not None:
        return override.abf_start.date
    cohort = round_def.cohort_of(kommunenummer)
    if cohort is not None and cohort.abf_start is not None:
        return cohort.abf_start.date
    plan = round_def.models.get("A")
    return plan.abf_start.date if plan is not None and plan.abf_start is not None else None


def payee_segments(
    participation: Participation, registry: MunicipalityRegistry, last_day: date
) -> Iterator[tuple[str, list[Month]]]:
    """(payee number, its months) for each number a participation is paid under, to ``last_day``.

    One segment per number in force, so the registry is asked once per number and not once per
    month. Raises the registry's error for a number it cannot place.
    """
    end = min(participation.end, last_day)
    cursor = participation.start
    while cursor <= end:
        version = registry.in_force(participation.kommunenummer, cursor)
        segment_end = end if version.valid_to is None else min(end, version.valid_to)
        yield version.kommunenummer, list(months_spanned(cursor, segment_end))
        if version.valid_to is None or version.valid_to >= end:
            break
        cursor = date.fromordinal(version.valid_to.toordinal() + 1)


def payee_schedules(
    round_def: RoundDefinition,
    participations: Sequence[Participation],
    registry: MunicipalityRegistry,
    *,
    other_rounds: Sequence[Participation] = (),
) -> tuple[dict[str, PayeeSchedule], list[Flag]]:
    """The round's payees, each with its months and their financing mode, and what was left out.

    ``other_rounds`` are participations in other rounds; a month another round financed first is
    left out here and flagged (one month, one round).
    """
    flags: list[Flag] = []
    last_day = round_def.milestones.effective_end
    members: dict[str, dict[str, Participation]] = {}
    starts: dict[str, dict[Month, date]] = {}
    for participation in sorted(participations, key=lambda p: p.kommunenummer):
        try:
            segments = list(payee_segments(participation, registry, last_day))
        except (KeyError, ValueError) as error:
            flags.append(Flag(participation.kommunenummer, f"not paid: {error}"))
            continue
        start = participation.start
        for payee, months in segments:
            members.setdefault(payee, {})[participation.kommunenummer] = participation
            earliest = starts.setdefault(payee, {})
            if not earliest:  # the payee's first participation: every month starts with it
                earliest.update(dict.fromkeys(months, start))
                continue
            for month in months:
                known = earliest.get(month)
                if known is None or start < known:
                    earliest[month] = start
    claimed = _claims_elsewhere(other_rounds, registry, set(members))
    schedules: dict[str, PayeeSchedule] = {}
    for payee, by_number in sorted(members.items()):
        model = "A" if any(p.model == "A" for p in by_number.values()) else "B"
        abf_start = _abf_start(round_def, payee, by_number) if model == "A" else None
        schedule = PayeeSchedule(payee, model, abf_start, tuple(sorted(by_number)))
        first_abf = _first_month_from(abf_start)
        if not claimed:  # no other round finances any of its months
            schedule.months = {
                month: "abf" if first_abf and month >= first_abf else "frame"
                for month in sorted(starts[payee])
            }
            if schedule.months:
                schedules[payee] = schedule
            continue
        for month, start in sorted(starts[payee].items()):
            earlier = claimed.get((payee, month))
            if earlier is not None and earlier < (start, round_def.id):
                flags.append(
                    Flag(
                        payee,
                        f"{month.label} is financed by round {earlier[1]}, which started first"
                        " (one round per municipality and month, so one cap)",
                    )
                )
                continue
            schedule.months[month] = "abf" if first_abf and month >= first_abf else "frame"
        if schedule.months:
            schedules[payee] = schedule
    _share_years(schedules.values())
    return schedules, flags


def _share_years(schedules: Iterable[PayeeSchedule]) -> None:
    """Group the months by year once per distinct set of months, not once per payee.

    Most payees of a round share their months (and how each is financed), so their
    :meth:`PayeeSchedule.by_year` is the same; it is read, never changed.
    """
    shared: dict[tuple[tuple[Month, FinancingMode], ...], dict[int, YearMonths]] = {}
    for schedule in schedules:
        key = tuple(schedule.months.items())
        years = shared.get(key)
        if years is None:
            years = shared[key] = schedule.by_year()
        schedule._years, schedule._counted = years, len(schedule.months)


def _first_month_from(day: date | None) -> Month | None:
    """The first month whose first day is on or after ``day``."""
    if day is None:
        return None
    month = Month.of(day)
    return month if day.day == 1 else month.next()


def _abf_start(
    round_def: RoundDefinition, payee: str, by_number: dict[str, Participation]
) -> date | None:
    """ABF start of a payee (see the module's design decisions)."""

    def own(participation: Participation) -> date | None:
        if participation.model != "A":
            return None
        return participation.abf_start or default_abf_start(round_def, participation.kommunenummer)

    if set(by_number) == {payee}:
        return own(by_number[payee])
    override = round_def.override_for(payee)
    if override is not None and override.abf_start is not None:
        return override.abf_start.date
    starts = [start for start in map(own, by_number.values()) if start is not None]
    return max(starts) if starts else None


def _claims_elsewhere(
    participations: Sequence[Participation], registry: MunicipalityRegistry, payees: set[str]
) -> dict[tuple[str, Month], tuple[date, str]]:
    """(payee, month) → (start, round) of the earliest other participation financing it."""
    claims: dict[tuple[str, Month], tuple[date, str]] = {}
    for participation in participations:
        try:
            segments = list(payee_segments(participation, registry, participation.end))
        except (KeyError, ValueError):
            continue
        for payee, months in segments:
            for month in months if payee in payees else ():
                claim = (participation.start, participation.round_id)
                claims[(payee, month)] = min(claims.get((payee, month), claim), claim)
    return claims
