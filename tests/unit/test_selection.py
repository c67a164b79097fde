"""A set of selection decisions is checked against the round before anything is recorded."""

from __future__ import annotations

from datetime import date

import pytest

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.round_definition import RoundDefinition
from sio_domain.selection import (
    DecisionEntry,
    DecisionRefused,
    applications_required,
    validate_selection,
)
from tasks.intake.round_files import load_round
from tasks.records.municipality_lookup import shipped_versions

REGISTRY = MunicipalityRegistry(shipped_versions())
ROUND_2016 = load_round("sio-2016")
ROUND_2019 = load_round("sio-2019")
ROUND_2021 = load_round("sio-2021")
TODAY = date(2016, 1, 20)


def entry(number: str, decision: str, model: str = "", line: int = 2, **more: str) -> DecisionEntry:
    return DecisionEntry(kommunenummer=number, decision=decision, model=model, line=line, **more)


def validate(
    *entries: DecisionEntry,
    round_def: RoundDefinition = ROUND_2016,
    applicants: tuple[str, ...] = ("1714", "0138", "1243"),
    today: date = TODAY,
):
    return validate_selection(
        round_def, entries, registry=REGISTRY, applicants=applicants, today=today
    )


def refusal(*entries: DecisionEntry, **options) -> str:
    with pytest.raises(DecisionRefused) as caught:
        validate(*entries, **options)
    return str(caught.value)


def test_selected_and_rejected_applicants_with_the_round_defaults():
    selected, rejected = validate(entry("1714", "selected", "A"), entry("1243", "rejected", line=3))
    assert (selected.kommunenummer, selected.decision, selected.model) == ("1714", "selected", "A")
    assert selected.decided_by == "ministry"  # seed 000 §1.1: the ministry decides round 2016
    assert selected.decided_on == TODAY
    assert (rejected.decision, rejected.model, rejected.line) == ("rejected", None, 3)


def test_decided_by_and_decided_on_can_be_given():
    (decision,) = validate(
        entry("1714", "Selected", "a", decided_by="Directorate", decided_on="2016-01-14")
    )
    assert (decision.decision, decision.model) == ("selected", "A")
    assert (decision.decided_by, decision.decided_on) == ("directorate", date(2016, 1, 14))


def test_a_municipality_given_by_a_later_number_is_decided_under_its_application():
    (decision,) = validate(entry("5035", "selected", "B"))  # Stjørdal applied as 1714 in 2015
    assert (decision.kommunenummer, decision.given_as) == ("1714", "5035")


def test_a_selected_municipality_needs_a_model_it_cannot_choose_itself():
    message = refusal(entry("1714", "selected", ""))
    assert message.startswith("line 2, column model: '' is empty; a selected municipality")
    assert "seed 004" in message


def test_a_rejected_municipality_has_no_model():
    assert refusal(entry("1243", "rejected", "B", line=5)) == (
        "line 5, column model: 'B' must be empty when the decision is rejected"
    )


def test_a_model_the_round_does_not_have_is_refused():
    assert refusal(entry("1714", "selected", "C")) == (
        "line 2, column model: 'C' is not a model of round sio-2016 (A, B)"
    )
    # seed 001: from 01.05.2019 only model A exists
    message = refusal(
        entry("5035", "selected", "B"),
        round_def=ROUND_2019,
        applicants=("5035",),
        today=date(2019, 2, 1),
    )
    assert message == "line 2, column model: 'B' is not a model of round sio-2019 (A)"


def test_the_model_must_be_the_one_the_municipality_was_invited_in():
    models = dict(ROUND_2019.models)
    models["B"] = models["A"]
    two_models = ROUND_2019.model_copy(update={"models": models})
    message = refusal(
        entry("5035", "selected", "B"),
        round_def=two_models,
        applicants=("5035",),
        today=date(2019, 2, 1),
    )
    assert message.startswith(
        "line 2, column model: 'B' differs from the model A that 5035 Stjørdal"
    )


def test_an_unknown_decision_is_refused():
    assert refusal(entry("1714", "maybe", "A")) == (
        "line 2, column decision: 'maybe' is not a decision (selected or rejected)"
    )


def test_an_unknown_deciding_body_is_refused():
    assert refusal(entry("1714", "selected", "A", decided_by="king")).startswith(
        "line 2, column decided_by: 'king' is not a deciding body"
    )


def test_an_impossible_or_future_decision_date_is_refused():
    assert refusal(entry("1714", "selected", "A", decided_on="2016-02-30")) == (
        "line 2, column decided_on: '2016-02-30' is not a real date (YYYY-MM-DD)"
    )
    assert refusal(entry("1714", "selected", "A", decided_on="15.01.2016")) == (
        "line 2, column decided_on: '15.01.2016' is not a date (YYYY-MM-DD)"
    )
    assert refusal(entry("1714", "selected", "A", decided_on="2016-01-21")) == (
        "line 2, column decided_on: '2016-01-21' is in the future (today is 2016-01-20)"
    )


def test_a_decision_for_a_municipality_that_did_not_apply_is_refused_naming_the_line():
    assert refusal(entry("0926", "selected", "A", line=7)) == (
        "line 7, column kommunenummer: '0926' did not apply to round sio-2016: only applicants"
        " can be decided on"
    )


def test_an_unknown_or_malformed_kommunenummer_is_refused():
    assert refusal(entry("9999", "selected", "A")) == (
        "line 2, column kommunenummer: '9999' is not in the municipality registry"
    )
    assert refusal(entry("138", "selected", "A")) == (
        "line 2, column kommunenummer: '138' is not a kommunenummer (4 digits, e.g. 0301)"
    )


def test_a_merged_number_matching_several_applicants_is_refused_as_ambiguous():
    message = refusal(
        entry("3014", "selected", "A"),
        round_def=ROUND_2019,
        applicants=("0138", "0124"),
        today=date(2019, 2, 1),
    )
    assert message == (
        "line 2, column kommunenummer: '3014' matches the applications of 0124, 0138: give the"
        " number the application was made under"
    )


def test_a_municipality_decided_twice_is_refused_naming_both_lines():
    message = refusal(entry("1714", "selected", "A", line=2), entry("5035", "rejected", line=4))
    assert message == (
        "line 4, column kommunenummer: '5035' is decided twice: 1714 Stjørdal is also on line 2"
    )


def test_without_an_application_deadline_any_invited_registry_municipality_may_be_decided():
    # round 2021: the 14 applications predate the system (seed 002); parliament decides
    assert not applications_required(ROUND_2021)
    (decision,) = validate(
        entry("0906", "selected", "A"),
        round_def=ROUND_2021,
        applicants=(),
        today=date(2020, 12, 16),
    )
    assert decision.kommunenummer == "4203"  # Arendal's number on the decision date
    assert decision.decided_by == "parliament"


def test_without_an_application_deadline_an_invited_list_still_limits_the_decisions():
    milestones = ROUND_2019.milestones.model_copy(update={"application_deadline": None})
    no_deadline = ROUND_2019.model_copy(update={"milestones": milestones})
    message = refusal(
        entry("0906", "selected", "A"), round_def=no_deadline, applicants=(), today=date(2019, 2, 1)
    )
    assert message == "line 2, column kommunenummer: '0906' was not invited to round sio-2019"


def test_a_decision_from_the_form_names_the_municipality_instead_of_a_line():
    message = refusal(DecisionEntry(kommunenummer="1714", decision="selected", model="Z"))
    assert message == "decision for 1714, column model: 'Z' is not a model of round sio-2016 (A, B)"
