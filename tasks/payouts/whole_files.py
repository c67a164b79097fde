"""Files a payout run leaves for people (statements, pain.001 payment files): whole or not at all.

A statement or payment file may be opened, mailed or sent to the bank at any moment, also after
the run was killed halfway (``kill -9``, a power cut). So each file is written beside its final
name and renamed into place: a reader sees the old file, no file, or the whole new one — never
a half-written file (design decision (D): nothing stored is half-written).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that ``path`` never holds part of it.

    The temporary name is fixed (hidden, beside the target): a repeated run after a kill
    writes the same temporary file again and renames it, so a kill leaves nothing behind
    that the next run does not clear up.
    """
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with temporary.open("wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
