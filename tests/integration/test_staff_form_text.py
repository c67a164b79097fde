"""The staff forms refuse what ``sio record`` refuses: control characters and personal numbers.

Each form's free-text field goes through the same check as every free-text field (design
decision (D)); the failed run's one line names the field, and a personal identity number in it
is masked, never repeated.
"""

from __future__ import annotations

from typing import Any

import pytest

FODSELSNUMMER = "01018010018"  # valid check digits (python-stdnum), made up for the test
D_NUMMER = "45018000095"
FORM = {"round_ref": "sio-2016", "kommunenummer": "1714"}
SIGNED = {"party": "municipality", "signed_on": "2016-01-20"}


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [
        ("record_signature", {**SIGNED, "place": f"Oslo {FODSELSNUMMER}", "signatory": "R"},
         "place"),
        ("record_signature", {**SIGNED, "place": "Oslo", "signatory": "Kari\x1b[2J"}, "signatory"),
        ("record_minutes", {"month": "2016-06", "minutes": f"Møtt:\nKari {D_NUMMER}"}, "minutes"),
        ("record_attendance", {"event_key": "k", "email": "kari\x00@stjordal.no"}, "email"),
        ("record_attendance", {"event_key": "k\u202e", "email": "kari@stjordal.no"}, "event_key"),
        (
            "record_adjustment",
            {"period": "2016Q3", "amount": "100", "reason": f"etterbetaling {FODSELSNUMMER}"},
            "reason",
        ),
        (
            "record_system_adaptation",
            {"amount": "100", "documentation": f"faktura {D_NUMMER}"},
            "documentation",
        ),
    ],
)  # fmt: skip
@pytest.mark.usefixtures("sio_home")
def test_a_staff_form_refuses_hostile_free_text_in_one_line_masked(
    action: str, fields: dict[str, Any], field: str
) -> None:
    from flows import staff_actions

    with pytest.raises(staff_actions.StaffActionRefused) as refused:
        getattr(staff_actions, action).fn(**FORM, **fields)

    line = str(refused.value)
    assert line.startswith(f"{field}: ") and "\n" not in line
    assert FODSELSNUMMER not in line and D_NUMMER not in line
    assert "personal identity number" in line or "character" in line


def test_multi_line_minutes_are_still_accepted_by_the_check() -> None:
    """Line breaks are allowed in minutes only; the check refuses them in one-line fields."""
    from flows.staff_actions import _free_lines, _free_text

    assert _free_lines("Møtt: Kari\nReferent: Ola") == "Møtt: Kari\nReferent: Ola"
    with pytest.raises(ValueError, match="control character"):
        _free_text("Kari\nOla")
