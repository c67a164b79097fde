"""The cooperation agreement keeps seed 000's wording and dates, with the municipality filled in."""

from __future__ import annotations

import re

import pytest

from tasks.documents.agreement_text import agreement_attachment, agreement_text


def test_model_a_agreement_has_every_section_and_its_bilag_1_rows() -> None:
    text = agreement_text("A", municipality="Stjørdal")

    for heading in (
        "1. SAMARBEIDSAVTALE I MODELL A",
        "1.1 Bakgrunn",
        "1.2 Forholdet til lovverket",
        "1.3 Varighet og avvikling",
        "1.4 Partenes samhandling - plikter og oppgaver i forsøksperioden",
        "1.5 Kommunikasjon",
        "1.6 Uenigheter og tvister",
        "BILAG 1 - Opplærings- og oppfølgingsplan - modell A",
    ):
        assert f"\n{heading}\n" in text
    rows = re.findall(r"^(\d+)\.? +\S", text.split("BILAG 1")[1], flags=re.MULTILINE)
    assert rows == ["1", "2", "3", "4", "5", "6", "7", "8", "10", "11", "12"]
    assert "oppstart 1.5.2016 (Oppstartstidspunktet) og varer til 30.4.2019" in text
    assert "inntil kroner 40.000 - førti tusen -" in text  # seed 000 §1.4
    assert "SAMARBEIDSAVTALE MODELL B" not in text


def test_model_b_agreement_has_its_own_sections_and_plan() -> None:
    text = agreement_text("B", municipality="Selbu")

    for heading in ("2.1 Bakgrunn", "2.2 Varighet og avvikling", "2.4 Uenigheter og tvister"):
        assert f"\n{heading}\n" in text
    assert (
        "Kommunen skal rapportere til Helsedirektoratet i henhold til tilskuddsregelverket." in text
    )
    assert "BILAG 1 - Oppfølgingsplan - modell B" in text
    assert "Fjerde statusmøte med rapportering om forsøket" in text
    assert "1.4 Partenes samhandling" not in text


@pytest.mark.parametrize("model", ["A", "B"])
def test_the_municipality_is_filled_in_everywhere(model: str) -> None:
    text = agreement_text(model, municipality="Os (Hordaland)")  # type: ignore[arg-type]

    assert "[" not in text and "]" not in text
    assert "Os kommune («Kommunen»)" in text or 'Os kommune ("Kommunen")' in text
    assert text.count("Os kommune") >= 3  # title page, §x.1, signature
    assert "Hordaland" not in text


def test_the_attachment_is_a_pdf_named_for_round_model_and_number() -> None:
    attachment = agreement_attachment("A", municipality="Stjørdal", kommunenummer="1714")

    assert attachment.filename == "samarbeidsavtale-sio-2016-modell-A-1714.pdf"
    assert attachment.mimetype == "application/pdf"
    assert attachment.content.startswith(b"%PDF-")


@pytest.mark.parametrize("model", ["A", "B"])
def test_the_text_names_the_evaluator_and_has_no_placeholder_or_typo(model: str) -> None:
    text = agreement_text(model, municipality="Stjørdal")  # type: ignore[arg-type]

    assert "avtale med Agenda Kaupang AS i samarbeid med Proba samfunnsanalyse om" in text
    assert "…" not in text and " ect " not in text and "samlinger etc. fra" in text


def test_there_is_no_model_c() -> None:
    with pytest.raises(ValueError, match="model A and model B"):
        agreement_text("C", municipality="Stjørdal")  # type: ignore[arg-type]
