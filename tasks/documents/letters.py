"""Formal letters as PDF (brev og vedtak) with the directorate's letterhead.

Why a PDF beside the e-mail: a decision (vedtak) and a reminder of a duty are letters from a state
body; they carry the letterhead block of seed 004 («Helsedirektoratet - Divisjon
primærhelsetjenester, Avdeling omsorgstjenester, Postboks 7000 St. Olavs plass, 0130 Oslo …»), the
references «Deres ref. / Vår ref. / Saksbehandler / Dato», the recipient's address and a named
case officer, and a decision states who decided and when, and a rejection the reason and the
right to appeal: three weeks (forvaltningsloven §§ 24–29). The e-mail body stays short plain text.

The letter's own words are the e-mail template's body (``tasks/mail/templates/nb|nn``), laid out by
``tasks/mail/templates/documents/letter.html.j2`` with the formalities of
``documents/<nb|nn>/sections.html.j2``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sio_domain.norwegian_calendar import OSLO
from sio_domain.postal_addresses import postal_address
from sio_domain.round_letters import APPEAL_WEEKS, RoundLetters
from sio_domain.statement_wording import SUM_LABEL, column_header, component_name
from sio_domain.written_standard import WrittenStandard, long_date, short_date
from tasks.documents.pdf_rendering import document_content, document_file, render_html

FORMAL_KINDS: tuple[str, ...] = (
    "decision_offer",
    "decision_rejection",
    "agreement",
    "agreement_reminder",
    "reply_reminder",
    "report_reminder",
    "activity_reminder",
    "payout_statement",
)
"""Kinds sent as a formal letter: decisions, the agreement cover, duty reminders, statements."""

PDF_MIMETYPE = "application/pdf"
_FILE_STEMS = {
    "decision_offer": "vedtak",
    "decision_rejection": "vedtak",
    "agreement": "folgebrev-samarbeidsavtale",
    "agreement_reminder": "paminning-samarbeidsavtale",
    "reply_reminder": "paminning-svarfrist",
    "report_reminder": "paminning-arsrapport",
    "activity_reminder": "paminning-aktivitet",
    "payout_statement": "utbetalingsbrev",
}
DECIDING_BODIES = {
    "ministry": "Helse- og omsorgsdepartementet",
    "directorate": "Helsedirektoratet",
    "parliament": "Stortinget",
}
"""The round file's ``selection_decided_by`` (and the selection file's ``decided_by``) → name."""

LETTERHEAD: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "name": "Helsedirektoratet - Divisjon primærhelsetjenester",
        "department": "Avdeling omsorgstjenester",
        "postal": "Postboks 7000 St. Olavs plass, 0130 Oslo",
        "visiting": "Besøksadresse: Universitetsgata 2, Oslo",
        "phone": "810 20 050",
        "org": "983 544 622",
        "email": "postmottak@helsedir.no",
        "web": "www.helsedirektoratet.no",
    },
    "nynorsk": {
        "name": "Helsedirektoratet - Divisjon primærhelsetenester",
        "department": "Avdeling omsorgstenester",
        "postal": "Postboks 7000 St. Olavs plass, 0130 Oslo",
        "visiting": "Besøksadresse: Universitetsgata 2, Oslo",
        "phone": "810 20 050",
        "org": "983 544 622",
        "email": "postmottak@helsedir.no",
        "web": "www.helsedirektoratet.no",
    },
}
"""Seed 004's letterhead block; the nynorsk names of the division and department."""

WORDS: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "their_ref": "Deres ref.:",
        "our_ref": "Vår ref.:",
        "officer": "Saksbehandler:",
        "date": "Dato:",
        "regards": "Med hilsen",
        "approved": "Dokumentet er godkjent elektronisk.",
        "page": "Side",
        "of": "av",
        "weeks": "tre",
    },
    "nynorsk": {
        "their_ref": "Dykkar ref.:",
        "our_ref": "Vår ref.:",
        "officer": "Sakshandsamar:",
        "date": "Dato:",
        "regards": "Med helsing",
        "approved": "Dokumentet er godkjent elektronisk.",
        "page": "Side",
        "of": "av",
        "weeks": "tre",
    },
}
REJECTION_REASONS: dict[WrittenStandard, dict[str, str]] = {
    "bokmål": {
        "capacity": "Forsøket har plass til et begrenset antall kommuner, og {kommune} er ikke "
        "blant dem som er valgt ut.",
        "criteria_not_met": "Søknaden oppfyller ikke kriteriene for deltakelse i forsøket.",
        "late": "Søknaden kom inn etter søknadsfristen.",
    },
    "nynorsk": {
        "capacity": "Forsøket har plass til eit avgrensa tal kommunar, og {kommune} er ikkje "
        "mellom dei som er valde ut.",
        "criteria_not_met": "Søknaden oppfyller ikkje kriteria for å delta i forsøket.",
        "late": "Søknaden kom inn etter søknadsfristen.",
    },
}
"""Reason codes a caller may pass as ``reason`` (D: capacity when none is given); other text is
the reason as written."""


@dataclass(frozen=True)
class LetterPdf:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


def is_formal(kind: str) -> bool:
    """True for kinds that go out as a formal letter with a PDF."""
    return kind in FORMAL_KINDS


def letter_pdf(
    kind: str,
    standard: WrittenStandard,
    *,
    subject: str,
    body: str,
    context: Mapping[str, Any],
) -> LetterPdf:
    """The formal letter of ``kind`` as PDF: letterhead, references, address, body, formalities.

    ``body`` is the letter's text as the e-mail template wrote it (without signature). Optional
    context: ``round_def`` or ``letters`` and ``round_id`` (letterhead values, case reference),
    ``kommunenummer``, ``address`` (lines), ``letter_date``, ``their_reference``,
    ``decided_by``/``decided_on``, ``reason``, ``model_title``, ``lines`` (a statement's lines).
    """
    letters, round_id = _letters(context)
    number = context.get("kommunenummer")
    name = _kommune(str(context.get("municipality", "")))
    reference = context.get("case_reference") or (
        letters.case_reference(round_id, number) if round_id and number else number or ""
    )
    folder = "nb" if standard == "bokmål" else "nn"
    html = render_html(
        "letter.html.j2",
        lang="nb" if standard == "bokmål" else "nn",
        folder=folder,
        kind=kind,
        subject=subject,
        words=WORDS[standard],
        head=LETTERHEAD[standard],
        officer={
            "name": letters.case_officer,
            "phone": letters.case_officer_phone,
            "title": _title(standard, letters.case_officer_title, letters.case_officer_title_nn),
        },
        signed_by={
            "name": letters.signed_by,
            "title": _title(standard, letters.signed_by_title, letters.signed_by_title_nn),
        },
        recipient=_recipient(name, number, context),
        their_ref=context.get("their_reference"),
        our_ref=reference,
        letter_date=short_date(_letter_date(context)),
        blocks=_blocks(body),
        lines=_statement_lines(context.get("lines"), standard),
        kommune=name,
        model_title=_lower_first(_model_title(context, standard)),
        decided_by=_decided_by(context),
        decided_on=_date_text(context.get("decided_on")),
        reason=_reason(context.get("reason"), standard, name),
        appeal_weeks_text=WORDS[standard]["weeks"] if APPEAL_WEEKS == 3 else str(APPEAL_WEEKS),
        appeal_body=letters.appeal_body,
        appeal_sent_to=letters.appeal_sent_to,
    )
    parts = (_FILE_STEMS[kind], round_id, context.get("run"), number)
    stem = "-".join(str(part) for part in parts if part)
    filename, mimetype = document_file(stem)
    return LetterPdf(filename, document_content(html), mimetype)


def _letters(context: Mapping[str, Any]) -> tuple[RoundLetters, str | None]:
    round_def = context.get("round_def")
    letters = context.get("letters") or (round_def.letters if round_def else RoundLetters())
    round_id = context.get("round_id") or (round_def.id if round_def else None)
    return letters, round_id


def _title(standard: WrittenStandard, bokmal: str, nynorsk: str) -> str:
    text = nynorsk if standard == "nynorsk" else bokmal
    return text[:1].upper() + text[1:]


def _kommune(registry_name: str) -> str:
    from tasks.mail.mail_templates import kommune

    return kommune(registry_name) if registry_name else ""


def _recipient(name: str, number: str | None, context: Mapping[str, Any]) -> list[str]:
    lines = [name] if name else []
    if context.get("attention"):
        lines.append(f"v/ {context['attention']}")
    address = context.get("address")
    lines.extend(address if address else postal_address(number))
    return lines


def _letter_date(context: Mapping[str, Any]) -> date:
    value = context.get("letter_date")
    if isinstance(value, datetime):
        return value.astimezone(OSLO).date()
    if isinstance(value, date):
        return value
    return datetime.now(OSLO).date()


def _date_text(value: object) -> str | None:
    if isinstance(value, datetime):
        return long_date(value.astimezone(OSLO).date())
    if isinstance(value, date):
        return long_date(value)
    return str(value) if value else None


def _decided_by(context: Mapping[str, Any]) -> str | None:
    value = context.get("decided_by")
    round_def = context.get("round_def")
    if not value and round_def is not None:
        value = round_def.selection_decided_by
    return DECIDING_BODIES.get(str(value), str(value)) if value else None


def _model_title(context: Mapping[str, Any], standard: WrittenStandard) -> str | None:
    title = context.get("model_title")
    if standard == "nynorsk" and context.get("model_title_nn"):
        title = context["model_title_nn"]
    round_def, model = context.get("round_def"), context.get("model")
    if round_def is not None and model in getattr(round_def, "models", {}):
        plan = round_def.models[model]
        title = (plan.title_nn if standard == "nynorsk" else None) or title or plan.title
    return str(title) if title else None


def _lower_first(text: str | None) -> str | None:
    return text[:1].lower() + text[1:] if text else text


def _reason(value: object, standard: WrittenStandard, name: str) -> str:
    text = str(value) if value else "capacity"
    template = REJECTION_REASONS[standard].get(text)
    return template.format(kommune=name) if template else text


_LIST_ITEM = re.compile(r"^- ")


def _blocks(body: str) -> list[dict[str, Any]]:
    """The body's paragraphs: plain, a bulleted list (``- ``) or an indented block (two spaces).

    The first paragraph «Til … kommune» is left out: the address block names the recipient.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    if paragraphs and paragraphs[0].startswith("Til "):
        paragraphs = paragraphs[1:]
    blocks: list[dict[str, Any]] = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if all(_LIST_ITEM.match(line) for line in lines):
            blocks.append({"kind": "list", "parts": [line[2:] for line in lines]})
        elif all(line.startswith("  ") for line in lines):
            blocks.append({"kind": "indented", "parts": [line.strip() for line in lines]})
        else:
            text_lines = [line.strip() for line in lines]
            if len(text_lines) > 1 and _LIST_ITEM.match(text_lines[-1]):
                head = [line for line in text_lines if not _LIST_ITEM.match(line)]
                items = [line[2:] for line in text_lines if _LIST_ITEM.match(line)]
                blocks.append({"kind": "paragraph", "parts": head})
                blocks.append({"kind": "list", "parts": items})
            else:
                blocks.append({"kind": "paragraph", "parts": text_lines})
    return blocks


def _statement_lines(lines: Sequence[Any] | None, standard: WrittenStandard) -> dict[str, Any]:
    """A payout statement's lines as a table: period, component, amount (Norwegian names)."""
    if not lines:
        return {}
    total = sum((line.amount for line in lines), Decimal("0"))
    return {
        "headers": [column_header(c, standard) for c in ("period", "component", "amount")],
        "rows": [
            [line.period, component_name(line.component, standard), _amount(line.amount)]
            for line in lines
        ],
        "sum_label": SUM_LABEL[standard],
        "total": _amount(total),
    }


def _amount(value: Decimal) -> str:
    """``6 250 000,00``: space between thousands, decimal comma (Norwegian)."""
    whole, _, ore = f"{abs(value):,.2f}".partition(".")
    return f"{'-' if value < 0 else ''}{whole.replace(',', ' ')},{ore}"
