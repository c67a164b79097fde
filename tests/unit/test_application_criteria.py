"""The criteria check and the late flag: pure rules from seeds 004 and 003."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from sio_domain.application_criteria import (
    ApplicationFacts,
    application_window_closes_at,
    check_application,
    criteria_for_round,
    format_findings,
    is_late,
    parse_findings,
)
from sio_domain.norwegian_calendar import OSLO, effective_deadline
from sio_domain.round_definition import DatedFact, RoundDefinition
from tasks.intake.round_files import load_round

ROUND_2016 = load_round("sio-2016")
ROUND_2019 = load_round("sio-2019")
ROUND_2021 = load_round("sio-2021")
CET = timezone(timedelta(hours=1))


def complete(**changes: object) -> ApplicationFacts:
    values: dict[str, object] = {
        "kommunenummer": "1714",
        "submitted_at": datetime(2015, 11, 20, 14, 0, tzinfo=CET),
        "signed_by_title": "rådmann",
        "council_resolution_date": date(2015, 10, 22),
        "epj_system": "Profil",
        "attachment": "søknadsskjema.docx",
    }
    return ApplicationFacts.model_validate(values | changes)


def codes(application: ApplicationFacts, round_def: RoundDefinition = ROUND_2019) -> list[str]:
    return [
        finding.code for finding in check_application(application, criteria_for_round(round_def))
    ]


def with_deadline(round_def: RoundDefinition, nominal: date) -> RoundDefinition:
    milestones = round_def.milestones.model_copy(
        update={"application_deadline": DatedFact(date=nominal, source="test")}
    )
    return round_def.model_copy(update={"milestones": milestones})


# --- which criteria a round has ------------------------------------------------------------


def test_the_epj_system_is_a_criterion_from_the_2019_round_on_but_not_in_2016():
    assert "epj_system" not in criteria_for_round(ROUND_2016)  # seed 004 does not ask for it
    assert "epj_system" in criteria_for_round(ROUND_2019)  # seed 003 does
    assert "epj_system" in criteria_for_round(ROUND_2021)  # no deadline: judged by go-live 2021


def test_council_resolution_signer_and_attachment_are_criteria_in_every_round():
    for round_def in (ROUND_2016, ROUND_2019, ROUND_2021):
        assert {"council_resolution", "signer", "attachment"} <= criteria_for_round(round_def)


def test_the_criteria_follow_the_application_deadline_not_the_round_id():
    assert "epj_system" in criteria_for_round(with_deadline(ROUND_2016, date(2018, 12, 31)))
    assert "epj_system" not in criteria_for_round(with_deadline(ROUND_2019, date(2017, 12, 31)))


# --- findings ------------------------------------------------------------------------------


def test_a_complete_application_has_no_findings():
    assert codes(complete()) == []


def test_a_missing_council_resolution_is_a_finding():
    assert codes(complete(council_resolution_date=None)) == ["council_resolution_missing"]


def test_a_council_resolution_after_submission_is_a_finding_but_the_same_day_is_not():
    after = complete(council_resolution_date=date(2015, 11, 21))
    assert codes(after) == ["council_resolution_after_submission"]
    (finding,) = check_application(after, criteria_for_round(ROUND_2019))
    assert "2015-11-21" in finding.text and "2015-11-20" in finding.text
    assert codes(complete(council_resolution_date=date(2015, 11, 20))) == []


def test_the_submission_day_is_judged_in_oslo_time():
    late_evening_utc = datetime(2015, 11, 20, 23, 30, tzinfo=UTC)  # 21 November in Oslo
    application = complete(
        submitted_at=late_evening_utc, council_resolution_date=date(2015, 11, 21)
    )
    assert codes(application) == []


def test_an_application_not_shown_signed_by_the_chief_executive_or_a_delegate_is_a_finding():
    assert codes(complete(signed_by_title=None)) == ["signer_not_chief_executive"]
    for title in ("rådmann", "kommunedirektør", "delegate"):
        assert codes(complete(signed_by_title=title)) == []


def test_an_unnamed_epj_system_is_a_finding_only_where_the_round_asks_for_it():
    assert codes(complete(epj_system=None), ROUND_2019) == ["epj_system_missing"]
    assert codes(complete(epj_system="  "), ROUND_2019) == ["epj_system_missing"]
    assert codes(complete(epj_system=None), ROUND_2016) == []


def test_a_missing_attachment_is_a_finding_and_no_means_missing():
    assert codes(complete(attachment=None)) == ["attachment_missing"]
    assert codes(complete(attachment="nei")) == ["attachment_missing"]
    assert codes(complete(attachment="vedlegg.docx")) == []


def test_every_finding_is_reported_in_criteria_order():
    bare = complete(
        signed_by_title=None, council_resolution_date=None, epj_system=None, attachment=None
    )
    assert codes(bare) == [
        "council_resolution_missing",
        "signer_not_chief_executive",
        "epj_system_missing",
        "attachment_missing",
    ]


def test_findings_are_stored_one_per_line_and_read_back():
    findings = check_application(
        complete(signed_by_title=None, attachment=None), criteria_for_round(ROUND_2019)
    )
    text = format_findings(findings)
    assert len(text.splitlines()) == 2
    assert text.splitlines()[0].startswith("signer_not_chief_executive: ")
    assert parse_findings(text) == findings
    assert format_findings([]) == "" and parse_findings("") == []


def test_finding_texts_cite_their_seed():
    bare = complete(
        signed_by_title=None, council_resolution_date=None, epj_system=None, attachment=None
    )
    for finding in check_application(bare, criteria_for_round(ROUND_2019)):
        assert "seed 00" in finding.text


# --- late ----------------------------------------------------------------------------------


def test_an_application_on_the_deadline_day_is_on_time_and_one_a_minute_after_midnight_late():
    # seed 004: «Søknadsfrist er 1. desember 2015», a Tuesday
    assert not is_late(datetime(2015, 12, 1, 23, 59, tzinfo=CET), ROUND_2016)
    assert is_late(datetime(2015, 12, 2, 0, 0, tzinfo=CET), ROUND_2016)
    assert is_late(datetime(2015, 12, 1, 23, 0, tzinfo=UTC), ROUND_2016)  # 00:00 in Oslo


def test_a_deadline_on_a_weekend_closes_at_the_end_of_the_next_working_day():
    saturday = with_deadline(ROUND_2016, date(2015, 11, 28))
    assert not is_late(datetime(2015, 11, 30, 23, 59, tzinfo=CET), saturday)
    assert is_late(datetime(2015, 12, 1, 0, 0, tzinfo=CET), saturday)


def test_the_2019_deadline_on_new_years_eve_is_a_working_day_and_does_not_move():
    closes = application_window_closes_at(ROUND_2019)
    assert closes == datetime(2019, 1, 1, 0, 0, tzinfo=CET)


def test_a_round_without_an_application_deadline_has_no_late_applications():
    assert application_window_closes_at(ROUND_2021) is None
    assert not is_late(datetime(2020, 12, 1, 12, 0, tzinfo=CET), ROUND_2021)


@given(
    nominal=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
    minutes=st.integers(min_value=-10 * 24 * 60, max_value=10 * 24 * 60),
)
def test_late_means_submitted_on_an_oslo_day_after_the_effective_deadline(nominal, minutes):
    round_def = with_deadline(ROUND_2016, nominal)
    submitted = datetime(nominal.year, nominal.month, nominal.day, tzinfo=OSLO) + timedelta(
        minutes=minutes
    )
    submitted_on = submitted.astimezone(OSLO).date()
    assert is_late(submitted, round_def) == (submitted_on > effective_deadline(nominal))
