"""Prefect's settings for commands that run flows, decided before Prefect is imported.

Without PREFECT_API_URL, flows report to Prefect's ephemeral local server; its files go under
SIO_HOME (not ~/.prefect), in a database separate from sio's own (PREFECT-NOTES.md: one SQLite for
both locks up). Heartbeats are switched off for these short runs: they cost a second per run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from deployments.settings import Settings


def configure(settings: Settings) -> None:
    """Set Prefect's home and result storage under SIO_HOME unless the user chose otherwise."""
    home = settings.home / "prefect"
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(home / "storage"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
    home.mkdir(parents=True, exist_ok=True)


@contextmanager
def quick_runs() -> Iterator[None]:
    """Flow runs without heartbeats (measured: ~1 s saved per run)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
