"""The audit log: every state change, what, when and by whom or which run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from tasks.storage.tables.base import UtcDateTime


class AuditEntry(SQLModel, table=True):
    """One state change. ``actor`` is a person (``staff:<name>``), a command or a flow run."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime, index=True)
    actor: str
    round_id: str | None = Field(default=None, index=True)
    kommunenummer: str | None = Field(default=None, max_length=4)
    what: str
    detail: str = Field(default="", sa_type=Text)
