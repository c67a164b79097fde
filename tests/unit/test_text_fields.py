"""Free-text fields: printable text only, and never a personal identity number (shown masked)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from sio_domain.personal_data import find_personal_number, mask, masked_text
from sio_domain.text_fields import (
    MAX_AMOUNT_ORE,
    TextFieldError,
    checked_amount_ore,
    checked_text,
    checked_year,
    text_problem,
)

FODSELSNUMMER = "01018010018"
D_NUMMER = "45018000095"  # day 05 + 40


def test_fodselsnummer_and_d_nummer_are_recognised_by_their_check_digits() -> None:
    assert find_personal_number(f"Kari {FODSELSNUMMER}") == FODSELSNUMMER
    assert find_personal_number(f"ref {D_NUMMER}.") == D_NUMMER
    assert find_personal_number("010180 10018") == FODSELSNUMMER
    assert find_personal_number("01018010019") is None  # wrong check digit
    assert find_personal_number("1503.12.34567") is None  # a bank account number
    assert find_personal_number("+47 74 83 00 00") is None
    assert find_personal_number(f"9{FODSELSNUMMER}") is None  # part of a longer number


def test_the_masked_value_keeps_only_the_last_two_digits() -> None:
    assert mask(FODSELSNUMMER) == "*********18"
    assert masked_text(f"navn {FODSELSNUMMER} og {D_NUMMER}") == "navn *********18 og *********95"


@pytest.mark.parametrize(
    "value", ["Kari\x00", "Kari\x1b[31m", "Ola\u202eNordmann", "a\u2028b", "line\nbreak"]
)
def test_control_and_layout_characters_are_refused(value: str) -> None:
    assert text_problem(value) is not None


def test_a_refusal_names_the_field_and_never_repeats_the_number() -> None:
    with pytest.raises(TextFieldError) as refused:
        checked_text("reason", f"tilbakebetaling for {FODSELSNUMMER}")
    message = str(refused.value)
    assert message.startswith("reason: ") and FODSELSNUMMER not in message
    assert "*********18" in message


def test_ordinary_norwegian_text_passes() -> None:
    for value in ("Øystre Slidre", "Kari O'Hara-Ås", "tilbakebetaling 2017Q2\tkr 12 000,50", ""):
        assert checked_text("name", value) == value
    assert checked_text("body", "to\nlinjer", multiline=True) == "to\nlinjer"


@given(st.from_regex(r"[0-9]{11}", fullmatch=True))
def test_exactly_the_valid_numbers_are_refused(digits: str) -> None:
    assert (text_problem(f"x {digits} y") is not None) == fodselsnummer.is_valid(digits)


def test_years_and_amounts_are_bounded() -> None:
    assert checked_year("year", 2000) == 2000 and checked_year("year", 2100) == 2100
    for year in (1999, 2101, 1):
        with pytest.raises(TextFieldError):
            checked_year("year", year)
    assert checked_amount_ore("amount", MAX_AMOUNT_ORE) == MAX_AMOUNT_ORE
    with pytest.raises(TextFieldError, match="out of range"):
        checked_amount_ore("amount", MAX_AMOUNT_ORE + 1)
    with pytest.raises(TextFieldError):
        checked_amount_ore("amount", -(2**63))
