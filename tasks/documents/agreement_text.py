"""The cooperation agreement (samarbeidsavtale) sent to each selected municipality, with Bilag 1.

Why a PDF from the round's own text: it is the legal text the directorate and the municipality
sign in two copies, one each (seed 000), so it must print as a document: a title page, the
sections, the two signature fields (place/date and signatory) for each party, and Bilag 1 for the
model as a table. The round file names its agreement template (``[letters] agreement_template``;
``tasks/mail/templates/documents/agreement/<template>-<model>.html.j2``):

- round 2016: seed 000's agreements for model A (§1.1–1.6) and model B (§2.1–2.4) with their Bilag
  1 as written, except that the evaluator is named from the round file instead of the seed's
  placeholder «avtale med … om følgeevaluering» and the typo «ect» reads «etc.»;
- round 2019 (model A only, from 01.05.2019 or 01.07.2019 "ut 2022", seed 001) and round 2021
  (from 01.01.2021, ABF from 01.07.2021, seed 002): **design decision (D)** — the seeds hold no
  text for them, so each is the 2016 model A text adapted to its seed, and Bilag 1 is the
  round file's plan for the municipality's cohort.

**Decision:** the agreement stays in bokmål for every municipality: it is a contract text fixed in
that language; the covering letter (``agreement`` mail and its PDF) is in the municipality's
written standard and says so.
"""

from __future__ import annotations

from datetime import date, datetime
from importlib.resources import files
from typing import Any, Literal

import jinja2

from sio_domain.norwegian_calendar import OSLO
from sio_domain.round_definition import Gathering, PlanActivity, RoundDefinition
from sio_domain.written_standard import MONTHS, short_date
from tasks.mail.mail_templates import kommune
from tasks.mail.outbox import Attachment

Model = Literal["A", "B"]
AGREEMENT_MIMETYPE = "application/pdf"
TEXT_MIMETYPE = "text/plain; charset=UTF-8"
_RESPONSIBLE = {
    "municipality": "Kommunen",
    "directorate": "Helsedir",
    "both": "Kommunen i samarbeid med Helsedir",
}


class AgreementTemplateMissing(ValueError):
    """The round names no agreement text for this model."""


def _round(round_def: RoundDefinition | None) -> RoundDefinition:
    if round_def is not None:
        return round_def
    from tasks.intake.round_files import load_round

    return load_round("sio-2016")  # seed 000 is round 2016's agreement


def agreement_text(
    model: Model, *, municipality: str, round_def: RoundDefinition | None = None
) -> str:
    """Round 2016's agreement for ``model`` as plain text, the municipality and evaluator filled in.

    ``municipality`` is the registry name, e.g. "Os (Hordaland)".
    """
    if model not in ("A", "B"):
        raise ValueError(f"the agreement exists for model A and model B, not {model!r}")
    template = files("tasks.mail.templates").joinpath("agreement", f"modell-{model}.txt")
    text = template.read_text(encoding="utf-8")
    name = kommune(municipality)
    evaluator = _round(round_def).letters.evaluator or "følgeevaluator"
    return (
        text.replace("[navn] kommune", name)
        .replace("[Kommune]", name)
        .replace("avtale med … om følgeevaluering", f"avtale med {evaluator} om følgeevaluering")
        .replace("samlinger ect fra", "samlinger etc. fra")
    )


def agreement_filename(model: Model, kommunenummer: str, round_id: str | None = None) -> str:
    """``samarbeidsavtale-sio-2016-modell-A-1714.pdf``."""
    scope = f"{round_id}-" if round_id else ""
    return f"samarbeidsavtale-{scope}modell-{model}-{kommunenummer}.pdf"


def agreement_pdf(
    model: Model, *, municipality: str, kommunenummer: str, round_def: RoundDefinition
) -> bytes:
    """The round's agreement for ``model`` with this municipality, as a PDF for signing."""
    from tasks.documents.letters import WORDS
    from tasks.documents.pdf_rendering import document_content, document_environment

    if model not in round_def.models:
        raise AgreementTemplateMissing(f"round {round_def.id} has no model {model}")
    name = round_def.letters.agreement_template or round_def.id
    try:
        template = document_environment().get_template(f"agreement/{name}-{model}.html.j2")
    except jinja2.TemplateNotFound:
        raise AgreementTemplateMissing(
            f"round {round_def.id}: letters.agreement_template: no agreement text "
            f"{name!r} for model {model}"
        ) from None
    start, abf = _dates(round_def, model, kommunenummer)
    financing = round_def.financing
    html = template.render(
        kommune=kommune(municipality),
        kommunenummer=kommunenummer,
        model=model,
        round_title=round_def.title,
        evaluator=round_def.letters.evaluator or "følgeevaluator",
        participation_start=short_date(start),
        abf_start=short_date(abf) if abf else None,
        system_adaptation_max=f"{financing.system_adaptation_max:,.0f}".replace(",", "."),
        supplement_percent=f"{financing.supplement_rate * 100:.0f}",
        rows=plan_rows(round_def, model, kommunenummer),
        words=WORDS["bokmål"],
    )
    return document_content(html)


def agreement_attachment(
    model: Model,
    *,
    municipality: str,
    kommunenummer: str,
    round_def: RoundDefinition | None = None,
) -> Attachment:
    """The agreement as a PDF to attach to the ``agreement`` mail (round 2016 when not given)."""
    from tasks.documents.pdf_rendering import document_file

    definition = _round(round_def)
    stem = agreement_filename(model, kommunenummer, definition.id).removesuffix(".pdf")
    filename, mimetype = document_file(stem)
    return Attachment(
        filename=filename,
        mimetype=mimetype,
        content=agreement_pdf(
            model, municipality=municipality, kommunenummer=kommunenummer, round_def=definition
        ),
    )


def _dates(
    round_def: RoundDefinition, model: Model, kommunenummer: str
) -> tuple[date, date | None]:
    """Participation and ABF start for the municipality: cohort, then its override (seed 001)."""
    plan = round_def.models[model]
    cohort = round_def.cohort_of(kommunenummer)
    start = (cohort.participation_start if cohort else None) or plan.participation_start
    abf = (cohort.abf_start if cohort else None) or plan.abf_start
    override = round_def.override_for(kommunenummer)
    if override is not None:
        start = override.participation_start or start
        abf = override.abf_start or abf
    first = start.date if start else round_def.milestones.go_live.date
    return first, abf.date if abf else None


def plan_rows(round_def: RoundDefinition, model: Model, kommunenummer: str) -> list[dict[str, Any]]:
    """Bilag 1 from the round file: activities, gatherings, meeting phases and start dates.

    Used by the rounds whose agreement text has no Bilag 1 of its own (D); in date order.
    """
    plan = round_def.models[model]
    cohort = round_def.cohort_of(kommunenummer)
    dated: list[tuple[str, dict[str, Any]]] = []
    items: list[PlanActivity | Gathering] = [*plan.activities, *plan.gatherings]
    for item in items:
        if item.for_cohorts and (cohort is None or cohort.key not in item.for_cohorts):
            continue
        first, last = _span(item.start, item.end, item.month)
        dated.append(
            (
                first[0],
                {
                    "activity": item.title,
                    "start": first[1],
                    "end": last,
                    "responsible": _RESPONSIBLE[item.responsible],
                    "description": "",
                },
            )
        )
    meetings = (cohort.status_meetings if cohort else None) or plan.status_meetings
    for phase in meetings.phases if meetings else ():
        months = phase.month_list()
        cadence = "hver måned" if phase.every_months == 1 else f"hver {phase.every_months}. måned"
        dated.append(
            (
                months[0],
                {
                    "activity": "Statusmøte med rapportering om forsøket",
                    "start": _month_text(months[0]),
                    "end": _month_text(months[-1]),
                    "responsible": "Helsedir",
                    "description": f"Møte {cadence} via video. Tidspunkt avtales med den "
                    "enkelte kommune.",
                },
            )
        )
    start, abf = _dates(round_def, model, kommunenummer)
    dated.append(
        (start.isoformat(), {"milestone": "Oppstartstidspunkt", "date": short_date(start)})
    )
    if abf is not None and abf != start:
        dated.append(
            (
                abf.isoformat(),
                {"milestone": "Aktivitetsbasert finansiering starter", "date": short_date(abf)},
            )
        )
    rows = [row for _, row in sorted(dated, key=lambda pair: pair[0])]
    number = 0
    for row in rows:
        if "milestone" not in row:
            number += 1
            row["no"] = f"{number}."
    return rows


def _span(
    start: date | datetime | None, end: date | datetime | None, month: str | None
) -> tuple[tuple[str, str], str]:
    """((sort key, start text), end text) of a plan item: a month, a day or a first and last day."""
    if month is not None:
        return (month, _month_text(month)), ""
    assert start is not None
    first = _day(start)
    last = _day(end) if end is not None else first
    return (first.isoformat(), short_date(first)), short_date(last) if last != first else ""


def _day(value: date | datetime) -> date:
    return value.astimezone(OSLO).date() if isinstance(value, datetime) else value


def _month_text(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{MONTHS[number - 1].capitalize()} {year}"
