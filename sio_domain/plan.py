"""The plan: every dated event of a round, for a model and optionally one municipality.

Why one pure function: reminders, invitations, meetings, readiness checks and payout runs all read
their dates from here, so the seeds' dates are turned into events in exactly one place and can be
checked against the documents. Each event names its source, whether its date is
firm or still to be agreed, and who is responsible.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sio_domain.norwegian_calendar import (
    OSLO,
    effective_deadline,
    meeting_day,
    nth_working_day_of_month,
    oslo_datetime,
    quarter_label,
    quarter_of,
)
from sio_domain.plan_titles import TITLES_NN, early_end_nn, payout_run_nn, report_deadline_nn
from sio_domain.round_definition import (
    Cohort,
    DatedFact,
    Gathering,
    Model,
    PlanActivity,
    Responsible,
    Role,
    RoundDefinition,
    StatusMeetings,
)

EventKind = Literal[
    "invitation",
    "application_deadline",
    "selection_deadline",
    "reply_deadline",
    "agreement_deadline",
    "collaboration_start",
    "activity",
    "gathering",
    "network_gathering",
    "info_meeting",
    "participation_start",
    "go_live",
    "abf_start",
    "status_meeting",
    "report_deadline",
    "payout_run",
    "trial_end",
]
KIND_ORDER: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]

SUBMISSION_DEADLINES = frozenset(
    {"application_deadline", "reply_deadline", "agreement_deadline", "report_deadline"}
)
"""Deadlines for submitting something to the directorate: these roll to the next working day."""


class PlanEvent(BaseModel):
    """One dated event of the plan; the JSON form is the command contract's "Plan event"."""

    model_config = ConfigDict(frozen=True)

    kind: EventKind
    title: str
    start: date | datetime
    end: date | datetime
    all_day: bool
    nominal: date | None
    firm: bool
    responsible: Responsible | None
    municipality: str | None
    model: Model | None
    source: str
    key: str = Field(exclude=True)
    title_nn: str | None = Field(default=None, exclude=True)
    """The title in nynorsk (for nynorsk municipalities); None: the same as ``title``."""
    note: str | None = Field(default=None, exclude=True)
    audience: tuple[Role, ...] = Field(default=(), exclude=True)
    cohort: str | None = Field(default=None, exclude=True)
    before_go_live: bool = Field(default=False, exclude=True)
    month_only: bool = Field(default=False, exclude=True)

    @property
    def day(self) -> date:
        """The calendar day the event starts on (Europe/Oslo)."""
        if isinstance(self.start, datetime):
            return self.start.astimezone(OSLO).date()
        return self.start


class PlanOverrides(BaseModel):
    """Per-municipality dates agreed with staff that replace the round's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participation_start: date | None = None
    abf_start: date | None = None
    status_meetings: dict[str, datetime] = {}
    """Moved status meetings: the meeting's month (``YYYY-MM``) → the agreed start instant."""


@dataclass(frozen=True)
class _Track:
    """The dates one group of participants of one model follows."""

    model: Model
    cohort: Cohort | None
    participation_start: DatedFact
    abf_start: DatedFact | None
    meetings: StatusMeetings | None


def build_plan(
    round_def: RoundDefinition,
    *,
    model: Model | None = None,
    municipality: str | None = None,
    held_numbers: Sequence[str] = (),
    overrides: PlanOverrides | None = None,
) -> list[PlanEvent]:
    """Every dated event of ``round_def``, in date order.

    ``municipality`` narrows the plan to one participant: its cohort (found by any number in
    ``held_numbers``, the numbers it has held), the round file's overrides for it, and the staff's
    ``overrides`` decide its dates. Raises ValueError for a model the round does not have.
    """
    numbers = tuple(dict.fromkeys((municipality, *held_numbers))) if municipality else ()
    tracks = _tracks(round_def, model, numbers, overrides or PlanOverrides())
    events = [
        *_milestone_events(round_def, tracks, municipality),
        *(e for track in tracks for e in _track_events(round_def, track, municipality, overrides)),
        *_model_events(round_def, tracks, municipality),
        *_report_deadlines(round_def, tracks, municipality),
        *_payout_runs(round_def, tracks, municipality),
    ]
    return sorted(events, key=_order)


def _order(event: PlanEvent) -> tuple[date, time, int, str]:
    at = event.start.astimezone(OSLO).time() if isinstance(event.start, datetime) else time(0)
    return event.day, at, KIND_ORDER.index(event.kind), event.title


def _tracks(
    round_def: RoundDefinition,
    model: Model | None,
    numbers: Sequence[str],
    overrides: PlanOverrides,
) -> list[_Track]:
    if model is not None and model not in round_def.models:
        have = ", ".join(sorted(round_def.models))
        raise ValueError(f"round {round_def.id} has no model {model} (it has {have})")
    cohort = _cohort_of(round_def, numbers)
    if cohort is not None and model is not None and cohort.model != model:
        raise ValueError(
            f"kommune {numbers[0]} was invited to round {round_def.id} in model {cohort.model}, "
            f"not {model}"
        )
    if numbers:
        chosen = cohort.model if cohort else (model or _only_model(round_def, numbers[0]))
        return [_track(round_def, chosen, cohort, numbers, overrides)]
    models = [model] if model else sorted(round_def.models)
    tracks: list[_Track] = []
    for name in models:
        cohorts: list[Cohort | None] = [c for c in round_def.cohorts if c.model == name]
        tracks.extend(_track(round_def, name, c, (), overrides) for c in cohorts or [None])
    return tracks


def _cohort_of(round_def: RoundDefinition, numbers: Sequence[str]) -> Cohort | None:
    """The cohort a municipality follows: its own number's, else its predecessors'.

    A per-participation value applies to the number it names (Hobøl 0138 continued from
    01.05.2019, seed 001). A municipality formed by a merger (Indre Østfold 3014) was not invited
    under its own number: it follows the cohort of the predecessor that started first, and its ABF
    starts when every part of it could price-code (the latest ABF start among them).
    """
    if not numbers:
        return None
    own = round_def.cohort_of(numbers[0])
    if own is not None:
        return own
    found = [c for n in numbers[1:] if (c := round_def.cohort_of(n)) is not None]
    return min(found, key=lambda c: (c.participation_start.date, c.key), default=None)


def _latest_abf(round_def: RoundDefinition, numbers: Sequence[str]) -> DatedFact | None:
    starts = [
        c.abf_start
        for n in numbers[1:]
        if (c := round_def.cohort_of(n)) is not None and c.abf_start is not None
    ]
    return max(starts, key=lambda fact: fact.date, default=None)


def _only_model(round_def: RoundDefinition, kommunenummer: str) -> Model:
    if len(round_def.models) == 1:
        return next(iter(round_def.models))
    raise ValueError(
        f"kommune {kommunenummer} has no model in round {round_def.id} yet: give --model "
        f"({' or '.join(sorted(round_def.models))})"
    )


def _track(
    round_def: RoundDefinition,
    model: Model,
    cohort: Cohort | None,
    numbers: Sequence[str],
    overrides: PlanOverrides,
) -> _Track:
    plan = round_def.models[model]
    start = (cohort.participation_start if cohort else None) or plan.participation_start
    abf = (cohort.abf_start if cohort else None) or plan.abf_start
    if numbers and cohort is not None and round_def.cohort_of(numbers[0]) is None:
        abf = _latest_abf(round_def, numbers) or abf  # a merged municipality: see _cohort_of
    file_override = round_def.override_for(numbers[0]) if numbers else None
    if file_override is not None:  # a dated value applies to the number it names, only
        start = file_override.participation_start or start
        abf = file_override.abf_start or abf
    start = start or round_def.milestones.go_live
    if overrides.participation_start:
        start = DatedFact(date=overrides.participation_start, source="agreed with the municipality")
    if overrides.abf_start:
        abf = DatedFact(date=overrides.abf_start, source="agreed with the municipality")
    meetings = (cohort.status_meetings if cohort else None) or plan.status_meetings
    return _Track(model, cohort, start, abf, meetings)


def _event(
    round_def: RoundDefinition,
    kind: EventKind,
    title: str,
    fact: DatedFact,
    *,
    municipality: str | None,
    model: Model | None = None,
    responsible: Responsible | None = None,
    scope: str = "",
    title_nn: str | None = None,
) -> PlanEvent:
    """A one-day event from a dated fact; submission deadlines roll to the next working day."""
    nominal = fact.date
    deadline = kind.endswith("_deadline")
    day = effective_deadline(nominal) if kind in SUBMISSION_DEADLINES else nominal
    return PlanEvent(
        kind=kind,
        title=title,
        title_nn=title_nn or TITLES_NN.get(kind),
        start=day,
        end=day,
        all_day=True,
        nominal=nominal if deadline else None,
        firm=fact.firm,
        responsible=responsible,
        municipality=municipality,
        model=model,
        source=fact.source,
        key=_key(round_def, kind, model, scope, municipality, nominal.isoformat()),
        note=fact.note,
    )


def _key(round_def: RoundDefinition, *parts: str | None) -> str:
    return ":".join([round_def.id, *(part or "-" for part in parts)])


def _milestone_events(
    round_def: RoundDefinition, tracks: Sequence[_Track], municipality: str | None
) -> Iterable[PlanEvent]:
    m = round_def.milestones
    dated: list[tuple[EventKind, str, DatedFact | None, Responsible | None]] = [
        ("invitation", "Invitasjon til å søke om deltakelse", m.invitation, "directorate"),
        ("application_deadline", "Søknadsfrist", m.application_deadline, "municipality"),
        ("selection_deadline", "Utvelgelse av deltakende kommuner", m.selection_deadline, None),
        ("reply_deadline", "Svarfrist på tilbud om deltakelse", m.reply_deadline, "municipality"),
        (
            "agreement_deadline",
            "Frist for retur av signert samarbeidsavtale",
            m.agreement_deadline,
            "municipality",
        ),
        (
            "collaboration_start",
            "Tett samarbeid med Helsedirektoratet starter",
            m.collaboration_start,
            "both",
        ),
    ]
    for kind, title, fact, responsible in dated:
        if fact is not None:
            yield _event(
                round_def, kind, title, fact, municipality=municipality, responsible=responsible
            )
    if any(t.participation_start.date == m.go_live.date for t in tracks):
        yield _event(
            round_def, "go_live", "Oppstartstidspunkt", m.go_live, municipality=municipality
        )
    end = m.early_end or m.end
    title, title_nn = "Forsøket avsluttes", TITLES_NN["trial_end"]
    if m.early_end is not None:
        title += f" (avsluttet tidlig; avtalt til {m.end.date.strftime('%d.%m.%Y')})"
        title_nn += early_end_nn(m.end.date)
    yield _event(round_def, "trial_end", title, end, municipality=municipality, title_nn=title_nn)


def _track_events(
    round_def: RoundDefinition,
    track: _Track,
    municipality: str | None,
    overrides: PlanOverrides | None,
) -> Iterable[PlanEvent]:
    scope = track.cohort.key if track.cohort else ""
    suffix = f" – {track.cohort.title}" if track.cohort and not municipality else ""
    suffix_nn = (
        f" – {track.cohort.title_nn or track.cohort.title}"
        if track.cohort and not municipality
        else ""
    )
    if track.participation_start.date != round_def.milestones.go_live.date:
        yield _event(
            round_def,
            "participation_start",
            "Deltakelse starter" + suffix,
            track.participation_start,
            municipality=municipality,
            model=track.model,
            scope=scope,
            title_nn=TITLES_NN["participation_start"] + suffix_nn,
        )
    if track.abf_start is not None:
        yield _event(
            round_def,
            "abf_start",
            "Aktivitetsbasert finansiering starter" + suffix,
            track.abf_start,
            municipality=municipality,
            model=track.model,
            scope=scope,
            title_nn=TITLES_NN["abf_start"] + suffix_nn,
        )
    if track.meetings is not None:
        yield from _status_meetings(round_def, track, municipality, overrides, suffix, suffix_nn)


def _status_meetings(
    round_def: RoundDefinition,
    track: _Track,
    municipality: str | None,
    overrides: PlanOverrides | None,
    suffix: str,
    suffix_nn: str = "",
) -> Iterable[PlanEvent]:
    """Status meetings (statusmøter) on the round's cadence, proposed until agreed.

    seed 000: «Tidspunkt avtales med den enkelte kommune» — so each meeting is proposed (not firm)
    on the slot's day (default 2nd Tuesday 10:00–11:30, moved off holidays) unless staff agreed a
    time. Meetings before the participant's start month, and after an early end, are not held.
    """
    assert track.meetings is not None
    slot = track.meetings.slot
    first_month = track.participation_start.date.strftime("%Y-%m")
    early_end = round_def.milestones.early_end
    moved = overrides.status_meetings if overrides else {}
    duration = datetime.combine(date.min, slot.end) - datetime.combine(date.min, slot.start)
    for phase in track.meetings.phases:
        for month in phase.month_list():
            year, month_no = (int(part) for part in month.split("-"))
            if month < first_month or (early_end and date(year, month_no, 1) > early_end.date):
                continue
            if month in moved:
                start = moved[month].astimezone(OSLO)
                firm = True
            else:
                start = oslo_datetime(
                    meeting_day(year, month_no, slot.weekday, slot.nth), slot.start
                )
                firm = False
            yield PlanEvent(
                kind="status_meeting",
                title="Statusmøte" + suffix,
                title_nn=TITLES_NN["status_meeting"] + suffix_nn,
                start=start,
                end=start + duration,
                all_day=False,
                nominal=None,
                firm=firm,
                responsible="directorate",
                municipality=municipality,
                model=track.model,
                source=phase.source,
                key=_key(
                    round_def,
                    "status_meeting",
                    track.model,
                    track.cohort.key if track.cohort else "",
                    municipality,
                    month,
                ),
                note="Møte via video; tidspunkt avtales med den enkelte kommune (seed 000)",
                cohort=track.cohort.key if track.cohort else None,
            )


def _model_events(
    round_def: RoundDefinition, tracks: Sequence[_Track], municipality: str | None
) -> Iterable[PlanEvent]:
    """Bilag 1 activities and gatherings of each model in the plan, once per model."""
    for model in dict.fromkeys(t.model for t in tracks):
        cohorts = {t.cohort.key for t in tracks if t.model == model and t.cohort}
        plan = round_def.models[model]
        items: list[PlanActivity | Gathering] = [*plan.activities, *plan.gatherings]
        for item in items:
            if item.for_cohorts and not cohorts.intersection(item.for_cohorts):
                continue
            yield _dated_item(round_def, model, item, municipality)


def _dated_item(
    round_def: RoundDefinition,
    model: Model,
    item: PlanActivity | Gathering,
    municipality: str | None,
) -> PlanEvent:
    firm = item.firm
    start: date | datetime
    end: date | datetime
    if item.month is not None:
        year, month_no = (int(part) for part in item.month.split("-"))
        start = date(year, month_no, 1)
        end = date(year, month_no, _stdlib_calendar.monthrange(year, month_no)[1])
        firm = False
    else:
        assert item.start is not None
        start = item.start
        end = item.end or item.start
    timed = isinstance(start, datetime)
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = start.astimezone(OSLO), end.astimezone(OSLO)
    kind: EventKind = "activity" if isinstance(item, PlanActivity) else item.kind
    return PlanEvent(
        kind=kind,
        title=item.title,
        title_nn=item.title_nn,
        start=start,
        end=end,
        all_day=not timed,
        nominal=None,
        firm=firm,
        responsible=item.responsible,
        municipality=municipality,
        model=model,
        source=item.source,
        key=_key(round_def, kind, model, item.key, municipality),
        note=item.note,
        audience=item.audience if isinstance(item, Gathering) else (),
        before_go_live=isinstance(item, PlanActivity) and item.before_go_live,
        month_only=item.month is not None,
    )


def _report_deadlines(
    round_def: RoundDefinition, tracks: Sequence[_Track], municipality: str | None
) -> Iterable[PlanEvent]:
    """The annual report (årsrapport) for each calendar year of participation (design decision
    **D**)."""
    rule = round_def.annual_report
    first = min(t.participation_start.date for t in tracks)
    for year in range(first.year, round_def.milestones.effective_end.year + 1):
        due = DatedFact(date=date(year + 1, rule.due_month, rule.due_day), source=rule.source)
        yield _event(
            round_def,
            "report_deadline",
            f"Frist for årsrapport {year}",
            due,
            municipality=municipality,
            responsible="municipality",
            scope=str(year),
            title_nn=report_deadline_nn(year),
        )


def _payout_runs(
    round_def: RoundDefinition, tracks: Sequence[_Track], municipality: str | None
) -> Iterable[PlanEvent]:
    """Quarterly payout runs from the first participation quarter to the one after the end.

    The run after the last quarter settles that quarter's activity-based financing (
    **D**: each run settles ABF for the quarter just ended).
    """
    rule = round_def.payout
    year, quarter = quarter_of(min(t.participation_start.date for t in tracks))
    last_year, last_quarter = quarter_of(round_def.milestones.effective_end + timedelta(days=92))
    while (year, quarter) <= (last_year, last_quarter):
        day = nth_working_day_of_month(year, 3 * quarter - 2, rule.working_day)
        at = oslo_datetime(day, rule.at)
        label = quarter_label(year, quarter)
        yield PlanEvent(
            kind="payout_run",
            title=f"Utbetaling {label}",
            title_nn=payout_run_nn(label),
            start=at,
            end=at,
            all_day=False,
            nominal=None,
            firm=True,
            responsible="directorate",
            municipality=municipality,
            model=None,
            source=rule.source,
            key=_key(round_def, "payout_run", None, label, municipality),
        )
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
