"""A delivery run in its own process, to be killed with SIGKILL at a random moment by a test.

Usage: ``python -m tests.support.delivery_victim DATABASE_URL SMTP_PORT HOME``; ``SMTP_PORT``
``eml`` writes ``.eml`` files into ``HOME/outbox`` instead (no SMTP server), printing
``writing`` as it starts on the first file. Prints ``ready`` once imported and connected, then
delivers everything due (as a scheduled run would) and exits.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from deployments.settings import Settings
from tasks.mail.mail_delivery import FileOutbox, Replies, deliver_pending
from tasks.storage.database import ensure_upgraded

NOW = datetime(2015, 11, 10, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))


def main(database_url: str, smtp_port: str, home: str) -> None:
    ensure_upgraded(database_url)
    if smtp_port == "eml":
        settings = Settings(home=Path(home))
        _say_when_writing_starts()
    else:
        settings = Settings(home=Path(home), smtp_host="127.0.0.1", smtp_port=int(smtp_port))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    deliver_pending(database_url, settings, now=NOW, backoff_seconds=0.0)
    sys.stdout.write("done\n")


def _say_when_writing_starts() -> None:
    """Print ``writing`` as the first ``.eml`` file is written, so a kill can aim at the files."""
    send = FileOutbox.send

    def announced(outbox: FileOutbox, raw: bytes, **details: Any) -> Replies:
        FileOutbox.send = send  # type: ignore[method-assign]
        sys.stdout.write("writing\n")
        sys.stdout.flush()
        return send(outbox, raw, **details)

    FileOutbox.send = announced  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    main(*sys.argv[1:4])
