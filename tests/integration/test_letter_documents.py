"""Formal letters arrive as PDF letters a state body sends, read back with poppler's pdftotext.

A decision (vedtak) carries the letterhead, the case reference, date and case officer, says who
decided and when; a rejection gives the reason and the right to appeal within three weeks
(forvaltningsloven §§ 24–29). Reminders of a duty and statements are letters too.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.documents.letters import FORMAL_KINDS
from tasks.intake.round_files import load_round
from tasks.mail.mail_templates import KINDS, render_mail
from tasks.payouts.ledger import LedgerLine
from tests.support.bokmal_forms import bokmal_forms
from tests.support.document_clients import pdf_pages, pdf_text, require_document_clients
from tests.unit.test_mail_templates import CONTEXTS

R2016 = load_round("sio-2016")


@pytest.fixture(autouse=True)
def clients() -> None:
    require_document_clients()


def _text(kind: str, standard: str, tmp_path: Path, **context: object) -> tuple[str, int]:
    mail = render_mail(kind, standard, **(CONTEXTS[kind] | context))  # type: ignore[arg-type]
    assert [a.mimetype for a in mail.attachments] == ["application/pdf"]
    pdf = mail.attachments[0].content
    return pdf_text(pdf, tmp_path), pdf_pages(pdf, tmp_path)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_rejection_gives_reason_appeal_right_deadline_and_appeal_body(tmp_path: Path) -> None:
    text, pages = _text(
        "decision_rejection", "nynorsk", tmp_path,
        kommunenummer="1243", round_def=R2016, decided_by="ministry",
        decided_on=date(2016, 1, 14), letter_date=date(2016, 1, 15), reason="late",
    )  # fmt: skip
    flat = _flat(text)
    assert pages == 1
    for expected in (
        "Helsedirektoratet - Divisjon primærhelsetenester",
        "Postboks 7000 St. Olavs plass, 0130 Oslo",
        "Os kommune", "Torggata 7", "5200 Os",
        "Vår ref.: 2016/1243", "Sakshandsamar: Kirsten Petersen", "Dato: 15.01.2016",
        "Vedtaket er gjort av Helse- og omsorgsdepartementet 14. januar 2016",
        "Grunngiving", "Søknaden kom inn etter søknadsfristen.",
        "Klagefristen er tre veker", "forvaltningslova § 29",
        "Klaga skal sendast til Helse- og omsorgsdepartementet",
        "Kongen i statsråd er klageinstans",
    ):  # fmt: skip
        assert expected in flat, expected
    assert bokmal_forms(text) == []


def test_a_rejection_without_a_reason_names_the_trials_capacity(tmp_path: Path) -> None:
    text, _ = _text(
        "decision_rejection", "bokmål", tmp_path, kommunenummer="1714", round_id="sio-2019",
        letters=load_round("sio-2019").letters, decided_by="directorate",
        decided_on=date(2019, 1, 31),
    )  # fmt: skip
    flat = _flat(text)
    assert "Forsøket har plass til et begrenset antall kommuner" in flat
    assert "Vedtaket er gjort av Helsedirektoratet 31. januar 2019" in flat
    assert "Klagefristen er tre uker" in flat and "forvaltningsloven § 29" in flat
    assert "Klagen sendes til Helsedirektoratet" in flat
    assert "Helse- og omsorgsdepartementet er klageinstans" in flat
    assert "Vår ref.: 2019/1714" in flat and "Postboks 133" in flat


def test_an_offer_says_who_decided_and_when_and_has_no_appeal_section(tmp_path: Path) -> None:
    text, pages = _text(
        "decision_offer", "bokmål", tmp_path, municipality="Stjørdal", kommunenummer="1714",
        round_def=R2016, decided_by="ministry", decided_on=date(2016, 1, 14),
    )  # fmt: skip
    flat = _flat(text)
    assert pages == 1
    assert "Vedtaket er gjort av Helse- og omsorgsdepartementet 14. januar 2016" in flat
    assert "modell A – statlige tildelingskriterier og statlig prismodell" in flat
    assert "Klagefristen" not in flat and "Stjørdal kommune" in flat


@pytest.mark.parametrize("standard", ["bokmål", "nynorsk"])
@pytest.mark.parametrize("kind", FORMAL_KINDS)
def test_every_formal_letter_is_a_pdf_with_letterhead_and_references(
    kind: str, standard: str, tmp_path: Path
) -> None:
    text, pages = _text(kind, standard, tmp_path, kommunenummer="1243", round_def=R2016)
    flat = _flat(text)
    assert pages == 1
    assert "Vår ref.: 2016/1243" in flat and "Kirsten Petersen" in flat
    assert "Helsedirektoratet - Divisjon" in flat and "0130 Oslo" in flat
    assert ("Deres ref." if standard == "bokmål" else "Dykkar ref.") in flat
    if standard == "nynorsk":
        assert bokmal_forms(text) == []


def test_informal_messages_have_no_letter() -> None:
    for kind in set(KINDS) - set(FORMAL_KINDS):
        assert render_mail(kind, "bokmål", **CONTEXTS[kind]).attachments == ()


def test_a_payout_letter_lists_the_lines_with_norwegian_names_and_the_total(
    tmp_path: Path,
) -> None:
    lines = [
        LedgerLine("1243", "Os", "A", "2017Q2", "2017Q2", c, Decimal(a), None, "k")
        for c, a in (("lump_sum", "1234567.89"), ("income_supplement", "1000.11"))
    ]
    text, _ = _text(
        "payout_statement", "nynorsk", tmp_path, kommunenummer="1243", round_id="sio-2016",
        lines=lines, attention="økonomiansvarleg",
    )  # fmt: skip
    flat = _flat(text)
    assert "rundsumtilskot" in flat and "inntektspåslag" in flat
    assert "1 234 567,89" in flat and "Sum 1 235 568,00" in flat
    assert "v/ økonomiansvarleg" in flat
