"""A nynorsk municipality reads nynorsk everywhere: plan titles, calendars, letters, statements.

Scans every nynorsk output sio produces for bokmål-only forms (tests/support/bokmal_forms.py).
"""

from __future__ import annotations

import io

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from typer.testing import CliRunner

from sio_cli.main import app
from sio_domain.plan import build_plan
from tasks.documents.calendar_files import description, event_title
from tasks.documents.ledger_export import STATEMENT_COLUMNS, ledger_csv_norwegian, ledger_xlsx
from tasks.intake.round_files import load_round
from tasks.mail.mail_templates import KINDS, render_mail
from tasks.payouts.ledger import LedgerLine
from tests.support.bokmal_forms import bokmal_forms
from tests.unit.test_mail_templates import CONTEXTS

ROUNDS = ("sio-2016", "sio-2019", "sio-2021")
runner = CliRunner()


def test_the_list_finds_the_forms_it_is_for() -> None:
    assert bokmal_forms("Prosjektleder på plass, to dager, tidspunkt avtales") == [
        "Prosjektleder",
        "dager",
        "avtales",
    ]
    assert bokmal_forms("Prosjektleiar på plass, to dagar, tidspunktet blir avtalt") == []


@pytest.mark.parametrize("round_id", ROUNDS)
def test_every_title_of_every_round_has_a_nynorsk_form_without_bokmal(round_id: str) -> None:
    round_def = load_round(round_id)
    titles = [round_def.title_nn]
    for plan in round_def.models.values():
        titles += [plan.title_nn, *(item.title_nn for item in (*plan.activities, *plan.gatherings))]
    titles += [cohort.title_nn for cohort in round_def.cohorts]
    assert None not in titles
    events = build_plan(round_def)
    titles += [event_title(event, "nynorsk") for event in events]
    titles += [description(event, "nynorsk") for event in events]
    assert all(event.title_nn for event in events)
    found = {title: bokmal_forms(title or "") for title in titles}
    assert {title: words for title, words in found.items() if words} == {}


@pytest.mark.parametrize(
    ("round_id", "model", "kommune"),
    [("sio-2016", "A", "1243"), ("sio-2019", "A", "1241"), ("sio-2019", "A", "4624")],
)
def test_a_nynorsk_municipalitys_calendar_is_in_nynorsk(
    round_id: str, model: str, kommune: str
) -> None:
    args = ["plan", round_id, "--model", model, "--kommune", kommune, "--format", "ics"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    vevents = Calendar.from_ical(result.stdout_bytes).walk("VEVENT")
    assert vevents
    for vevent in vevents:
        text = f"{vevent['SUMMARY']}\n{vevent.get('DESCRIPTION', '')}"
        assert bokmal_forms(text) == [], text
        assert vevent["SUMMARY"].params["LANGUAGE"] == "nn"


@pytest.mark.parametrize("kind", KINDS)
def test_every_nynorsk_letter_is_free_of_bokmal_forms(kind: str) -> None:
    context = CONTEXTS[kind] | {
        "title": "Prosjektleder på plass",
        "title_nn": "Prosjektleiar på plass",
        "activity": "Samling over to dager",
        "activity_nn": "Samling over to dagar",
    }
    letter = render_mail(kind, "nynorsk", **context)
    assert bokmal_forms(letter.subject + "\n" + letter.body) == []


def test_a_nynorsk_statement_is_in_nynorsk() -> None:
    from decimal import Decimal

    lines = [
        LedgerLine("1243", "Os", "A", "2016Q3", "2016Q3", component, Decimal("1.00"), None, "k")
        for component in ("frame", "lump_sum", "income_supplement", "abf", "system_adaptation",
                          "correction", "adjustment")
    ]  # fmt: skip
    sheet = load_workbook(
        io.BytesIO(ledger_xlsx(lines, title="t", standard="nynorsk", columns=STATEMENT_COLUMNS))
    ).active
    assert sheet is not None
    cells = " | ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    csv_text = ledger_csv_norwegian(lines, "nynorsk", STATEMENT_COLUMNS).decode("utf-8-sig")
    assert bokmal_forms(cells) == [] and bokmal_forms(csv_text) == []
    assert "øyremerkt tilskot (ramme)" in cells and "systemtilpassing" in csv_text
