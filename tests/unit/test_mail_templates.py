"""Every letter exists in bokmål and nynorsk, with Norwegian dates, and refuses missing facts."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tasks.mail.mail_templates import (
    KINDS,
    MailTemplateError,
    kommune,
    kroner,
    municipality_name,
    quarter,
    render_mail,
)

OSLO = ZoneInfo("Europe/Oslo")
MEETING = datetime(2016, 6, 14, 10, 0, tzinfo=OSLO)
MEETING_END = datetime(2016, 6, 14, 11, 30, tzinfo=OSLO)
DEADLINE = date(2015, 12, 1)  # a Tuesday: tirsdag / tysdag

CONTEXTS: dict[str, dict[str, Any]] = {
    "application_reminder": {"municipality": "Os (Hordaland)", "deadline": DEADLINE},
    "application_received": {
        "municipality": "Os (Hordaland)",
        "received_at": datetime(2015, 12, 1, 14, 5, tzinfo=OSLO),
        "late": False,
        "findings": [],
        "deadline": DEADLINE,
    },
    "decision_offer": {
        "municipality": "Os (Hordaland)",
        "model": "A",
        "go_live": date(2016, 5, 1),
        "end": date(2019, 4, 30),
        "agreement_deadline": date(2016, 2, 1),
    },
    "decision_rejection": {"municipality": "Os (Hordaland)"},
    "agreement": {
        "municipality": "Os (Hordaland)",
        "model": "A",
        "agreement_deadline": date(2016, 2, 1),
        "filename": "samarbeidsavtale-modell-A-1243.txt",
    },
    "agreement_reminder": {"municipality": "Os (Hordaland)", "agreement_deadline": DEADLINE},
    "reply_reminder": {"municipality": "Os (Hordaland)", "reply_deadline": DEADLINE},
    "activity_reminder": {
        "municipality": "Os (Hordaland)",
        "activity": "IKT",
        "row": "3",
        "due": DEADLINE,
    },
    "report_reminder": {"municipality": "Os (Hordaland)", "year": 2016, "deadline": DEADLINE},
    "gathering_invitation": {
        "municipality": "Os (Hordaland)",
        "title": "Samling",
        "start": date(2016, 3, 8),
        "end": date(2016, 3, 9),
    },
    "gathering_reminder": {
        "municipality": "Os (Hordaland)",
        "title": "Samling",
        "start": date(2016, 3, 8),
        "end": date(2016, 3, 9),
    },
    "meeting_invitation": {
        "municipality": "Os (Hordaland)",
        "title": "Statusmøte",
        "start": MEETING,
        "end": MEETING_END,
    },
    "meeting_reminder": {
        "municipality": "Os (Hordaland)",
        "title": "Statusmøte",
        "start": MEETING,
        "end": MEETING_END,
    },
    "meeting_cancellation": {
        "municipality": "Os (Hordaland)",
        "title": "Statusmøte",
        "start": MEETING,
        "end": MEETING_END,
    },
    "gathering_cancellation": {
        "municipality": "Os (Hordaland)",
        "title": "1. samling",
        "start": date(2016, 3, 8),
        "end": date(2016, 3, 9),
    },
    "readiness_alert": {
        "municipality": "Os (Hordaland)",
        "go_live": date(2016, 5, 1),
        "missing": [{"title": "IKT", "due": date(2016, 5, 1)}],
    },
    "selection_awaiting": {
        "round_id": "sio-2016",
        "round_title": "SIO",
        "applicants": 14,
        "run_url": "http://127.0.0.1:4200/runs/flow-run/1",
        "deadline": date(2016, 1, 15),
    },
    "payout_statement": {
        "municipality": "Os (Hordaland)",
        "run": "2017Q2",
        "total": Decimal("6250000"),
        "filenames": ["utbetaling.xlsx", "utbetaling.csv"],
    },
}
BOKMAL_ONLY = re.compile(
    r"\b(ikke|Vennlig hilsen|dere|deres|mottatt|statlig|omsorgstjenester|hvis|hvilke[tn]?"
    r"|hver|innen|senest|følger|fra|påminnelsen)\b"
)
NYNORSK_ONLY = re.compile(
    r"\b(ikkje|Venleg helsing|dykk|dykkar|motteken?|statleg|omsorgstenester|kva|kvar"
    r"|innan|seinast|følgjer|frå|påminninga)\b"
)


def test_every_kind_has_a_context_here() -> None:
    assert set(CONTEXTS) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_exists_in_both_standards_and_they_differ(kind: str) -> None:
    bokmal = render_mail(kind, "bokmål", **CONTEXTS[kind])
    nynorsk = render_mail(kind, "nynorsk", **CONTEXTS[kind])

    assert bokmal.body != nynorsk.body
    assert bokmal.body.endswith("Vennlig hilsen\nHelsedirektoratet\n")
    assert nynorsk.body.endswith("Venleg helsing\nHelsedirektoratet\n")
    for letter in (bokmal, nynorsk):
        assert letter.subject and "\n" not in letter.subject
        assert "(Hordaland)" not in letter.subject + letter.body
        assert "\n\n\n" not in letter.body


@pytest.mark.parametrize("kind", KINDS)
def test_nynorsk_letters_use_no_bokmal_forms_and_vice_versa(kind: str) -> None:
    bokmal = render_mail(kind, "bokmål", **CONTEXTS[kind])
    nynorsk = render_mail(kind, "nynorsk", **CONTEXTS[kind])

    assert NYNORSK_ONLY.findall(bokmal.subject + "\n" + bokmal.body) == []
    assert BOKMAL_ONLY.findall(nynorsk.subject + "\n" + nynorsk.body) == []


def test_dates_are_written_the_norwegian_way_with_each_standards_weekday() -> None:
    bokmal = render_mail("application_reminder", "bokmål", **CONTEXTS["application_reminder"])
    nynorsk = render_mail("application_reminder", "nynorsk", **CONTEXTS["application_reminder"])

    assert "søknadsfrist 1. desember 2015" in bokmal.subject
    assert "søknadsfrist 1. desember 2015" in nynorsk.subject
    assert "er tirsdag 1. desember 2015." in bokmal.body
    assert "er tysdag 1. desember 2015." in nynorsk.body
    assert bokmal.body.startswith("Til Os kommune\n")


def test_a_meeting_gives_its_day_and_clock_times() -> None:
    letter = render_mail("meeting_invitation", "nynorsk", **CONTEXTS["meeting_invitation"])

    assert "tysdag 14. juni 2016 kl. 10.00–11.30" in letter.body
    assert letter.subject == "Invitasjon: Statusmøte tysdag 14. juni 2016 kl. 10.00"
    assert "Tidspunktet er eit forslag" in letter.body  # seed 000: time agreed with each one


def test_a_two_day_gathering_names_both_days() -> None:
    letter = render_mail("gathering_invitation", "bokmål", **CONTEXTS["gathering_invitation"])

    assert "tirsdag 8. mars 2016 – onsdag 9. mars 2016" in letter.body


@pytest.mark.parametrize(("model", "other"), [("A", "B"), ("B", "A")])
def test_the_offer_names_the_model_and_what_it_means(model: str, other: str) -> None:
    context = CONTEXTS["decision_offer"] | {"model": model}
    for standard in ("bokmål", "nynorsk"):
        letter = render_mail("decision_offer", standard, **context)
        assert letter.subject.endswith(f"modell {model}")
        assert f"Modell {model}:" in letter.body
        assert f"Modell {other}:" not in letter.body
        assert "1. februar 2016" in letter.body


def test_the_offer_asks_for_a_reply_only_when_the_round_has_a_reply_deadline() -> None:
    without = render_mail("decision_offer", "bokmål", **CONTEXTS["decision_offer"])
    with_reply = render_mail(
        "decision_offer", "bokmål", **CONTEXTS["decision_offer"], reply_deadline=date(2020, 12, 31)
    )

    assert "Vi ber om svar" not in without.body
    assert "Vi ber om svar på om kommunen tar imot tilbudet, senest torsdag 31. desember 2020." in (
        with_reply.body
    )


def test_a_late_application_with_findings_says_so() -> None:
    context = CONTEXTS["application_received"] | {
        "late": True,
        "findings": ["epj_system_missing", "attachment_missing"],
    }
    bokmal = render_mail("application_received", "bokmål", **context)
    nynorsk = render_mail("application_received", "nynorsk", **context)

    assert "etter fristen, som var 1. desember 2015" in bokmal.body
    assert "- søknaden oppgir ikke hvilket EPJ-system kommunen bruker" in bokmal.body
    assert "- utfylt vedlegg manglar" in nynorsk.body
    assert "fullstendig" not in bokmal.body
    complete = render_mail("application_received", "bokmål", **CONTEXTS["application_received"])
    assert "etter fristen" not in complete.body and "fullstendig" in complete.body


def test_stored_findings_are_written_in_the_letters_standard() -> None:
    context = CONTEXTS["application_received"] | {
        "findings": [
            "signer_not_chief_executive: signed by 'økonomisjef', not the chief executive",
            "something_new: a finding the letter has no words for",
        ]
    }
    letter = render_mail("application_received", "nynorsk", **context)

    assert "- søknaden er ikkje signert av rådmannen/kommunedirektøren" in letter.body
    assert "- a finding the letter has no words for" in letter.body
    assert "signer_not_chief_executive" not in letter.body


def test_the_selection_notice_lists_the_applicants_and_links_the_form() -> None:
    context = CONTEXTS["selection_awaiting"] | {"applicants": ["1714 Stjørdal", "1243 Os"]}
    letter = render_mail("selection_awaiting", "bokmål", **context)

    assert "2 kommuner har søkt." in letter.body
    assert "- 1714 Stjørdal\n- 1243 Os\n" in letter.body
    assert "http://127.0.0.1:4200/runs/flow-run/1\n" in letter.body
    assert "fredag 15. januar 2016" in letter.body


def test_a_moved_meeting_says_the_new_time_replaces_the_old() -> None:
    moved = render_mail(
        "meeting_invitation", "bokmål", **CONTEXTS["meeting_invitation"], moved=True
    )
    first = render_mail("meeting_invitation", "bokmål", **CONTEXTS["meeting_invitation"])

    assert "Tidspunktet er endret." in moved.body
    assert "endret" not in first.body


def test_the_agreement_letter_without_a_deadline_asks_for_it_soon() -> None:
    context = CONTEXTS["agreement"] | {"agreement_deadline": None}
    letter = render_mail("agreement", "nynorsk", **context)

    assert letter.subject == "Samarbeidsavtale, modell A: skal signerast og sendast tilbake"
    assert "så snart som råd" in letter.body
    assert "samarbeidsavtale-modell-A-1243.txt" in letter.body
    assert "avtaleteksten er fastsett på bokmål" in letter.body


def test_a_missing_fact_is_an_error_not_a_gap() -> None:
    with pytest.raises(MailTemplateError, match="deadline"):
        render_mail("application_reminder", "bokmål", municipality="Stjørdal")


@pytest.mark.parametrize(
    ("kind", "standard", "context"),
    [
        ("vedtaksbrev", "bokmål", {}),
        ("decision_rejection", "samisk", {"municipality": "Karasjok"}),
        ("decision_offer", "bokmål", CONTEXTS["decision_offer"] | {"model": "C"}),
    ],
)
def test_unknown_kinds_standards_and_models_are_refused(
    kind: str, standard: Any, context: dict[str, Any]
) -> None:
    with pytest.raises(MailTemplateError):
        render_mail(kind, standard, **context)


@pytest.mark.parametrize(
    ("registry_name", "written"),
    [("Os (Hordaland)", "Os"), ("Os (Hedmark)", "Os"), ("Indre Østfold", "Indre Østfold")],
)
def test_the_registry_disambiguation_is_left_out_of_letters(
    registry_name: str, written: str
) -> None:
    assert municipality_name(registry_name) == written
    assert kommune(registry_name) == f"{written} kommune"


def test_money_and_quarters_are_written_the_norwegian_way() -> None:
    assert kroner(Decimal("16666666.665")) == "16 666 666,67 kroner"
    assert kroner(Decimal("-40000")) == "-40 000,00 kroner"
    assert quarter("2017Q2") == "2. kvartal 2017"
    with pytest.raises(MailTemplateError):
        quarter("2017-04")


def test_a_gathering_known_only_to_the_month_is_not_given_false_days() -> None:
    context = CONTEXTS["gathering_invitation"] | {
        "start": date(2016, 10, 1),
        "end": date(2016, 10, 31),
        "month_only": True,
        "firm": False,
    }
    letter = render_mail("gathering_invitation", "nynorsk", **context)

    assert letter.subject == "Invitasjon: Samling, oktober 2016"
    assert "\n  oktober 2016\n" in letter.body
    assert "laurdag" not in letter.body
    assert "Tidspunktet er førebels" in letter.body
