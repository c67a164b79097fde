"""The texts of sio's e-mails, in bokmål and nynorsk (jinja2 templates in
``tasks/mail/templates/``).

Why two full sets of templates and not one text with swapped words: a state body writes to a
municipality in the written standard the municipality has chosen (the Language Act, språklova;
 "Written standard"), and bokmål and nynorsk differ in more than single words. Each kind
has ``tasks/mail/templates/nb/<kind>.txt.j2`` and ``tasks/mail/templates/nn/<kind>.txt.j2``; both
extend that standard's ``_letter.txt.j2`` (the signature) and define a ``subject`` and a
``body`` block.
Text is plain (``text/plain``), so autoescaping is off. A variable the template needs but the
caller did not give is an error, never a silently empty gap in a letter.

Context each kind expects (dates are ``date`` or aware ``datetime``; ``municipality`` is the
registry name, e.g. "Os (Hordaland)", written "Os kommune"; ``findings`` are
``sio_domain.application_criteria`` codes or their stored ``code: text`` lines; a context may carry
more than a kind uses):

| kind | context |
|---|---|
| application_reminder | municipality, deadline |
| application_received | municipality, received_at, late, findings, deadline |
| decision_offer | municipality, model, go_live, end, agreement_deadline=None, reply_deadline=None |
| decision_rejection | municipality, reason=None |
| agreement | municipality, model, filename, agreement_deadline=None |
| agreement_reminder | municipality, agreement_deadline |
| reply_reminder | municipality, reply_deadline |
| activity_reminder | municipality, activity, due, row=None (Bilag 1 row number) |
| report_reminder | municipality, year, deadline |
| gathering_invitation | title, start, end, municipality=None, location=None, firm, moved=False, |
| | month_only=False (the plan knows only the month: "oktober 2016") |
| gathering_reminder | title, start, end, municipality=None, location=None, month_only=False |
| meeting_invitation | municipality, title, start, end, location=None, firm=False, moved=False |
| meeting_reminder | municipality, title, start, end, location=None |
| meeting_cancellation, gathering_cancellation | municipality, title, start, end |
| readiness_alert | municipality, go_live, missing (items with title and due) |
| selection_awaiting | round_id, round_title, applicants (count or list), run_url, deadline/None |
| payout_statement | municipality, run, total, filenames |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, get_args

import jinja2

from sio_domain.norwegian_calendar import OSLO
from sio_domain.written_standard import (
    MONTHS,
    WrittenStandard,
    clock,
    long_date,
    long_date_with_weekday,
)

if TYPE_CHECKING:
    from tasks.mail.outbox import Attachment

KINDS: tuple[str, ...] = (
    "application_reminder",
    "application_received",
    "decision_offer",
    "decision_rejection",
    "agreement",
    "agreement_reminder",
    "reply_reminder",
    "activity_reminder",
    "report_reminder",
    "gathering_invitation",
    "gathering_reminder",
    "meeting_invitation",
    "meeting_reminder",
    "meeting_cancellation",
    "gathering_cancellation",
    "readiness_alert",
    "selection_awaiting",
    "payout_statement",
)
_FOLDER: dict[str, str] = {"bokmål": "nb", "nynorsk": "nn"}  # ISO 639-1 codes, ASCII paths
_DISAMBIGUATION = re.compile(r"\s*\([^)]*\)\s*$")


class MailTemplateError(ValueError):
    """A message could not be written: unknown kind or standard, or missing context."""


@dataclass(frozen=True)
class RenderedMail:
    """A message's subject (one line) and plain-text body, signature included.

    ``attachments`` holds the formal letter as PDF for the kinds that are letters from the
    directorate (``tasks.documents.letters.FORMAL_KINDS``): whoever queues the mail attaches them.
    """

    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


def render_mail(kind: str, standard: WrittenStandard, **context: Any) -> RenderedMail:
    """Write message ``kind`` in ``standard`` from ``context`` (see the module's table)."""
    if kind not in KINDS:
        raise MailTemplateError(f"unknown mail kind {kind!r}; known: {', '.join(KINDS)}")
    if standard not in get_args(WrittenStandard):
        raise MailTemplateError(f"unknown written standard {standard!r}: bokmål or nynorsk")
    if "model" in context and context["model"] not in ("A", "B"):
        raise MailTemplateError(f"{kind}: model must be 'A' or 'B', not {context['model']!r}")
    template = _environment().get_template(f"{_FOLDER[standard]}/{kind}.txt.j2")
    values = {"standard": standard, **in_standard(context, standard)}
    try:
        subject = " ".join(
            "".join(template.blocks["subject"](template.new_context(values))).split()
        )
        body = template.render(values)
        letter = "".join(template.blocks["body"](template.new_context(values)))
    except jinja2.UndefinedError as error:
        raise MailTemplateError(f"{kind} ({standard}): {error.message}") from None
    return RenderedMail(
        subject=subject,
        body=_tidy(body),
        attachments=_letter_attachments(kind, standard, subject, _tidy(letter), values),
    )


def _letter_attachments(
    kind: str, standard: WrittenStandard, subject: str, letter: str, values: Mapping[str, Any]
) -> tuple[Attachment, ...]:
    """The formal letter as PDF (letterhead, references, formalities) for the formal kinds."""
    from tasks.documents.letters import is_formal, letter_pdf
    from tasks.mail.outbox import Attachment

    if not is_formal(kind) or values.get("pdf") is False:
        return ()
    pdf = letter_pdf(kind, standard, subject=subject, body=letter, context=values)
    return (Attachment(pdf.filename, pdf.mimetype, pdf.content),)


def in_standard(context: Mapping[str, Any], standard: WrittenStandard) -> dict[str, Any]:
    """The context with each ``<key>_nn`` value standing for ``<key>`` in a nynorsk letter.

    Plan titles, round titles and activity names come from round files in both standards
    (``title``/``title_nn``); a caller passes both and the letter takes its municipality's.
    """
    values = dict(context)
    if standard == "nynorsk":
        for key, value in context.items():
            if key.endswith("_nn") and value:
                values[key.removesuffix("_nn")] = value
    return values


def municipality_name(registry_name: str) -> str:
    """The name as written in a letter: "Os (Hordaland)" → "Os" (the bracket only disambiguates)."""
    return _DISAMBIGUATION.sub("", registry_name).strip()


def kommune(registry_name: str) -> str:
    """ "Os (Hordaland)" → "Os kommune", the form used to address the municipality."""
    return f"{municipality_name(registry_name)} kommune"


def kroner(amount: Decimal | int | str) -> str:
    """``6250000`` → ``6 250 000,00 kroner``: space between thousands, decimal comma."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, _, ore = f"{abs(value):,.2f}".partition(".")
    sign = "-" if value < 0 else ""
    return f"{sign}{whole.replace(',', ' ')},{ore} kroner"


def quarter(period: str) -> str:
    """``2017Q2`` → ``2. kvartal 2017`` (the same in both standards)."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", period)
    if match is None:
        raise MailTemplateError(f"{period!r} is not a quarter like 2017Q2")
    return f"{match[2]}. kvartal {match[1]}"


def _environment() -> jinja2.Environment:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("tasks.mail", "templates"),
            autoescape=False,  # text/plain: an "&" in a name must stay an "&"
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        environment.filters.update(
            date=_date_text,
            weekday_date=_weekday_date,
            clock=_clock,
            period=_period,
            month=_month,
            kommune=kommune,
            name=municipality_name,
            kroner=kroner,
            quarter=quarter,
        )
        _ENVIRONMENT = environment
    return _ENVIRONMENT


_ENVIRONMENT: jinja2.Environment | None = None


def _as_date(value: date | datetime) -> date:
    return value.astimezone(OSLO).date() if isinstance(value, datetime) else value


def _date_text(value: date | datetime) -> str:
    """``1. desember 2015``."""
    return long_date(_as_date(value))


def _month(value: date | datetime) -> str:
    """``oktober 2016``, for events only known to the month (the same in both standards)."""
    day = _as_date(value)
    return f"{MONTHS[day.month - 1]} {day.year}"


@jinja2.pass_context
def _weekday_date(context: Mapping[str, Any], value: date | datetime) -> str:
    """``tirsdag 1. desember 2015`` / ``tysdag 1. desember 2015``."""
    return long_date_with_weekday(_as_date(value), context["standard"])


def _clock(value: datetime) -> str:
    """``kl. 10.00`` in Europe/Oslo."""
    return clock(value)


@jinja2.pass_context
def _period(context: Mapping[str, Any], start: date | datetime, end: date | datetime) -> str:
    """When something happens, in words: one day with its hours, or a first and last day.

    ``tirsdag 14. juni 2016 kl. 10.00–11.30``; ``tirsdag 8. mars 2016 – onsdag 9. mars 2016``.
    """
    first, last = _as_date(start), _as_date(end)
    days = long_date_with_weekday(first, context["standard"])
    if first != last:
        days = f"{days} – {long_date_with_weekday(last, context['standard'])}"
    if isinstance(start, datetime) and isinstance(end, datetime):
        if first == last:
            return f"{days} {clock(start)}–{clock(end).removeprefix('kl. ')}"
        return f"{days} (start {clock(start)})"
    return days


def _tidy(body: str) -> str:
    """At most one blank line in a row, no trailing spaces, one final newline."""
    lines = [line.rstrip() for line in body.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"
