"""Recognising personal identity numbers (fødselsnummer, D-nummer) in free text.

Why: the trial handles municipalities, not persons; a fødselsnummer typed into a contact's name,
an adjustment reason or an application field would be personal data the directorate has no
ground to keep (personopplysningsloven / GDPR art. 5(1)(c), data minimisation), and could be
mailed on a statement or written to the audit log. So every free-text field refuses one, and the
refusal never repeats it: the error shows it masked (``*********18``).

Recognised by the check digits (python-stdnum, ``stdnum.no.fodselsnummer``, which accepts
D-numbers — the day plus 40 — as well), not by "eleven digits": a bank account number
(11 digits, MOD11 too but another rule) or an order number is not refused by mistake. Digits
grouped as people write them (``010180 10018``, ``010180-10018``) are found too.
"""

from __future__ import annotations

import re

from stdnum.no import fodselsnummer

_CANDIDATE = re.compile(r"(?<![0-9])([0-9]{6})[ .-]?([0-9]{5})(?![0-9])")


def find_personal_number(text: str) -> str | None:
    """The first fødselsnummer or D-nummer in ``text`` (digits only), or None."""
    for match in _CANDIDATE.finditer(text):
        digits = match.group(1) + match.group(2)
        if fodselsnummer.is_valid(digits):
            return digits
    return None


def mask(number: str) -> str:
    """``*********18``: enough to find it in one's own papers, too little to identify anyone."""
    return "*" * (len(number) - 2) + number[-2:]


def masked_text(text: str) -> str:
    """``text`` with every personal identity number in it masked (for error messages)."""

    def replace(match: re.Match[str]) -> str:
        digits = match.group(1) + match.group(2)
        return mask(digits) if fodselsnummer.is_valid(digits) else match.group(0)

    return _CANDIDATE.sub(replace, text)
