"""Two-person approval of a payout run: budget commitment and attestation by different people.

Økonomiregelverket (bestemmelsene 2.5.2 and 3.7.3, as DFØ explains them): the person who commits
the budget (budsjettdisponering, role ``disponent``) and the person who attests the payment
(attestasjon, role ``attestant``) are two different people, and both steps are documented before
money moves. Large payment streams may be controlled from summaries: what is approved here is the
run's *proposal* — every line, the totals and what is held back — identified by its fingerprint.

Design decision (D): an approval names the fingerprint of the proposal it approved. A run pays
only when both roles approved the proposal it computes now; any change (new activity, an
adjustment, a cleared hold) changes the fingerprint, and the old approvals no longer count.
Pure: no clock, no database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple, get_args

Role = Literal["disponent", "attestant"]
ROLES: tuple[Role, ...] = get_args(Role)
ROLE_TITLES: dict[Role, str] = {
    "disponent": "budsjettdisponering",
    "attestant": "attestasjon",
}


class ApprovalRefused(ValueError):
    """An approval that the payment-control rules do not allow (one line for the user)."""


class ProposedLine(NamedTuple):
    """What a proposal fingerprint covers of one line (amount in NOK, exact).

    A tuple: a catch-up run fingerprints thousands of lines."""

    line_key: str
    kommunenummer: str
    period: str
    component: str
    amount: Decimal
    corrects: str | None


@dataclass(frozen=True)
class Approval:
    """One recorded approval of a run's proposal."""

    role: Role
    name: str
    fingerprint: str
    approved_at: datetime


def proposal_fingerprint(
    round_id: str,
    run: str,
    lines: Iterable[ProposedLine],
    held: Mapping[str, Sequence[str]],
) -> str:
    """SHA-256 over the proposal in a canonical order: the same proposal, the same fingerprint.

    ``held`` maps each held-back payee to its reasons: a hold that is lifted (or added) changes
    what is paid and so what must be approved.
    """
    document = {
        "round": round_id,
        "run": run,
        "lines": sorted(
            [key, number, period, component, f"{amount:.2f}", corrects]
            for key, number, period, component, amount, corrects in lines
        ),
        "held": {number: sorted(reasons) for number, reasons in sorted(held.items())},
    }
    encoded = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def same_person(first: str, second: str) -> bool:
    """Names compared as people write them: case, spacing and accents as typed are not a person."""
    return _normal(first) == _normal(second)


def _normal(name: str) -> str:
    return " ".join(name.casefold().split())


def check_approval(
    *,
    role: str,
    name: str,
    fingerprint: str,
    approvals: Sequence[Approval],
    allowed: Mapping[Role, Sequence[str]],
) -> Role:
    """The role if ``name`` may approve ``fingerprint`` in it; else :class:`ApprovalRefused`.

    ``allowed`` is the round file's list of who may approve per role (empty: anyone named).
    The same person can never hold both roles for the same proposal (role separation).
    """
    if role not in ROLES:
        raise ApprovalRefused(f"--as: {role!r} is not a role ({', '.join(ROLES)})")
    if not name.strip():
        raise ApprovalRefused("--name: an approval needs the approver's name")
    permitted = allowed.get(role, ())
    if permitted and not any(same_person(name, person) for person in permitted):
        raise ApprovalRefused(
            f"--name: {name!r} may not approve as {role} in this round"
            f" (the round file names {', '.join(permitted)})"
        )
    for approval in current(approvals, fingerprint):
        if approval.role != role and same_person(approval.name, name):
            raise ApprovalRefused(
                f"--name: {name!r} already approved this proposal as {approval.role};"
                f" {role} must be someone else (role separation)"
            )
    return role


def current(approvals: Iterable[Approval], fingerprint: str) -> list[Approval]:
    """The approvals that count for the proposal ``fingerprint`` (the latest per role)."""
    latest: dict[Role, Approval] = {}
    for approval in sorted(approvals, key=lambda a: a.approved_at):
        if approval.fingerprint == fingerprint:
            latest[approval.role] = approval
    return [latest[role] for role in ROLES if role in latest]


def missing_roles(approvals: Iterable[Approval], fingerprint: str) -> list[Role]:
    """Roles still to approve ``fingerprint``; empty when the run may pay."""
    found = current(approvals, fingerprint)
    roles = {approval.role for approval in found}
    if len(found) == 2 and same_person(found[0].name, found[1].name):
        return list(ROLES)  # never enough, whatever was recorded: one person is not two
    return [role for role in ROLES if role not in roles]


def is_approved(approvals: Iterable[Approval], fingerprint: str) -> bool:
    """Whether two different people approved ``fingerprint``, one in each role."""
    return not missing_roles(approvals, fingerprint)
