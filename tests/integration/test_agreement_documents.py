"""The agreement for signing: the round's own text as a PDF, read back with pdftotext.

Round 2016 is seed 000's text for model A and model B, with the evaluator named and «ect» read as
«etc.»; rounds 2019 and 2021 are the model A text adapted to seeds 001 and 002 (D). Each has
Bilag 1 as a table and two signature fields (place/date, signatory) for each party.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.documents.agreement_text import (
    AgreementTemplateMissing,
    agreement_attachment,
    agreement_pdf,
)
from tasks.intake.round_files import load_round
from tests.support.document_clients import pdf_text, require_document_clients


@pytest.fixture(autouse=True)
def clients() -> None:
    require_document_clients()


def _text(round_id: str, model: str, number: str, name: str, tmp_path: Path) -> str:
    pdf = agreement_pdf(
        model,  # type: ignore[arg-type]
        municipality=name,
        kommunenummer=number,
        round_def=load_round(round_id),
    )
    return " ".join(pdf_text(pdf, tmp_path).split())


@pytest.mark.parametrize(
    ("round_id", "model", "number", "name", "evaluator", "bilag_rows"),
    [
        ("sio-2016", "A", "1714", "Stjørdal", "Agenda Kaupang AS", ["Prosjektleder", "Revidering"]),
        ("sio-2016", "B", "1664", "Selbu", "Agenda Kaupang AS", ["Fjerde", "Avslutningstidspunkt"]),
        ("sio-2019", "A", "1241", "Fusa", "SINTEF", ["EPJ-system", "Oppstartstidspunkt"]),
        ("sio-2021", "A", "4203", "Arendal", "SINTEF", ["Tilrettelegge", "Digitalt"]),
    ],
)
def test_each_rounds_agreement_is_complete_and_ready_to_sign(
    round_id: str, model: str, number: str, name: str, evaluator: str, bilag_rows: list[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    text = _text(round_id, model, number, name, tmp_path)
    assert f"Samarbeidsavtale mellom staten v/Helsedirektoratet og {name} kommune" in text
    assert f"Modell {model}" in text
    assert f"avtale med {evaluator}" in text
    assert "…" not in text and " ect " not in text and "[" not in text
    assert "BILAG 1" in text and all(row in text for row in bilag_rows)
    assert text.count("Sted/dato") == 2
    assert "for Helsedirektoratet" in text and f"for {name} kommune" in text
    assert "2 - to - signerte eksemplarer" in text


def test_round_2016_keeps_seed_000s_dates_and_sections(tmp_path: Path) -> None:
    text = _text("sio-2016", "A", "1714", "Stjørdal", tmp_path)
    assert "oppstart 1.5.2016 (Oppstartstidspunktet) og varer til 30.4.2019" in text
    assert "1.6 Uenigheter og tvister" in text and "inntil kroner 40.000 - førti tusen -" in text
    assert "samlinger etc. fra år 2" in text


def test_round_2019_gives_each_cohort_its_own_start(tmp_path: Path) -> None:
    joining = _text("sio-2019", "A", "1241", "Fusa", tmp_path)
    assert "fra 01.07.2019 (Oppstartstidspunktet) og ut 2022" in joining
    assert "implementeres fra 01.01.2020" in joining
    continuing = _text("sio-2019", "A", "5035", "Stjørdal", tmp_path)
    assert "fra 01.05.2019 (Oppstartstidspunktet) og ut 2022" in continuing
    assert "implementeres fra" not in continuing
    indre = _text("sio-2019", "A", "3014", "Indre Østfold", tmp_path)
    assert "01.01.2021" in indre  # ABF postponed for Indre Østfold (round file override)


def test_round_2021_starts_in_january_with_abf_from_july(tmp_path: Path) -> None:
    text = _text("sio-2021", "A", "4203", "Arendal", tmp_path)
    assert "fra 01.01.2021 (Oppstartstidspunktet)" in text
    assert "starter opp 01.07.2021" in text and "Stortinget" in text


def test_a_round_without_that_model_or_text_is_refused_in_one_line() -> None:
    with pytest.raises(AgreementTemplateMissing, match="round sio-2019 has no model B"):
        agreement_pdf(
            "B", municipality="Selbu", kommunenummer="5032", round_def=load_round("sio-2019")
        )
    other = load_round("sio-2016").model_copy(
        update={
            "letters": load_round("sio-2016").letters.model_copy(update={"agreement_template": "x"})
        }
    )
    with pytest.raises(AgreementTemplateMissing, match="letters.agreement_template"):
        agreement_pdf("A", municipality="Os", kommunenummer="1243", round_def=other)


def test_the_attachment_defaults_to_round_2016() -> None:
    attachment = agreement_attachment("B", municipality="Selbu", kommunenummer="1664")
    assert attachment.filename == "samarbeidsavtale-sio-2016-modell-B-1664.pdf"
