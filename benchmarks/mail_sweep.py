"""Benchmark: a 1 000-message outbox sweep against raw smtplib, on a local SMTP server.

    .venv/bin/python benchmarks/mail_sweep.py                 # SQLite, 1 000 messages
    .venv/bin/python benchmarks/mail_sweep.py --messages 200

- sweep: ``deliver_pending`` over N queued messages (claim, send, record per message) to a
  local aiosmtpd server, in a fresh SQLite database under a temporary SIO_HOME;
- floor: the same N messages, their bytes built beforehand, sent with raw smtplib over one
  connection (``sendmail``), no database at all.

The server runs in a thread of this process (the test suite's recording server), so it competes
with both sides for the interpreter; ``benchmarks/mail.py`` runs it in a process of its own and
also measures the ``.eml`` mode.

Target (stretch): sweep ≤ 2 × floor. Printed side by side; never asserted.
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deployments.settings import Settings  # noqa: E402
from tasks.mail.mail_delivery import deliver_pending  # noqa: E402
from tasks.mail.outbox import enqueue_mail  # noqa: E402
from tasks.mail.wire_format import MAIL_POLICY, WireRenderer, compose_message  # noqa: E402
from tasks.storage.database import session_for  # noqa: E402
from tests.support.smtp_server import RecordingSmtpServer  # noqa: E402

NOW = datetime(2016, 3, 1, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))
BODY = "Til Stjørdal kommune\n\n" + "Vi viser til søknaden om å delta i forsøket. " * 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    count = parser.parse_args().messages
    server = RecordingSmtpServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(home=Path(folder), smtp_host="127.0.0.1", smtp_port=server.port)
            url = settings.resolved_database_url
            with session_for(url) as session:
                for number in range(count):
                    enqueue_mail(
                        session,
                        key=f"bench/{number}",
                        round_id="sio-2016",
                        kommunenummer="1714",
                        kind="decision_offer",
                        recipients=[f"post{number}@stjordal.kommune.no"],
                        subject="Vedtak om deltakelse i forsøket",
                        body=BODY,
                        due_at=NOW,
                        now=NOW,
                    )
                session.commit()
            started = time.perf_counter()
            report = deliver_pending(url, settings, now=NOW, backoff_seconds=0.0)
            sweep = time.perf_counter() - started
            assert len(report.sent) == count, report

        server.clear()
        renderer = WireRenderer(mail_from="sio@helsedir.no", date=NOW, installation="")
        messages = [  # built before the clock starts: the floor is the wire alone
            (
                f"post{number}@stjordal.kommune.no",
                compose_message(
                    key=f"bench/{number}",
                    recipients=[f"post{number}@stjordal.kommune.no"],
                    subject="Vedtak om deltakelse i forsøket",
                    body=BODY,
                    attachments=[],
                    mail_from="sio@helsedir.no",
                    date=NOW,
                ).as_bytes(policy=MAIL_POLICY),
            )
            for number in range(count)
        ]
        assert messages[0][1] == renderer.render(
            key="bench/0",
            recipients=[messages[0][0]],
            subject="Vedtak om deltakelse i forsøket",
            body=BODY,
        )
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            for recipient, raw in messages:
                client.sendmail("sio@helsedir.no", [recipient], raw)
        floor = time.perf_counter() - started
    finally:
        server.stop()
    sys.stdout.write(
        f"mail sweep, {count} messages: sio {sweep:.2f} s ({sweep / count * 1000:.2f} ms each), "
        f"raw smtplib {floor:.2f} s ({floor / count * 1000:.2f} ms each) "
        f"({sweep / floor:.2f}× the floor; target ≤ 2×)\n"
    )


if __name__ == "__main__":
    main()
