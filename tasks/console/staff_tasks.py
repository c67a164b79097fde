"""The staff task list from the database, and its escalation by mail (oppgaver, eskalering).

The rules are pure (:mod:`sio_domain.staff_tasks`); here the inputs they need beyond the trial's
state are read — the latest payout run's held-back payees, letters the mail server refused, when a
letter was found to have no recipient — and an escalation letter is queued in the outbox under a
key of its own, so each task is escalated once (design decision D).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from sio_domain.round_definition import RoundDefinition
from sio_domain.staff_tasks import (
    FailedMail,
    HeldPayout,
    StaffTask,
    due_escalations,
    escalation_key,
    local_day,
    staff_tasks,
)
from sio_domain.trial_state import TrialState
from tasks.mail.outbox import enqueue_mail
from tasks.storage.tables import AuditEntry, OutgoingMail, StageMark


def held_payouts(session: Session, round_id: str) -> list[HeldPayout]:
    """The payees the latest payout run of the round held back (from its audit entry)."""
    entry = session.exec(
        select(AuditEntry)
        .where(AuditEntry.round_id == round_id, AuditEntry.what == "payout_run")
        .order_by(col(AuditEntry.id).desc())
    ).first()
    if entry is None:
        return []
    detail = json.loads(entry.detail or "{}")
    reasons: Mapping[str, Sequence[str]] = detail.get("held_reasons", {})
    return [
        HeldPayout(
            knr,
            str(detail.get("run", "?")),
            tuple(reasons.get(knr, ("se utbetalingskjøringen",))),
            local_day(entry.at),
        )
        for knr in detail.get("held", [])
    ]


def failed_mail(session: Session, round_id: str) -> list[FailedMail]:
    """Letters not sent whose last delivery attempt the mail server refused."""
    rows = session.exec(
        select(OutgoingMail).where(
            OutgoingMail.round_id == round_id,
            col(OutgoingMail.sent_at).is_(None),
            col(OutgoingMail.skipped).is_(None),
            col(OutgoingMail.last_error).is_not(None),
        )
    ).all()
    return [
        FailedMail(
            row.key,
            row.kommunenummer,
            row.subject,
            (row.last_error or "")[:120],
            local_day(row.due_at),
        )
        for row in rows
    ]


def unaddressed_since(session: Session, round_id: str) -> dict[str, date]:
    """When each ``unaddressed:<key>`` mark was first made."""
    rows = session.exec(
        select(StageMark.mark, StageMark.done_at).where(
            StageMark.round_id == round_id,
            col(StageMark.mark).startswith("unaddressed:"),
        )
    ).all()
    return {mark: local_day(done_at) for mark, done_at in rows}


def tasks_in(session: Session, state: TrialState) -> list[StaffTask]:
    """The staff's task list for the state, with the database's held, failed and unaddressed."""
    round_id = state.round_def.id
    return staff_tasks(
        state,
        held=held_payouts(session, round_id),
        failed_mail=failed_mail(session, round_id),
        unaddressed_since=unaddressed_since(session, round_id),
    )


def task_rows(
    tasks: Sequence[StaffTask], state: TrialState, links: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The task list as table rows for staff (bokmål headers), oldest first."""
    links = links or {}
    return [
        {
            "venter siden": f"{task.since:%d.%m.%Y}",
            "virkedager": str(task.waited(state.today)),
            "kommune": f"{state.name(task.kommunenummer)} ({task.kommunenummer})"
            if task.kommunenummer
            else "hele runden",
            "oppgave": task.kind,
            "hva som må gjøres": task.what,
            "skjema": links.get(task.action, task.action),
        }
        for task in tasks
    ]


def escalate(
    session: Session,
    round_def: RoundDefinition,
    tasks: Sequence[StaffTask],
    *,
    today: date,
    now: datetime,
    staff_address: str,
) -> list[str]:
    """Queue one escalation letter to staff per task waited too long; never commits.

    Returns the outbox keys added by this call (a key already there adds nothing).
    """
    limit = round_def.staff.escalate_after_working_days
    added = []
    for task in due_escalations(tasks, today, limit):
        key = escalation_key(round_def.id, task)
        subject = f"Oppgave venter i {task.waited(today)} virkedager: {task.kind}"
        body = (
            f"{round_def.title}\n\n{task.what}\n\nVentet siden {task.since:%d.%m.%Y}. "
            f"Gjøres i Prefect: {task.action}.\n"
        )
        if enqueue_mail(
            session,
            key=key,
            round_id=round_def.id,
            kommunenummer=task.kommunenummer,
            kind="staff_escalation",
            recipients=[staff_address],
            subject=subject,
            body=body,
            due_at=now,
            now=now,
        ):
            added.append(key)
    return added
