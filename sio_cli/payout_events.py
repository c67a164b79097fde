"""A payout paid on the command line, into Prefect's Event Feed as one paid in the UI.

The payout flow emits ``sio.payout.paid`` and ``sio.payout.held`` per municipality and quarter
once a run has paid (tasks/console/domain_events.py, :func:`payout_events`). ``sio payout
approve`` — and ``sio payout ROUND --run`` when it is what pays — emits those same events: same
names, resources and payload, made by that one function. Only the command that paid the run
(status ``paid``) sends them, so they are sent once: a repeated approval of a paid run is
refused (it pays nothing twice) and a repeated hold finds the run already run.

The Prefect API is the one ``sio run`` reports to (sio_cli/prefect_environment.py):
``PREFECT_API_URL`` if set, else ``sio up``'s address if a server answers there, with
``SIO_API_AUTH`` as its credentials. No temporary server is started for a few events: without
an API one line on stderr says the events were not sent. The approval and payment are committed
before that either way; the SQL audit log stays the record (design decision (D)).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from deployments.settings import Settings
    from tasks.payouts.payout_engine import PayoutResult

DRAIN_SECONDS = 15.0
"""How long the command waits for Prefect's events worker to hand the events to the API."""


def send_payout_events(result: PayoutResult, settings: Settings) -> int:
    """Emit the events of a run this command paid; returns how many were handed to Prefect."""
    if result.status != "paid":
        return 0
    from sio_cli.prefect_environment import DEFAULT_API_URL, answers_health_check

    api_url = os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL
    if not answers_health_check(api_url):
        return _not_sent(result, f"no Prefect API answers at {api_url}")
    # Prefect's events worker reads its API in a thread of its own: from the environment.
    os.environ.setdefault("PREFECT_API_URL", api_url)
    if settings.api_auth is not None:  # the credentials `sio up` asks its clients for
        os.environ.setdefault("PREFECT_API_AUTH_STRING", settings.api_auth.get_secret_value())
    try:
        sent = _emit(result, api_url, os.environ.get("PREFECT_API_AUTH_STRING"))
    except Exception as error:  # noqa: BLE001 — the payment is committed; say so in one line
        return _not_sent(result, str(error).splitlines()[0] if str(error) else repr(error))
    typer.echo(f"sio: {sent} events of run {result.run} sent to Prefect's Event Feed", err=True)
    return sent


def _emit(result: PayoutResult, api_url: str, auth: str | None) -> int:
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from tasks.console.domain_events import emit_all, payout_events

    updates: dict[Any, Any] = {PREFECT_API_URL: api_url}
    if auth is not None:
        updates[PREFECT_API_AUTH_STRING] = auth
    with temporary_settings(updates=updates):
        sent = emit_all(payout_events(result, result.as_of))
        EventsWorker.drain_all(timeout=DRAIN_SECONDS)  # handed to the API before the command ends
    return sent


def _not_sent(result: PayoutResult, why: str) -> int:
    typer.echo(
        f"sio: run {result.run} is approved and paid, but its events (sio.payout.paid,"
        f" sio.payout.held) could not be sent: {why} (start `sio up` or set PREFECT_API_URL)",
        err=True,
    )
    return 0
