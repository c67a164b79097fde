"""Whether a participation may be paid yet: agreement signed, received and, if asked, accepted.

DOMAIN.md **D**: "No payment before the agreement is fully signed and received by the directorate
(and, where the round has one, the offer accepted by the reply deadline): lines are held back and
flagged." The cooperation agreement (samarbeidsavtale) is signed in two copies, one per party
(seed 000); what counts for the municipality's copy is when the directorate *received* it
(INTERFACE.md, ``sio record signature --received-on``). Rounds with a reply deadline (seed 002:
"Svarfrist ... innen 31. desember") also need the municipality's acceptance of the offer.

A held-back participation is paid, in full, by the first run after it is cleared: the settlement
pays every period still owed (sio_domain/settlement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AgreementState:
    """What the lifecycle recorded about one participation's agreement and reply."""

    municipality_received_on: date | None = None
    directorate_signed_on: date | None = None
    reply_accepted: bool | None = None
    replied_on: date | None = None


def clearance_problems(state: AgreementState, *, needs_reply: bool, on: date) -> list[str]:
    """Why this participation cannot be paid on ``on``; empty when it can."""
    problems = []
    received = state.municipality_received_on
    if received is None or received > on:
        problems.append("the directorate has not received the agreement signed by the municipality")
    signed = state.directorate_signed_on
    if signed is None or signed > on:
        problems.append("the agreement is not signed by the directorate")
    if needs_reply:
        if state.reply_accepted is None or state.replied_on is None or state.replied_on > on:
            problems.append("no reply to the offer is recorded")
        elif not state.reply_accepted:
            problems.append("the municipality declined the offer")
    return problems
