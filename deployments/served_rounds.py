"""The rounds ``sio up`` serves: the shipped ones, and the user's own round files in its folder.

Why a folder: the shipped rounds all lie in the past, so their schedules find nothing to do. A
round file placed in ``$SIO_HOME/rounds/`` (a coming round, or a copy of a shipped one moved
ahead to try the system out) is served like a shipped round — one deployment per stage, named
after the round's id — and gets its dated runs and payout runs, so the UI shows its calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sio_domain.round_definition import RoundDefinition
from sio_domain.round_parsing import RoundFileError

ROUNDS_FOLDER = "rounds"
"""The folder in ``SIO_HOME`` whose ``*.toml`` round files ``sio up`` serves too."""


@dataclass(frozen=True)
class ServedRound:
    """A round ``sio up`` serves: the reference its flows load it by, and its definition."""

    ref: str
    """The shipped round's id, or the path of the user's round file."""
    round_def: RoundDefinition


def rounds_folder(home: Path) -> Path:
    """``$SIO_HOME/rounds``: where the user's own round files are served from."""
    return home / ROUNDS_FOLDER


def served_rounds(home: Path) -> list[ServedRound]:
    """The shipped rounds in chronological order, then the folder's round files by name.

    A round file that does not parse, or whose id is already served, stops ``sio up`` with one line
    naming the file (``RoundFileError``): serving half of what the user put there would hide it.
    """
    from tasks.intake.round_files import load_round, shipped_round_ids

    result = [ServedRound(round_id, load_round(round_id)) for round_id in shipped_round_ids()]
    folder = rounds_folder(home)
    if not folder.is_dir():
        return result
    taken = {served.round_def.id: served.ref for served in result}
    for path in sorted(folder.glob("*.toml")):
        round_def = load_round(str(path))
        if round_def.id in taken:
            raise RoundFileError(
                str(path), "id", f"{round_def.id!r} is already served (by {taken[round_def.id]})"
            )
        taken[round_def.id] = str(path)
        result.append(ServedRound(str(path), round_def))
    return result
