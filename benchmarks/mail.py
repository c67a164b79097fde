"""Benchmark: a 1 000-message sweep through the outbox against raw smtplib and plain file writes.

    .venv/bin/python benchmarks/mail.py                 # 1 000 messages, 3 interleaved rounds
    .venv/bin/python benchmarks/mail.py --messages 200 --repeat 5

Per round, each in a fresh SQLite database holding the same ``--messages`` queued messages
(``tasks.mail.outbox.enqueue_mail``: one recipient each, a Norwegian subject and a 700-character
body,
all due):

- SMTP: ``tasks.mail.mail_delivery.deliver_pending`` to a local SMTP server (aiosmtpd, in a
process of
  its own, accepting and counting every message) — claims, audit rows and commits included;
- SMTP floor: the same messages' bytes sent by raw ``smtplib`` over one connection to the same
  server (``sendmail`` per message; the bytes are built before the clock starts);
- .eml: ``deliver_pending`` with no SMTP server configured (one ``.eml`` file per message);
- .eml floors: the same bytes written as plain files (``write_bytes``), and written durably one
  by one (temporary file, fsync, rename), as the outbox did before it flushed in groups.

Figures are medians with the interquartile range; the machine is shared, so each sweep runs
right before its floor, in every round, and the ratio of each such pair is printed too (a
neighbour's load moves both alike). Targets: SMTP ≤ 2 × its floor; .eml ≤ 3 × plain writes.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2016, 1, 21, 8, tzinfo=UTC)
SENDER = "sio@helsedir.no"
SUBJECT = "Påminning: signert samarbeidsavtale innan 1. februar 2016"
BODY = (
    "Hei,\n\nDette er ei påminning om fristen for å sende inn signert samarbeidsavtale i forsøket "
    "med statleg finansiering av omsorgstenester. Fristen er 1. februar 2016. "
) * 3 + "\n\nVenleg helsing\nHelsedirektoratet\n"

SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    samples: dict[str, list[float]] = {
        name: [] for name in ("smtp", "smtp floor", "eml", "plain writes", "durable writes")
    }
    cpu_samples: dict[str, list[float]] = {name: [] for name in samples}
    try:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as scratch:
                measure_round(Path(scratch), args.messages, port, samples, cpu_samples)
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(timeout=30)
    report(samples, args.messages, args.repeat)
    cpu = {name: statistics.median(values) for name, values in cpu_samples.items()}
    print(
        "CPU time of this process, ms a message (the SMTP floor's is small: it mostly waits for "
        "the server): "
        + ", ".join(f"{name} {v / args.messages * 1000:.2f}" for name, v in cpu.items())
    )


def measure_round(
    scratch: Path,
    count: int,
    port: int,
    samples: dict[str, list[float]],
    cpu_samples: dict[str, list[float]],
) -> None:
    from deployments.settings import Settings
    from tasks.mail.mail_delivery import deliver_pending

    smtp_settings = Settings(home=scratch / "smtp", smtp_host="127.0.0.1", smtp_port=port)
    eml_settings = Settings(home=scratch / "eml")
    for settings in (smtp_settings, eml_settings):
        settings.home.mkdir(parents=True)
        _queue(settings.resolved_database_url, count)

    eml_files = _eml_bytes(eml_settings, count)  # the bytes the .eml sweep will write
    start, cpu = time.perf_counter(), time.process_time()
    report = deliver_pending(smtp_settings.resolved_database_url, smtp_settings, now=NOW)
    samples["smtp"].append(time.perf_counter() - start)
    cpu_samples["smtp"].append(time.process_time() - cpu)
    assert len(report.sent) == count, report

    start, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port) as connection:
        for index, (_name, raw) in enumerate(eml_files):
            connection.sendmail(SENDER, [f"post{index}@k{index}.kommune.no"], raw)
    samples["smtp floor"].append(time.perf_counter() - start)
    cpu_samples["smtp floor"].append(time.process_time() - cpu)

    start, cpu = time.perf_counter(), time.process_time()
    report = deliver_pending(eml_settings.resolved_database_url, eml_settings, now=NOW)
    samples["eml"].append(time.perf_counter() - start)
    cpu_samples["eml"].append(time.process_time() - cpu)
    files = sorted(eml_settings.outbox_dir.glob("*.eml"))
    assert len(report.sent) == count == len(files), report
    messages = [(path.name, path.read_bytes()) for path in files]
    assert messages == sorted(eml_files)  # the floors write exactly what the sweep wrote

    plain = scratch / "plain"
    plain.mkdir()
    start, cpu = time.perf_counter(), time.process_time()
    for name, raw in messages:
        (plain / name).write_bytes(raw)
    samples["plain writes"].append(time.perf_counter() - start)
    cpu_samples["plain writes"].append(time.process_time() - cpu)

    durable = scratch / "durable"
    durable.mkdir()
    start, cpu = time.perf_counter(), time.process_time()
    for name, raw in messages:
        temporary = durable / f".{name}.tmp"
        with temporary.open("wb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, durable / name)
    samples["durable writes"].append(time.perf_counter() - start)
    cpu_samples["durable writes"].append(time.process_time() - cpu)


def report(samples: dict[str, list[float]], count: int, repeat: int) -> None:
    print(f"{count} messages — medians of {repeat} interleaved rounds, s (IQR), ms a message")
    print(f"load average after the runs: {os.getloadavg()[0]:.2f} (2 cores)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<16} {_figure(values):>16}  {median / count * 1000:>7.2f} ms")
    smtp = statistics.median(samples["smtp"]) / statistics.median(samples["smtp floor"])
    eml = statistics.median(samples["eml"]) / statistics.median(samples["plain writes"])
    durable = statistics.median(samples["eml"]) / statistics.median(samples["durable writes"])
    print(
        f"SMTP sweep / raw smtplib: {smtp:.2f}× (target ≤ 2×: {'met' if smtp <= 2 else 'NOT met'})"
    )
    print(
        f".eml sweep / plain writes: {eml:.2f}× (target ≤ 3×: {'met' if eml <= 3 else 'NOT met'})"
    )
    print(f".eml sweep / durable writes (fsync + rename): {durable:.2f}×")
    for name, floor in (("SMTP", "smtp floor"), (".eml", "plain writes")):
        measured = "smtp" if name == "SMTP" else "eml"
        paired = [m / f for m, f in zip(samples[measured], samples[floor], strict=True)]
        print(
            f"{name} / floor in each round (measured back to back): median "
            f"{statistics.median(paired):.2f}×, range {min(paired):.2f}–{max(paired):.2f}×"
        )


def _eml_bytes(settings: Any, count: int) -> list[tuple[str, bytes]]:
    """Each queued message's file name and bytes, built as the sweep builds them."""
    from tasks.mail.outbox import installation_id
    from tasks.mail.wire_format import WireRenderer, eml_filename
    from tasks.storage.database import session_for

    with session_for(settings.resolved_database_url) as session:
        installation = installation_id(session)
    renderer = WireRenderer(mail_from=settings.mail_from, date=NOW, installation=installation)
    return [
        (
            eml_filename(f"benchmark:sio-2016:{6000 + index}:agreement:7"),
            renderer.render(
                key=f"benchmark:sio-2016:{6000 + index}:agreement:7",
                recipients=[f"post{index}@k{index}.kommune.no"],
                subject=SUBJECT,
                body=BODY,
            ),
        )
        for index in range(count)
    ]


def _queue(database_url: str, count: int) -> None:
    """``count`` due messages in the outbox, committed together."""
    from tasks.mail.outbox import enqueue_mail
    from tasks.storage.database import session_for

    with session_for(database_url) as session:
        for index in range(count):
            enqueue_mail(
                session,
                key=f"benchmark:sio-2016:{6000 + index}:agreement:7",
                round_id="sio-2016",
                kommunenummer=None,
                kind="agreement_reminder",
                recipients=[f"post{index}@k{index}.kommune.no"],
                subject=SUBJECT,
                body=BODY,
                due_at=NOW - timedelta(hours=1),
                now=NOW - timedelta(hours=2),
            )
        session.commit()


def _figure(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"{samples[0]:.3f}"
    q1, _q2, q3 = statistics.quantiles(samples, n=4)
    return f"{statistics.median(samples):.3f} ({q3 - q1:.3f})"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
