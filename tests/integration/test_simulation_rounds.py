"""Each shipped round simulated on the stage code, checked from its letters log and ledger.

The expected letters are computed here from the seeds' dates, the scenario's dates and the
working-day calendar, independently of the agendas and of the next-due calendar.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO, working_days_before
from sio_domain.scenario import default_scenario
from tasks.intake.round_files import load_round
from tasks.records.municipality_lookup import shipped_versions
from tasks.runs.simulation import SimulationResult, simulate

REGISTRY = MunicipalityRegistry(shipped_versions())
STAFF_KINDS = {"readiness_alert", "selection_awaiting"}
NYNORSK = {"1243", "1241", "4624"}


def run(round_id: str, until: date, tmp_path: Path) -> SimulationResult:
    round_def = load_round(round_id)
    return simulate(
        round_def, default_scenario(round_def, REGISTRY), until=until, workdir=tmp_path / "sim"
    )


@pytest.fixture(scope="module")
def round_2016(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return run("sio-2016", date(2017, 10, 31), tmp_path_factory.mktemp("r2016"))


@pytest.fixture(scope="module")
def round_2019(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return run("sio-2019", date(2020, 2, 29), tmp_path_factory.mktemp("r2019"))


@pytest.fixture(scope="module")
def round_2021(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    return run("sio-2021", date(2022, 3, 31), tmp_path_factory.mktemp("r2021"))


def day_of(row: dict[str, str]) -> date:
    return datetime.fromisoformat(row["date"]).astimezone(OSLO).date()


def belongs(row: dict[str, str]) -> bool:
    """The recipient is the municipality itself, or of its lineage on the letter's day."""
    knr, recipient = row["kommunenummer"], row["recipient_kommunenummer"]
    if row["kind"] in STAFF_KINDS:
        return recipient == ""
    if recipient == knr:
        return True
    in_force = REGISTRY.in_force(knr, day_of(row)).kommunenummer
    return recipient in REGISTRY.lineage(in_force) and knr in REGISTRY.lineage(in_force)


@pytest.mark.parametrize("fixture", ["round_2016", "round_2019", "round_2021"])
def test_every_recipient_belongs_to_the_letters_municipality_and_writes_its_standard(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    result: SimulationResult = request.getfixturevalue(fixture)
    assert result.letters, "nothing was sent"
    strangers = [row for row in result.letters if not belongs(row)]
    assert strangers == []
    for row in result.letters:
        if row["kind"] in STAFF_KINDS or not row["kommunenummer"]:
            continue
        in_force = REGISTRY.in_force(row["kommunenummer"], day_of(row)).kommunenummer
        expected = "nynorsk" if in_force in NYNORSK else "bokmål"
        assert row["written_standard"] == expected, row


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_round_2016_sends_each_participant_the_letters_its_plan_implies(
    round_2016: SimulationResult,
) -> None:
    scenario = default_scenario(load_round("sio-2016"), REGISTRY)
    submitted = {a.kommunenummer: a.submitted_at for a in scenario.applications}
    received = {s.kommunenummer: s.received_on for s in scenario.signatures}
    selected = scenario.participants()
    candidates = [*submitted, "0122"]
    expected: Counter[tuple[str, str, date]] = Counter()
    deadline = date(2015, 12, 1)
    for offset in (14, 7, 1):
        send = working_days_before(deadline, offset)
        at_nine = datetime(send.year, send.month, send.day, 9, tzinfo=OSLO)
        for knr in candidates:
            if knr not in submitted or submitted[knr] > at_nine:
                expected[(knr, "application_reminder", send)] += 1
    for knr, when in submitted.items():
        expected[(knr, "application_received", next_weekday(when.date()))] += 1
    decided = date(2016, 1, 14)
    for knr in submitted:
        kind = "decision_offer" if knr in selected else "decision_rejection"
        expected[(knr, kind, decided)] += 1
    for knr in selected:
        expected[(knr, "agreement", decided)] += 1
        for offset in (7, 1):  # the 14-day rung (12.01) fell before the decision
            send = working_days_before(date(2016, 2, 1), offset)
            if received[knr] > send:
                expected[(knr, "agreement_reminder", send)] += 1
    kinds = {kind for _, kind, _ in expected}
    sent = Counter(
        {
            (row["kommunenummer"], row["kind"], day_of(row)): 1
            for row in round_2016.letters
            if row["kind"] in kinds
        }
    )
    assert sent == expected
    # Status meetings for model A from June 2016 (seed 000 row 10): invitation 10 working days
    # ahead, reminder 2 working days ahead; Stjørdal's June meeting was agreed for 16.06 13:00.
    meetings = {
        (row["kommunenummer"], row["kind"], day_of(row))
        for row in round_2016.letters
        if row["kind"].startswith("meeting_")
    }
    model_a = [k for k, m in selected.items() if m == "A"]
    for knr in model_a:
        june = date(2016, 6, 16) if knr == "1714" else date(2016, 6, 14)
        assert (knr, "meeting_invitation", working_days_before(june, 10)) in meetings
        assert (knr, "meeting_reminder", working_days_before(june, 2)) in meetings
    # agreed on 20.05, before the invitation was due: invited once, for the agreed time
    planned = working_days_before(date(2016, 6, 14), 10)
    assert ("1714", "meeting_invitation", planned) not in meetings


def test_round_2016_knows_who_was_late(round_2016: SimulationResult) -> None:
    late = {(row["kommunenummer"], row["what"]) for row in round_2016.summary["late"]}
    assert ("0138", "agreement_deadline") in late  # received 03.02.2016, deadline 01.02.2016
    assert ("0122", "application_deadline") in late  # invited, never applied
    assert ("0926", "activity:ict_adaptation") in late  # reported 3 days after 01.05.2016
    assert ("1714", "agreement_deadline") not in late


def test_round_2021_sends_nothing_after_its_early_end_but_what_the_plan_allows(
    round_2021: SimulationResult,
) -> None:
    after = Counter(row["kind"] for row in round_2021.letters if day_of(row) > date(2021, 12, 31))
    assert set(after) <= {"payout_statement", "report_reminder"}, after
    assert after["report_reminder"] > 0  # the annual report for 2021 is still due 01.04.2022
    periods = {row["period"] for row in round_2021.ledger}
    assert periods and max(periods) <= "2021Q4"
    invited_2022 = [
        r for r in round_2021.letters if "invitation" in r["kind"] and ":2022-" in r["key"]
    ]
    assert invited_2022 == []


def test_round_2019_pays_the_merged_bjornafjorden_under_its_new_number(
    round_2019: SimulationResult,
) -> None:
    paid = round_2019.summary["payouts"]["by_municipality"]
    assert "4624" in paid and "1243" not in paid and "1241" not in paid
    assert {"5035", "5032", "3014", "4215"} <= set(paid)


def test_a_simulation_gives_the_same_summary_and_letters_every_time(tmp_path: Path) -> None:
    first = run("sio-2016", date(2016, 1, 31), tmp_path / "a")
    second = run("sio-2016", date(2016, 1, 31), tmp_path / "b")
    first.summary.pop("seconds")
    second.summary.pop("seconds")
    assert first.summary == second.summary
    assert first.letters == second.letters
    assert first.summary["flow_runs"] > 0 and first.summary["mails"]["total"] > 0


@pytest.mark.parametrize("knr", ["1664", "0123"])
def test_round_2016_pays_model_b_its_2017_frame_and_supplement_as_computed_from_the_seeds(
    knr: str, round_2016: SimulationResult
) -> None:
    """Seed 004: frame = the 2015 expenditure on KOSTRA 234, 253, 254, 261 grown with the
    municipal economy (the round file's deflators for 2016 and 2017); income supplement 4 % of
    it, capped at 25 million; a year's four quarters sum to the rounded annual amount."""
    from decimal import ROUND_HALF_UP, Decimal

    from sio_domain.scenario import synthetic_expenditure

    financing = load_round("sio-2016").financing
    baseline = sum(synthetic_expenditure(knr, 2015, f) for f in ("234", "253", "254", "261"))
    grown = baseline * (1 + financing.deflators[2016]) * (1 + financing.deflators[2017])
    frame = grown.quantize(Decimal("0.01"), ROUND_HALF_UP)
    supplement = min(Decimal("0.04") * grown, Decimal("25000000")).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    paid: dict[str, Decimal] = {}
    for line in round_2016.ledger:
        if line["kommunenummer"] == knr and line["period"].startswith("2017"):
            paid[line["component"]] = paid.get(line["component"], Decimal(0)) + Decimal(
                line["amount"]
            )
    assert paid == {"frame": frame, "income_supplement": supplement}


def test_documents_as_html_change_no_letter_only_its_attachment(tmp_path: Path) -> None:
    """The simulation attaches each document as its HTML (its outbox is thrown away); with PDFs
    laid out as a real installation does, the summary and every letter are the same."""
    import email
    import email.policy

    round_def = load_round("sio-2016")
    scenario = default_scenario(round_def, REGISTRY)
    until = date(2016, 1, 14)  # the decision letters: one formal document each
    html = simulate(round_def, scenario, until=until, workdir=tmp_path / "html")
    pdf = simulate(round_def, scenario, until=until, workdir=tmp_path / "pdf", pdf_documents=True)
    html.summary.pop("seconds")
    pdf.summary.pop("seconds")
    assert html.summary == pdf.summary and html.letters == pdf.letters
    assert html.summary["mails"]["by_kind"]["decision_offer"] == 6

    def attachments(folder: Path) -> dict[str, tuple[str, bytes]]:
        found = {}
        for path in sorted((folder / "outbox").glob("decision*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for part in message.iter_attachments():  # type: ignore[attr-defined]
                found[str(part.get_filename())] = (
                    part.get_content_type(),
                    part.get_payload(decode=True),
                )
        return found

    as_html, as_pdf = attachments(tmp_path / "html"), attachments(tmp_path / "pdf")
    assert len(as_html) == len(as_pdf) == 9  # six offers, three rejections
    assert {n.removesuffix(".html") for n in as_html} == {n.removesuffix(".pdf") for n in as_pdf}
    assert all(name.endswith(".html") for name in as_html)
    assert all(name.endswith(".pdf") for name in as_pdf)
    assert {kind for kind, _ in as_html.values()} == {"text/html"}
    assert {kind for kind, _ in as_pdf.values()} == {"application/pdf"}
    assert all(content.startswith(b"%PDF") for _, content in as_pdf.values())
    assert all(b"Vedtak" in content or b"vedtak" in content for _, content in as_html.values())
