"""What a free-text field may hold: printable text of sensible length, no personal numbers.

Why refuse rather than clean: a control character or NUL in a name is a sign of a broken export
(or of an attack on whatever later reads the data: a terminal, a spreadsheet, PostgreSQL, which
refuses NUL in text outright), and silently dropping it would store something nobody typed. So
the edge refuses, in one line naming the field and the value (shown escaped, and masked when it
holds a personal identity number — see `sio_domain.personal_data`). Design decision (D): bad
input anywhere gets one line naming the field and the value, and nothing is stored.

Also the bounds every edge shares: the trial's years (``FIRST_YEAR``–``LAST_YEAR``) and the
largest amount in øre any field may hold (``MAX_AMOUNT_ORE``: a thousand billion kroner, far above
any municipality's budget and far below the 64-bit limit of 9.2 × 10¹⁸ the database can store).
"""

from __future__ import annotations

import unicodedata

from sio_domain.personal_data import find_personal_number, mask, masked_text

MAX_TEXT_LENGTH = 2000
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_AMOUNT_ORE = 10**14  # 1 000 000 000 000 kr
_ALLOWED_CONTROLS = {"\t"}
_ALLOWED_IN_MULTILINE = {"\t", "\n", "\r"}


class TextFieldError(ValueError):
    """A free-text value that cannot be stored; the message names the field and the value."""

    def __init__(self, field: str, shown: str, problem: str) -> None:
        self.field = field
        self.shown = shown
        self.problem = problem
        super().__init__(f"{field}: {shown} {problem}")


def text_problem(
    value: str, *, multiline: bool = False, max_length: int = MAX_TEXT_LENGTH
) -> str | None:
    """Why ``value`` may not be stored in a free-text field, or None when it may."""
    allowed = _ALLOWED_IN_MULTILINE if multiline else _ALLOWED_CONTROLS
    for character in value:
        category = unicodedata.category(character)
        if character in allowed:
            continue
        if category == "Cc":
            return f"contains a control character (U+{ord(character):04X}); only printable text"
        if category == "Cs":
            return "contains an unpaired surrogate; not valid text"
        if (
            category in ("Zl", "Zp")
            or character in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ):
            return f"contains an invisible layout character (U+{ord(character):04X})"
    if len(value) > max_length:
        return f"is too long ({len(value)} characters; at most {max_length})"
    if find_personal_number(value) is not None:
        return (
            "holds a personal identity number (fødselsnummer or D-nummer): personal data is "
            "not accepted here"
        )
    return None


def shown_value(value: str, *, limit: int = 60) -> str:
    """The value as an error message may show it: escaped, shortened, personal numbers masked."""
    masked = masked_text(value)
    text = repr(masked if len(masked) <= limit else masked[: limit - 3] + "...")
    return text


def checked_text(
    field: str, value: str, *, multiline: bool = False, max_length: int = MAX_TEXT_LENGTH
) -> str:
    """``value`` unchanged when it may be stored; otherwise `TextFieldError` naming ``field``."""
    problem = text_problem(value, multiline=multiline, max_length=max_length)
    if problem is not None:
        raise TextFieldError(field, shown_value(value), problem)
    return value


def checked_year(field: str, year: int) -> int:
    """A year within the trial's sane range (``FIRST_YEAR``–``LAST_YEAR``)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise TextFieldError(field, str(year), f"is not a year from {FIRST_YEAR} to {LAST_YEAR}")
    return year


def checked_amount_ore(field: str, amount: int) -> int:
    """An amount in øre no larger in size than ``MAX_AMOUNT_ORE``."""
    if abs(amount) > MAX_AMOUNT_ORE:
        raise TextFieldError(
            field,
            str(amount),
            f"is out of range (at most {MAX_AMOUNT_ORE // 100} kr in size)",
        )
    return amount


__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_AMOUNT_ORE",
    "MAX_TEXT_LENGTH",
    "TextFieldError",
    "checked_amount_ore",
    "checked_text",
    "checked_year",
    "mask",
    "shown_value",
    "text_problem",
]
