"""Municipal bank accounts (kontonummer): the 11-digit Norwegian account number, MOD11-checked.

Payment goes to the municipality's bank account (økonomiregelverket; a Norwegian kontonummer has
11 digits, the last a MOD11 check digit). The check is python-stdnum's, not written here. Payment
files name accounts by IBAN (design decision (D)): every bank that takes ISO 20022 pain.001 takes
an IBAN, and a Norwegian IBAN is ``NO`` + two check digits + the 11-digit kontonummer, the check
digits computed by python-stdnum (ISO 13616).
"""

from __future__ import annotations

from stdnum import iban as _iban
from stdnum.exceptions import ValidationError
from stdnum.no import kontonr as _kontonr


def valid_account(text: str) -> str:
    """The account number as 11 digits, or ``ValueError`` naming the value and what is wrong.

    Spaces and dots as people write them (``8601 11 17947``, ``8601.11.17947``) are accepted.
    """
    try:
        return str(_kontonr.validate(text))
    except ValidationError as error:
        raise ValueError(f"{text!r} is not a valid kontonummer ({error})") from None


def is_valid_account(text: str) -> bool:
    """Whether ``text`` is a valid kontonummer (an account stored earlier is re-checked on use)."""
    try:
        valid_account(text)
    except ValueError:
        return False
    return True


def norwegian_iban(account: str) -> str:
    """The IBAN of a Norwegian account: ``NO`` + ISO 13616 check digits + the 11 digits."""
    digits = valid_account(account)
    check = _iban.calc_check_digits(f"NO00{digits}")
    return str(_iban.validate(f"NO{check}{digits}"))
