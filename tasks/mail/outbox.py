"""The mail outbox: what sio has decided to send, kept in the application database.

Why a database outbox and not "send now": a flow decides that a municipality must get a letter in
the same transaction that records the state change (an application received, a decision made),
so the two are committed together or not at all. Delivery happens afterwards, row by row
(`tasks.mail.mail_delivery`). The row's unique ``key`` is the exactly-once guard: enqueueing the
same
message twice, from a re-run, a retry or two runs racing, leaves one row (Prefect's cache alone
is not a guard).

Each row has an honest state (design decision (D), "nothing lost, nothing stale"):
``queued`` → ``claimed`` (one delivery run is talking to the SMTP server about it) → ``sent``
(every recipient accepted), ``failed`` (a recipient refused permanently with 5xx; the others
were sent), ``dead`` (temporary failures until the attempt limit) — or ``skipped`` (superseded
by a later reminder, or no longer true at sending time). ``failed`` and ``dead`` rows are staff
tasks (`undelivered`); nothing else looks at them, so they never block other mail.
"""

from __future__ import annotations

import email.utils
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tasks.storage.tables import OutgoingAttachment, OutgoingMail
from tasks.storage.tables.mail import Installation

CALENDAR_MIMETYPE = "text/calendar; method=REQUEST; charset=UTF-8"
QUEUED: Final = "queued"
CLAIMED: Final = "claimed"
SENT: Final = "sent"
FAILED: Final = "failed"
DEAD: Final = "dead"
SKIPPED: Final = "skipped"
MAIL_STATES: Final = (QUEUED, CLAIMED, SENT, FAILED, DEAD, SKIPPED)
LANGUAGES: Final = {"nb": "nb", "nn": "nn", "bokmål": "nb", "nynorsk": "nn"}


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
    language: str | None = None,
) -> bool:
    """Add one message to the outbox unless a message with ``key`` is already there.

    Returns True when this call added it, False when the key existed (nothing is changed then).
    Never commits: the caller commits together with the state change the message belongs to.

    Safe when two runs enqueue the same key at once: the insert is ``INSERT … ON CONFLICT (key) DO
    NOTHING`` on SQLite and PostgreSQL, so the unique constraint decides without an error and
    without ending the caller's transaction. Why not a SAVEPOINT around a plain INSERT: with
    Python's sqlite3 driver (as configured in tasks/storage/database.py) a SAVEPOINT opened
    outside a
    transaction *is* the transaction, and releasing it commits the caller's work. Other
    databases get the SAVEPOINT-and-IntegrityError form.

    ``language`` is the letter's written standard, ``"nb"``/``"bokmål"`` or ``"nn"``/``"nynorsk"``
    (the Language Act, språklova); it becomes the Content-Language header. Unset means bokmål.
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
        language=language,
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
    municipality gets the latest reminder once, not a burst of old ones. Messages without an
    ``obligation`` (letters, invitations) are never skipped here.

    Robust against what else may be going on: only ``queued`` rows are skipped (a row another
    run has claimed is in flight and is left alone; a sent, failed or dead row keeps its
    state), a row that was itself skipped never supersedes others, equal due times are ordered
    by id, and the skip is a conditional UPDATE, so a row claimed meanwhile is not touched.
    """
    query = select(OutgoingMail).where(
        col(OutgoingMail.obligation).is_not(None),
        col(OutgoingMail.due_at) <= now,
        col(OutgoingMail.state) != SKIPPED,
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
        if row.state != QUEUED or newest.id == row.id:
            continue
        reason = (
            f"superseded by {newest.key} (due {newest.due_at.isoformat()}); "
            f"skipped at {now.isoformat()}"
        )
        if _skip_if_queued(session, row.key, reason):
            skipped.append(row.key)
    session.flush()
    return skipped


def pending(session: Session, *, now: datetime, round_id: str | None = None) -> list[OutgoingMail]:
    """Messages a delivery run at ``now`` may take, oldest due first.

    ``queued`` rows whose ``due_at`` and ``next_attempt_at`` have come, and ``claimed`` rows
    (the delivery run decides whether their claim is stale, i.e. its run died in flight).
    """
    query = select(OutgoingMail).where(
        col(OutgoingMail.state).in_((QUEUED, CLAIMED)),
        col(OutgoingMail.due_at) <= now,
        or_(
            col(OutgoingMail.next_attempt_at).is_(None),
            col(OutgoingMail.next_attempt_at) <= now,
        ),
    )
    if round_id is not None:
        query = query.where(col(OutgoingMail.round_id) == round_id)
    return list(session.exec(query.order_by(col(OutgoingMail.due_at), col(OutgoingMail.id))))


@dataclass(frozen=True)
class UndeliveredMail:
    """A staff task: a message that did not reach everyone, and why (state ``failed``/``dead``)."""

    key: str
    round_id: str
    kommunenummer: str | None
    kind: str
    state: str
    reason: str
    refused: tuple[str, ...]  # the recipients that did not get it
    attempts: int


def undelivered(session: Session, *, round_id: str | None = None) -> list[UndeliveredMail]:
    """Failed and dead messages with the server's reply per recipient, for staff's task list."""
    query = select(OutgoingMail).where(col(OutgoingMail.state).in_((FAILED, DEAD)))
    if round_id is not None:
        query = query.where(col(OutgoingMail.round_id) == round_id)
    tasks: list[UndeliveredMail] = []
    for row in session.exec(query.order_by(col(OutgoingMail.due_at), col(OutgoingMail.id))):
        replies = recipient_replies(row)
        refused = tuple(address for address, (state, _) in replies.items() if state != SENT)
        tasks.append(
            UndeliveredMail(
                key=row.key,
                round_id=row.round_id,
                kommunenummer=row.kommunenummer,
                kind=row.kind,
                state=row.state,
                reason=row.last_error or "no reply recorded",
                refused=refused,
                attempts=row.attempts,
            )
        )
    return tasks


def requeue(session: Session, *, key: str, now: datetime) -> bool:
    """Offer a failed or dead message again (after staff fixed an address); never commits.

    Only the recipients that did not get it are tried again; those that did are not sent a copy.
    """
    result = session.exec(
        update(OutgoingMail)
        .where(col(OutgoingMail.key) == key, col(OutgoingMail.state).in_((FAILED, DEAD)))
        .values(state=QUEUED, next_attempt_at=now, attempts=0)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    row = session.exec(select(OutgoingMail).where(col(OutgoingMail.key) == key)).one()
    session.refresh(row)
    replies = {
        address: (SENT if state == SENT else "pending", reply)
        for address, (state, reply) in recipient_replies(row).items()
    }
    row.replies = encode_replies(replies)
    session.add(row)
    session.flush()
    return True


def recipient_replies(mail: OutgoingMail) -> dict[str, tuple[str, str]]:
    """Per recipient: its state (``sent``, ``failed``, ``pending``) and the server's last reply."""
    return parse_replies(mail.recipients, mail.replies)


def parse_replies(recipients: str, encoded: str | None) -> dict[str, tuple[str, str]]:
    """`recipient_replies` from the two stored columns (``recipients``, ``replies``)."""
    stored: dict[str, Any] = json.loads(encoded) if encoded else {}
    replies: dict[str, tuple[str, str]] = {}
    for address in recipients.split(","):
        entry = stored.get(address) or {}
        replies[address] = (str(entry.get("state", "pending")), str(entry.get("reply", "")))
    return replies


def encode_replies(replies: dict[str, tuple[str, str]]) -> str:
    """The JSON stored in ``OutgoingMail.replies``."""
    return _REPLIES_JSON.encode(
        {address: {"state": state, "reply": reply} for address, (state, reply) in replies.items()}
    )


_REPLIES_JSON: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def installation_id(session: Session) -> str:
    """This installation's random identifier (made by the migration; made here if missing)."""
    found = session.exec(select(Installation.id)).first()
    if found is not None:
        return found
    identifier = uuid.uuid4().hex[:16]
    session.add(Installation(id=identifier))
    session.flush()
    return identifier


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
    """Skip a queued message on purpose (e.g. the obligation closed); True if one was skipped.

    Never commits. A message sent, failed, dead or in flight (claimed) is left as it is.
    """
    return _skip_if_queued(session, key, reason)


def _skip_if_queued(session: Session, key: str, reason: str) -> bool:
    result = session.exec(
        update(OutgoingMail)
        .where(col(OutgoingMail.key) == key, col(OutgoingMail.state) == QUEUED)
        .values(skipped=reason, state=SKIPPED)
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
    language: str | None,
) -> dict[str, Any]:
    """The row to insert, after refusing what could never be delivered."""
    if not key.strip():
        raise ValueError("a mail key must not be blank")
    addresses = list(dict.fromkeys(address.strip() for address in recipients if address.strip()))
    if not addresses:
        raise ValueError(f"mail {key!r} has no recipients")
    for address in addresses:
        _, parsed = email.utils.parseaddr(address)
        if "," in address or "@" not in parsed or parsed != address:
            raise ValueError(f"mail {key!r}: {address!r} is not a plain e-mail address")
    if "\n" in subject or "\r" in subject:
        raise ValueError(f"mail {key!r}: the subject must be one line")
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"mail {key!r}: language {language!r} is not nb, nn, bokmål or nynorsk")
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
        "subject": " ".join(subject.split()),
        "body": body,
        "created_at": now,
        "due_at": due_at,
        "attempts": 0,
        "state": QUEUED,
        "language": LANGUAGES[language] if language else "nb",
        "replies": encode_replies(dict.fromkeys(addresses, ("pending", ""))),
    }


def _insert_unless_key_exists(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the row and return its id, or None when the key is taken (by anyone, any time)."""
    dialect = session.get_bind().dialect.name
    table = OutgoingMail.__table__  # type: ignore[attr-defined]
    if dialect in ("sqlite", "postgresql"):
        dialect_insert: Any  # each dialect's module only when used (PostgreSQL's is large)
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        statement = (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id)
        )
        inserted: int | None = session.exec(statement).scalar_one_or_none()
        return inserted
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
