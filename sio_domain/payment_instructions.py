"""What a payment file for the bank says: one credit transfer per payee of an approved run.

Payment goes to the municipality's bank account (økonomiregelverket, as DFØ explains it), and
banks take ISO 20022 pain.001 credit-transfer files. Design decision (D): one transfer per payee
and run — the sum of its lines in that run — with the round, the run and the periods paid in the
remittance text, so the municipality can match the money to its statement. A payee whose lines
net to zero or less (a claw-back larger than what is due) gets no transfer and is flagged: the
directorate collects it outside the file. Pure: the caller loads lines and accounts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sio_domain.bank_accounts import norwegian_iban
from sio_domain.payees import Flag

REMITTANCE_LIMIT = 140  # pain.001 Max140Text


@dataclass(frozen=True)
class PaidAmount:
    """One ledger line of the run, as the payment file needs it."""

    kommunenummer: str
    municipality: str
    period: str
    amount: Decimal


@dataclass(frozen=True)
class Transfer:
    """One credit transfer: to whom, which account, how much, and the text the payee sees."""

    end_to_end_id: str
    kommunenummer: str
    creditor: str
    iban: str
    amount: Decimal
    remittance: str


def transfers(
    round_id: str,
    run: str,
    lines: Sequence[PaidAmount],
    accounts: Mapping[str, str],
) -> tuple[list[Transfer], list[Flag]]:
    """The run's transfers, by kommunenummer, and the payees that get none (with the reason).

    ``accounts`` maps each payee number to its kontonummer (the caller resolves lineages).
    """
    by_payee: dict[str, list[PaidAmount]] = {}
    for line in lines:
        by_payee.setdefault(line.kommunenummer, []).append(line)
    result, flags = [], []
    for number, paid in sorted(by_payee.items()):
        total = sum((line.amount for line in paid), Decimal("0.00"))
        if total <= 0:
            flags.append(Flag(number, f"net {total:.2f} NOK in run {run}: no transfer"))
            continue
        account = accounts.get(number)
        if account is None:
            flags.append(Flag(number, "no valid bank account (kontonummer) recorded"))
            continue
        periods = sorted({line.period for line in paid})
        span = periods[0] if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
        text = f"SIO {round_id} utbetaling {run} for {span}, kommune {number}"
        result.append(
            Transfer(
                end_to_end_id=f"{round_id}-{run}-{number}"[:35],
                kommunenummer=number,
                creditor=f"{paid[0].municipality} kommune",
                iban=norwegian_iban(account),
                amount=total,
                remittance=text[:REMITTANCE_LIMIT],
            )
        )
    return result, flags
