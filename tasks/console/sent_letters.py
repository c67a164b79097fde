"""The letters a stage run sent (utsendte brev), as a table on the run's page in the Prefect UI.

Staff asking "what did this morning's run send, and to whom?" open the run and read one table:
recipient, kind, subject and outbox key of every letter the mail server accepted at the run's
instant. A letter is sent at the delivering run's ``as_of`` (the outbox's ``sent_at``), so the
letters sent at that instant are the run's. An idle run — nothing sent — publishes nothing: one
indexed read of the outbox is all it costs (design decision D: idle runs stay cheap).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from tasks.console.case_files import LETTER_KINDS
from tasks.storage.tables import OutgoingMail

SUBJECT_CHARACTERS = 70
"""Longer subjects are cut with an ellipsis: the table stays readable in a 1 280 px window."""


def sent_at(session: Session, round_id: str, instant: datetime) -> list[OutgoingMail]:
    """The round's letters the mail server accepted at ``instant``, in the order queued."""
    return list(
        session.exec(
            select(OutgoingMail)
            .where(
                OutgoingMail.round_id == round_id,
                OutgoingMail.state == "sent",
                OutgoingMail.sent_at == instant,
            )
            .order_by(col(OutgoingMail.id))
        ).all()
    )


def sent_letter_rows(
    letters: Sequence[OutgoingMail], names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Table rows for staff (bokmål headers): mottaker, type, emne, nøkkel.

    ``mottaker`` names the municipality (when the letter is about one) and its addresses.
    """
    names = names or {}
    rows = []
    for letter in letters:
        addresses = ", ".join(a.strip() for a in letter.recipients.split(",") if a.strip())
        knr = letter.kommunenummer
        who = f"{names.get(knr, knr)} ({knr}): {addresses}" if knr else addresses
        subject = letter.subject
        if len(subject) > SUBJECT_CHARACTERS:
            subject = subject[: SUBJECT_CHARACTERS - 1].rstrip() + "…"
        rows.append(
            {
                "mottaker": who,
                "type": LETTER_KINDS.get(letter.kind, letter.kind.replace("_", " ")),
                "emne": subject,
                "nøkkel": letter.key,
            }
        )
    return rows


def sent_letters_key(stage: str, round_id: str) -> str:
    """The artifact key of a stage's letters: each run adds a version (the run's own table)."""
    return f"{stage}-{round_id}-brev".lower()
