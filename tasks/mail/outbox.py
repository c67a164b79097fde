"""The mail outbox: what sio has decided to send, kept in the application database.

Why a database outbox and not "send now": a flow decides that a municipality must get a letter in
the same transaction that records the state change (an application received, a decision made),
so the two are committed together or not at all. Delivery happens afterwards, row by row
(`tasks.mail.mail_delivery`). The row's unique ``key`` is the exactly-once guard: enqueueing the
same message twice, from a re-run, a retry or two runs racing, leaves one row (PREFECT-NOTES.md,
"Exactly-once": Prefect's cache alone is not a guard).
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tasks.storage.tables import OutgoingAttachment, OutgoingMail

CALENDAR_MIMETYPE = "text/calendar; method=REQUEST; charset=UTF-8"


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message: an ``.ics`` invitation, an agreement, a statement.

    ``mimetype`` may carry parameters (``text/calendar; method=REQUEST; charset=UTF-8``); they
    become the attachment's Content-Type as written.
    """

    filename: str
    mimetype: str
    content: bytes


def calendar_attachment(content: bytes, filename: str = "invitasjon.ics") -> Attachment:
    """An iCalendar invitation (``METHOD:REQUEST``, RFC 5546) as calendar programs expect it."""
    return Attachment(filename=filename, mimetype=CALENDAR_MIMETYPE, content=content)


def enqueue_mail(
    session: Session,
    *,
    key: str,
    round_id: str,
    kommunenummer: str | None,
    kind: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    due_at: datetime,
    now: datetime,
    obligation: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> bool:
    """Add one message to the outbox unless a message with ``key`` is already there.

    Returns True when this call added it, False when the key existed (nothing is changed then).
    Never commits: the caller commits together with the state change the message belongs to.

    Safe when two runs enqueue the same key at once: the insert is ``INSERT … ON CONFLICT (key) DO
    NOTHING`` on SQLite and PostgreSQL, so the unique constraint decides without an error and
    without ending the caller's transaction. Why not a SAVEPOINT around a plain INSERT: with
    Python's sqlite3 driver (as configured in tasks/storage/database.py) a SAVEPOINT opened
    outside a transaction *is* the transaction, and releasing it commits the caller's work. Other
    databases get the SAVEPOINT-and-IntegrityError form.
    """
    values = _row_values(
        key=key,
        round_id=round_id,
        kommunenummer=kommunenummer,
        kind=kind,
        recipients=recipients,
        subject=subject,
        body=body,
        due_at=due_at,
        now=now,
        obligation=obligation,
    )
    mail_id = _insert_unless_key_exists(session, values)
    if mail_id is None:
        return False
    for attachment in attachments:
        session.add(
            OutgoingAttachment(
                mail_id=mail_id,
                filename=attachment.filename,
                mimetype=attachment.mimetype,
                content=attachment.content,
            )
        )
    session.flush()
    return True


def skip_superseded(session: Session, *, now: datetime, round_id: str | None = None) -> list[str]:
    """Mark stale reminders ``skipped`` and return their keys; never commits.

    A reminder is stale when a later reminder about the same obligation (same round,
    municipality and ``obligation``) is already due at ``now``: after the system was down, the
    municipality gets the latest reminder once, not a burst of old ones (issue 3, item 3).
    Messages without an ``obligation`` (letters, invitations) are never skipped here.
    """
    query = select(OutgoingMail).where(
        col(OutgoingMail.obligation).is_not(None), col(OutgoingMail.due_at) <= now
    )
    if round_id is not None:
        query = query.where(col(OutgoingMail.round_id) == round_id)
    rows = list(session.exec(query))
    latest: dict[tuple[str, str | None, str | None], OutgoingMail] = {}
    for row in rows:
        group = (row.round_id, row.kommunenummer, row.obligation)
        current = latest.get(group)
        if current is None or (row.due_at, row.id or 0) > (current.due_at, current.id or 0):
            latest[group] = row
    skipped: list[str] = []
    for row in rows:
        newest = latest[(row.round_id, row.kommunenummer, row.obligation)]
        if row.sent_at is None and row.skipped is None and row.due_at < newest.due_at:
            row.skipped = (
                f"superseded by {newest.key} (due {newest.due_at.isoformat()}); "
                f"skipped at {now.isoformat()}"
            )
            session.add(row)
            skipped.append(row.key)
    session.flush()
    return skipped


def pending(session: Session, *, now: datetime, round_id: str | None = None) -> list[OutgoingMail]:
    """Messages due at ``now`` that are neither sent nor skipped, oldest due first."""
    query = select(OutgoingMail).where(
        col(OutgoingMail.sent_at).is_(None),
        col(OutgoingMail.skipped).is_(None),
        col(OutgoingMail.due_at) <= now,
    )
    if round_id is not None:
        query = query.where(col(OutgoingMail.round_id) == round_id)
    return list(session.exec(query.order_by(col(OutgoingMail.due_at), col(OutgoingMail.id))))


def attachments_of(session: Session, mail: OutgoingMail) -> list[Attachment]:
    """The files stored with ``mail``, in the order they were enqueued."""
    query = (
        select(OutgoingAttachment)
        .where(col(OutgoingAttachment.mail_id) == mail.id)
        .order_by(col(OutgoingAttachment.id))
    )
    return [
        Attachment(filename=row.filename, mimetype=row.mimetype, content=row.content)
        for row in session.exec(query)
    ]


def count_by_kind(session: Session, *, round_id: str | None = None) -> dict[str, int]:
    """How many messages of each kind the outbox holds (for summaries such as `sio simulate`)."""
    query = select(OutgoingMail.kind, func.count()).group_by(OutgoingMail.kind)
    if round_id is not None:
        query = query.where(col(OutgoingMail.round_id) == round_id)
    return dict(session.exec(query).all())


def mark_skipped(session: Session, *, key: str, reason: str) -> bool:
    """Skip an unsent message on purpose (e.g. the obligation closed); True if one was skipped.

    Never commits. A message already sent is left as it is.
    """
    result = session.exec(
        update(OutgoingMail)
        .where(
            col(OutgoingMail.key) == key,
            col(OutgoingMail.sent_at).is_(None),
            col(OutgoingMail.skipped).is_(None),
        )
        .values(skipped=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _row_values(
    *,
    key: str,
    round_id: str,
    kommunenummer: str | None,
    kind: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    due_at: datetime,
    now: datetime,
    obligation: str | None,
) -> dict[str, Any]:
    """The row to insert, after refusing what could never be delivered."""
    if not key.strip():
        raise ValueError("a mail key must not be blank")
    addresses = [address.strip() for address in recipients if address.strip()]
    if not addresses:
        raise ValueError(f"mail {key!r} has no recipients")
    for address in addresses:
        _, parsed = email.utils.parseaddr(address)
        if "," in address or "@" not in parsed or parsed != address:
            raise ValueError(f"mail {key!r}: {address!r} is not a plain e-mail address")
    if "\n" in subject or "\r" in subject:
        raise ValueError(f"mail {key!r}: the subject must be one line")
    for name, instant in (("due_at", due_at), ("now", now)):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"mail {key!r}: {name} must carry a time zone")
    return {
        "key": key,
        "round_id": round_id,
        "kommunenummer": kommunenummer,
        "kind": kind,
        "obligation": obligation,
        "recipients": ",".join(addresses),
        "subject": subject,
        "body": body,
        "created_at": now,
        "due_at": due_at,
        "attempts": 0,
    }


def _insert_unless_key_exists(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the row and return its id, or None when the key is taken (by anyone, any time)."""
    dialect = session.get_bind().dialect.name
    table = OutgoingMail.__table__  # type: ignore[attr-defined]
    if dialect in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id)
        )
        return session.exec(statement).scalar_one_or_none()
    return _insert_in_savepoint(session, values)


def _insert_in_savepoint(session: Session, values: dict[str, Any]) -> int | None:
    """Portable form for other databases: the unique constraint refuses, the savepoint undoes."""
    table = OutgoingMail.__table__  # type: ignore[attr-defined]
    if session.exec(select(table.c.id).where(table.c.key == values["key"])).first() is not None:
        return None
    try:
        with session.begin_nested():
            result = session.exec(insert(table).values(**values))
    except IntegrityError:
        return None
    inserted = result.inserted_primary_key
    return int(inserted[0]) if inserted else None
