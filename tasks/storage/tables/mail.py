"""The outbox: every message sio sends, keyed so that it goes exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class OutgoingMail(SQLModel, table=True):
    """A message to one municipality's recipients (or to staff), with its delivery state.

    ``key`` is unique: the guard that makes each message go once whatever Prefect retries or
    re-runs (its cache alone is not). ``state`` is one of `tasks.mail.outbox.MAIL_STATES`:
    ``queued`` (waiting for ``due_at`` and ``next_attempt_at``), ``claimed`` (a delivery run,
    ``claimed_by``, is talking to the SMTP server about it right now), ``sent`` (every recipient
    accepted), ``failed`` (a recipient refused permanently, 5xx; the others were sent),
    ``dead`` (temporary failures until the attempt limit) and ``skipped`` (no longer true or
    superseded; ``skipped`` says why). ``replies`` is a JSON object: per recipient its state
    (``sent``, ``failed``, ``pending``) and the SMTP server's reply. ``sent_at`` is set only
    when the last recipient's acceptance was committed.
    """

    __tablename__ = "outgoing_mail"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    round_id: str = Field(index=True)
    kommunenummer: str | None = Field(default=None, max_length=4)
    kind: str = Field(index=True)
    obligation: str | None = None  # what a reminder is about, e.g. "agreement_deadline"
    recipients: str  # comma-separated addresses
    subject: str
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    due_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    skipped: str | None = None
    attempts: int = 0
    last_error: str | None = None
    state: str = Field(default="queued", index=True)
    language: str = "nb"  # Content-Language: "nb" (bokmål) or "nn" (nynorsk)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    claimed_by: str | None = None  # "host:pid:token" of the run holding the claim
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # wall clock
    replies: str | None = Field(default=None, sa_type=Text)  # JSON: address -> state, reply


class OutgoingAttachment(SQLModel, table=True):
    """A file sent with a message: an ``.ics`` invitation, an agreement, a statement."""

    __tablename__ = "outgoing_attachment"

    id: int | None = Field(default=None, primary_key=True)
    mail_id: int = Field(foreign_key="outgoing_mail.id", index=True)
    filename: str
    mimetype: str
    content: bytes = Field(sa_type=LargeBinary)


class Installation(SQLModel, table=True):
    """This installation's random identifier, made once when the database is created.

    Why: Message-IDs are derived from the outbox key, and two installations (a test server and
    production, two directorates' copies) use the same keys; the identifier keeps their
    Message-IDs apart (RFC 5322 §3.6.4: globally unique).
    """

    __tablename__ = "sio_installation"

    id: str = Field(primary_key=True)
