"""Finding and reading round files: the shipped ones by id, or a user's own by path.

Plain functions, no Prefect import: ``sio plan`` and ``sio rounds`` are quick look-ups that must not
pay Prefect's start-up (issue 2, item 6).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sio_domain.round_definition import RoundDefinition
from sio_domain.round_parsing import RoundFileError, parse_round

_SHIPPED = resources.files("sio_domain") / "rounds"


def shipped_round_ids() -> list[str]:
    """Ids of the rounds shipped with sio, in chronological order."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _SHIPPED.iterdir()
        if entry.name.endswith(".toml")
    )


def round_file_path(reference: str) -> Path:
    """The file behind a round reference: a shipped round id or a path to a round file."""
    if reference in shipped_round_ids():
        return Path(str(_SHIPPED / f"{reference}.toml"))
    candidate = Path(reference).expanduser()
    if candidate.suffix in (".toml", ".json") or candidate.exists() or "/" in reference:
        return candidate
    known = ", ".join(shipped_round_ids())
    raise RoundFileError(
        reference, None, f"no such round (shipped rounds: {known}; or give a path)"
    )


def load_round(reference: str) -> RoundDefinition:
    """Load and validate a round by id or path; a bad or missing file raises RoundFileError."""
    path = round_file_path(reference)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoundFileError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RoundFileError(str(path), None, f"cannot be read: {error}") from None
    return parse_round(text, path.name if path.parent == Path(str(_SHIPPED)) else str(path))
