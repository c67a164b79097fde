"""Turning a round file's text into a validated :class:`RoundDefinition`, or one clear error.

Why its own module: a round file is edited by hand, so a mistake must come back as one line that
names the file, the field and the value. Reading the file is the caller's job; this stays pure.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from pydantic import ValidationError

from sio_domain.round_definition import RoundDefinition


class RoundFileError(ValueError):
    """A round file that cannot be used, with the file, the field and the value in the message."""

    def __init__(self, origin: str, field: str | None, message: str) -> None:
        self.origin = origin
        self.field = field
        where = f"{origin}: {field}: " if field else f"{origin}: "
        super().__init__(where + message)


MAX_ROUND_TEXT = 1_000_000  # characters; the shipped rounds are a few kilobytes
MAX_NESTING = 32  # a round file is a few levels deep: [[municipalities]], a table, a list


def parse_round(text: str, origin: str) -> RoundDefinition:
    """Parse TOML (or JSON, when ``origin`` ends in ``.json``) into a round definition.

    Bounded before anything else: a text longer than ``MAX_ROUND_TEXT`` characters or nested
    deeper than ``MAX_NESTING`` levels is refused with one line (never a RecursionError).
    """
    if len(text) > MAX_ROUND_TEXT:
        raise RoundFileError(
            origin, None, f"too large ({len(text)} characters; at most {MAX_ROUND_TEXT})"
        )
    if "\x00" in text:
        raise RoundFileError(origin, None, "contains a NUL character: not a text file")
    try:
        data = _decode(text, origin)
        _check_depth(data, origin)
        return _validated(data, origin)
    except RecursionError:
        raise RoundFileError(
            origin, None, f"nested too deeply (at most {MAX_NESTING} levels)"
        ) from None


def _check_depth(data: Any, origin: str) -> None:
    """Refuse data nested deeper than ``MAX_NESTING``, walking without recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise RoundFileError(origin, None, f"nested too deeply (at most {MAX_NESTING} levels)")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _validated(data: dict[str, Any], origin: str) -> RoundDefinition:
    try:
        return RoundDefinition.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] not in ("missing",) and "input" in first:
            shown = _shown(first["input"])
            if shown is not None:
                message = f"{message} (got {shown})"
        raise RoundFileError(origin, field, message) from None


def _decode(text: str, origin: str) -> dict[str, Any]:
    if origin.endswith(".json"):
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as error:
            raise RoundFileError(
                origin,
                None,
                f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            ) from None
        if not isinstance(decoded, dict):
            raise RoundFileError(origin, None, "a round file must hold one object at the top")
        return decoded
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RoundFileError(origin, None, f"not valid TOML: {error}") from None


def _shown(value: Any) -> str | None:
    """The offending value as a short literal; whole sections are not echoed back."""
    if isinstance(value, dict):
        return None
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
