"""Automations ``sio up`` creates: staff hear of a run waiting for input, failed, or late.

Prefect's open-source server has no mail notifier, so each automation runs the ``notify-staff``
deployment (:func:`flows.staff_actions.notify_staff`), which queues the notice in sio's outbox and
sends it by sio's own SMTP path. A notice's outbox key is the event's id: once per event. Created
idempotently by name (an existing automation is replaced with the current definition).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

NOTIFY_DEPLOYMENT = "notify-staff/varsel"
RUN = {"prefect.resource.id": "prefect.flow-run.*"}


def _jinja(template: str) -> dict[str, str]:
    return {"__prefect_kind": "jinja", "template": template}


def automation_specs() -> list[tuple[str, str, Any]]:
    """(name, notice subject, trigger) of each automation."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    return [
        (
            "sio: kjøring venter på input",
            "Venter på input: {{ flow_run.name }}",
            EventTrigger(
                match=RUN,
                expect={"prefect.flow-run.Suspended", "prefect.flow-run.Paused"},
                posture=Posture.Reactive,
                threshold=1,
            ),
        ),
        (
            "sio: kjøring feilet",
            "Feilet: {{ flow_run.name }}",
            EventTrigger(
                match=RUN,
                expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                posture=Posture.Reactive,
                threshold=1,
            ),
        ),
        (
            "sio: kjøring over en time forsinket",
            "Forsinket over en time: {{ flow_run.name }}",
            EventTrigger(
                match=RUN,
                after={"prefect.flow-run.Late"},
                expect={"prefect.flow-run.Pending", "prefect.flow-run.Running"},
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(hours=1),
            ),
        ),
    ]


def ensure_automations() -> int:
    """Create (or replace) the staff automations; returns how many now exist."""
    from prefect.automations import Automation, RunDeployment
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        notify = client.read_deployment_by_name(NOTIFY_DEPLOYMENT)
        existing = {a.name: a for a in client.read_automations()}
        for name, subject, trigger in automation_specs():
            if name in existing:
                client.delete_automation(existing[name].id)
            Automation(
                name=name,
                description="Varsler Helsedirektoratet på e-post (sio sin utboks)",
                trigger=trigger,
                actions=[
                    RunDeployment(
                        source="selected",
                        deployment_id=notify.id,
                        parameters={
                            "subject": _jinja(subject),
                            "message": _jinja(
                                "{{ flow_run.name }}: {{ flow_run.state.name }}. "
                                "Se kjøringen i Prefect: /runs/flow-run/{{ flow_run.id }}"
                            ),
                            "key": _jinja("{{ event.id }}"),
                        },
                    )
                ],
            ).create()
    return len(automation_specs())


def create_later(wait_seconds: float = 5.0, attempts: int = 12) -> threading.Thread:
    """Create the automations once ``serve`` has registered the notice deployment (a thread)."""

    def create() -> None:
        import sys

        for _ in range(attempts):
            time.sleep(wait_seconds)
            try:
                ensure_automations()
                return
            except Exception as error:  # noqa: BLE001 — the server keeps serving
                last = error
        print(f"sio: could not create the automations: {last}", file=sys.stderr)  # noqa: T201

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    return thread
