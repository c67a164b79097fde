"""The staff task list from the database, and its escalation by mail (oppgaver, eskalering).

The rules are pure (:mod:`sio_domain.staff_tasks`); here the inputs they need beyond the trial's
state are read — the latest payout run's held-back payees, letters the mail server refused, when a
letter was found to have no recipient — and an escalation letter is queued in the outbox under a
key of its own, so each task is escalated once (design decision D).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from sio_domain.hold_reasons import staff_wordings
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
    """The payees the latest payout run of the round held back (from its audit entry).

    The entry keeps the run's reasons as it gave them (English, machine-readable); the task list
    and the case file show them to staff in bokmål (:mod:`sio_domain.hold_reasons`).
    """
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
            tuple(staff_wordings(reasons.get(knr, ("se utbetalingskjøringen",)))),
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


LINE_BREAK = "  \n"
"""A hard line break in a table cell: the UI renders each cell as markdown and never wraps it."""
WRAP_AT = {"kommune": 13, "hva som må gjøres": 26}
"""Characters per line of the long columns: five columns fit the artifact pane (724 px) of a
1 280 px window. The task's kind (at most 24 characters) stays on one line, as staff search it."""


def wrapped(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (long words broken too)."""
    return LINE_BREAK.join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def _working_days(count: int) -> str:
    return "virkedag" if count == 1 else "virkedager"


def form_label(action: str, url: str | None) -> str:
    """A short link to the form (or run) that does the task; its name when not served."""
    if url is None:
        return action.replace("/", "/" + LINE_BREAK)
    return f"[{'skjema' if action.endswith('/skjema') else 'kjøring'}]({url})"


def task_rows(
    tasks: Sequence[StaffTask], state: TrialState, links: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The task list as table rows for staff (bokmål headers), oldest first.

    ``links`` maps an action (``registrer-signatur/skjema``) to its form's UI path. Cells are
    short or wrapped, so the table fits the pane without scrolling sideways.
    """
    links = links or {}
    return [
        {
            "venter siden": f"{task.since:%d.%m.%Y}{LINE_BREAK}"
            f"{task.waited(state.today)} {_working_days(task.waited(state.today))}",
            "kommune": wrapped(
                f"{state.name(task.kommunenummer)} ({task.kommunenummer})"
                if task.kommunenummer
                else "hele runden",
                WRAP_AT["kommune"],
            ),
            "oppgave": task.kind,
            "hva som må gjøres": wrapped(task.what, WRAP_AT["hva som må gjøres"]),
            "skjema": form_label(task.action, links.get(task.action)),
        }
        for task in tasks
    ]


def escalations_to_queue(
    session: Session, round_def: RoundDefinition, tasks: Sequence[StaffTask], *, today: date
) -> list[tuple[StaffTask, str]]:
    """The tasks due to be escalated ``today`` with their outbox keys, less those escalated
    already: each task waited ``staff.escalate_after_working_days`` working days is escalated
    once, under its own key (design decision D). What a run's decision reports as due and what
    `escalate` queues are this one list."""
    limit = round_def.staff.escalate_after_working_days
    due = [
        (task, escalation_key(round_def.id, task)) for task in due_escalations(tasks, today, limit)
    ]
    if not due:
        return []
    keys = [key for _task, key in due]
    queued = set(session.exec(select(OutgoingMail.key).where(col(OutgoingMail.key).in_(keys))))
    return [(task, key) for task, key in due if key not in queued]


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
    added = []
    for task, key in escalations_to_queue(session, round_def, tasks, today=today):
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
