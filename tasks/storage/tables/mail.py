"""The outbox: every message sio sends, keyed so that it goes exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, Text
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class OutgoingMail(SQLModel, table=True):
    """A message to one municipality's recipients (or to staff).

    ``key`` is unique: the guard that makes each message go once whatever Prefect retries or
    re-runs (PREFECT-NOTES.md: its cache alone is not). ``sent_at`` is set only after the SMTP
    server accepted the message; an unsent row is retried by the next run. ``skipped`` says why a
    stale reminder was superseded instead of sent.
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


class OutgoingAttachment(SQLModel, table=True):
    """A file sent with a message: an ``.ics`` invitation, an agreement, a statement."""

    __tablename__ = "outgoing_attachment"

    id: int | None = Field(default=None, primary_key=True)
    mail_id: int = Field(foreign_key="outgoing_mail.id", index=True)
    filename: str
    mimetype: str
    content: bytes = Field(sa_type=LargeBinary)
