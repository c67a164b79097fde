"""Writing the audit log: every state change, what, when and by whom or which run."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from tasks.storage.tables import AuditEntry


def record_audit(
    session: Session,
    *,
    at: datetime,
    actor: str,
    what: str,
    round_id: str | None = None,
    kommunenummer: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the session's transaction (committed with the change it records)."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            round_id=round_id,
            kommunenummer=kommunenummer,
            what=what,
            detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
        )
    )
