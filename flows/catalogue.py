"""Every flow by its contract name (``sio run FLOW``), imported only when asked for."""

from __future__ import annotations

from importlib import import_module
from typing import Any

FLOW_NAMES = (
    "application-deadline",
    "selection",
    "signing",
    "gatherings",
    "go-live",
    "status-meetings",
    "reminders",
    "payout",
)

_LOCATIONS = {
    "application-deadline": ("flows.lifecycle", "application_deadline"),
    "selection": ("flows.selection", "selection"),
    "signing": ("flows.lifecycle", "signing"),
    "gatherings": ("flows.lifecycle", "gatherings"),
    "go-live": ("flows.lifecycle", "go_live"),
    "status-meetings": ("flows.lifecycle", "status_meetings"),
    "reminders": ("flows.lifecycle", "reminders"),
    "payout": ("flows.payout", "payout"),
}


def flow_named(name: str) -> Any:
    """The Prefect flow for a flow name of the command contract; ValueError naming the known
    ones."""
    if name not in _LOCATIONS:
        raise ValueError(f"FLOW: {name!r} is not a flow ({', '.join(FLOW_NAMES)})")
    module, attribute = _LOCATIONS[name]
    return getattr(import_module(module), attribute)
