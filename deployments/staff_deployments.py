"""Where the staff's forms are served: one deployment per staff action, beside the stages.

Each action is one deployment named ``skjema`` (``registrer-signatur/skjema``): the round is a
choice on the form, so staff find one form per action, not one per round. They have no schedule;
a person starts them from the UI (Run → custom run), or an automation does (``notify-staff``).
"""

from __future__ import annotations

from typing import Any

FORM = "skjema"


def staff_deployments() -> list[Any]:
    """The staff actions and the staff notice as deployments without schedules."""
    from flows.staff_actions import STAFF_ACTIONS, form_schema, notify_staff

    result = []
    for action in STAFF_ACTIONS:
        deployment = action.to_deployment(
            name=FORM,
            tags=["staff"],
            description=(action.description or action.name).splitlines()[0],
        )
        # Prefect titles a field with its parameter name; the form staff see speaks bokmål.
        deployment._parameter_openapi_schema = form_schema(action)
        result.append(deployment)
    result.append(
        notify_staff.to_deployment(
            name="varsel",
            tags=["staff"],
            description="Sender et varsel til Helsedirektoratets fellesadresse (automasjoner)",
        )
    )
    return result
