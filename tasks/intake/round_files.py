"""Finding and reading round files: the shipped ones by id, or a user's own by path.

Plain functions, no Prefect import: ``sio plan`` and ``sio rounds`` are quick look-ups that must not
pay Prefect's start-up.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sio_domain.round_definition import RoundDefinition
from sio_domain.round_parsing import MAX_ROUND_TEXT, RoundFileError, parse_round

MAX_ROUND_FILE_BYTES = 4 * MAX_ROUND_TEXT  # UTF-8: at most four bytes a character

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
        with path.open("rb") as file:  # bounded: /dev/zero or a huge file is refused, not read
            data = file.read(MAX_ROUND_FILE_BYTES + 1)
    except FileNotFoundError:
        raise RoundFileError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise RoundFileError(str(path), None, "is a folder, not a round file") from None
    except OSError as error:
        raise RoundFileError(
            str(path), None, f"cannot be read: {error.strerror or error}"
        ) from None
    if len(data) > MAX_ROUND_FILE_BYTES:
        raise RoundFileError(str(path), None, f"too large (more than {MAX_ROUND_FILE_BYTES} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RoundFileError(
            str(path), None, f"not UTF-8 text (byte {error.start}: {data[error.start]:#04x})"
        ) from None
    return parse_round(text, path.name if path.parent == Path(str(_SHIPPED)) else str(path))
