"""Where sio's database is, read from ``SIO_DATABASE_URL`` / ``SIO_HOME`` without pydantic-settings.

Why beside ``deployments.settings``: a look-up such as ``sio plan --kommune`` needs only to know
where imported municipalities are kept, and importing pydantic-settings (it imports asyncio,
dotenv and its cloud sources) cost it about 50 ms. The answer is the one ``Settings`` gives — a
test compares the two — with the same rules: names are not case-sensitive, an empty variable
means unset, ``~`` is expanded and the home made absolute.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_HOME = "~/.local/share/sio"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """``SIO_DATABASE_URL``, or the SQLite file ``sio.db`` in ``SIO_HOME`` (as ``Settings``)."""
    variables = {
        name.upper(): value for name, value in (os.environ if environ is None else environ).items()
    }
    url = variables.get("SIO_DATABASE_URL")
    if url:
        return url
    home = Path(variables.get("SIO_HOME") or DEFAULT_HOME).expanduser().absolute()
    return f"sqlite:///{home / 'sio.db'}"
