"""Cells that a spreadsheet shows as written: no formula injection from text we export.

Why: a municipality name, a reason typed by staff or a line's basis ends up in a CSV or xlsx that
finance opens in Excel or LibreOffice; a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read as a formula there (CSV injection, OWASP) and could run or leak data.
Text like that is prefixed with an apostrophe in CSV (the spreadsheet convention for "this is
text") and stored as a string cell in xlsx; numbers (``-2500.00``) stay numbers.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet would read ``text`` as a formula rather than as text or a number."""
    return text.startswith(FORMULA_TRIGGERS) and _PLAIN_NUMBER.fullmatch(text) is None


def csv_safe(text: str) -> str:
    """``text`` for a CSV cell: formula-like text gets a leading apostrophe, the rest unchanged."""
    return "'" + text if is_formula_like(text) else text
