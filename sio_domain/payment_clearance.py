"""Whether a participation may be paid yet: agreement signed, received and, if asked, accepted.

design decision **D**: "No payment before the agreement is fully signed and received by the
directorate
(and, where the round has one, the offer accepted by the reply deadline): lines are held back and
flagged." The cooperation agreement (samarbeidsavtale) is signed in two copies, one per party
(seed 000); what counts for the municipality's copy is when the directorate *received* it
(the command contract, ``sio record signature --received-on``). Rounds with a reply deadline (seed
002:
"Svarfrist ... innen 31. desember") also need the municipality's acceptance of the offer.

Design decision (D): a late duty named by the round file (the annual report, due 1 April the
following year, rolled to a working day) holds payment the same way, until it is recorded done.

A held-back participation is paid, in full, by the first run after it is cleared: the settlement
pays every period still owed (sio_domain/settlement.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sio_domain.norwegian_calendar import effective_deadline


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


@lru_cache(maxsize=256)
def annual_report_due(year: int, *, due_month: int, due_day: int) -> date:
    """When the annual report (årsrapport) for ``year`` is due: the round's day of the following
    year (design decision (D): 1 April), moved to the next working day (domstolloven § 149).

    Worked out once per year: a payout run asks it for every participation."""
    return effective_deadline(date(year + 1, due_month, due_day))


def duty_problems(
    *,
    participation_start: date,
    participation_end: date,
    done: Mapping[str, date],
    on: date,
    due_month: int,
    due_day: int,
) -> list[str]:
    """Why a participation's next payout is held for a late duty (design decision (D)).

    Every calendar year of participation owes an annual report (``annual_report:<year>``); one
    not recorded done by ``on`` although its deadline has passed holds the payee's lines, like a
    missing signature. Once recorded, the next run catches up everything held (the settlement
    pays every period still owed). ``done`` maps activity keys to the day recorded done; a
    report recorded later than ``on`` does not count (as-of truth).
    """
    problems = []
    for year in range(participation_start.year, participation_end.year + 1):
        due = annual_report_due(year, due_month=due_month, due_day=due_day)
        key = f"annual_report:{year}"
        recorded = done.get(key)
        if due < on and (recorded is None or recorded > on):
            problems.append(f"annual report {year} overdue since {due.isoformat()} ({key})")
    return problems
