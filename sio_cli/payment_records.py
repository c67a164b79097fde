"""``sio record account`` and ``sio record claim``: what finance records for paying a payee.

Registered by sio_cli/main.py on the ``sio record`` group. Each records one fact, checked first:
a kontonummer must pass the MOD11 check (python-stdnum); a system-adaptation claim is for a
model A participant and stays within the round's maximum (seed 000 §1.4).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, time
from typing import Annotated

import typer

from sio_cli.errors import reported_errors
from sio_cli.finance_commands import RoundArgument, _option

KommuneArgument = Annotated[str, typer.Argument(metavar="KNR", help="kommunenummer")]


def record_account(
    round_ref: RoundArgument,
    kommune: KommuneArgument,
    account: Annotated[
        str, typer.Option("--account", metavar="NNNNNNNNNNN", help="kontonummer (11 digits)")
    ],
) -> None:
    """The municipality's bank account for payment files (MOD11-checked)."""
    from deployments.settings import load_settings
    from sio_domain.bank_accounts import valid_account
    from tasks.intake.round_files import load_round
    from tasks.payouts.payment_accounts import record_bank_account
    from tasks.records.municipality_lookup import registry
    from tasks.storage.database import session_for

    with reported_errors():
        digits = _option("--account", valid_account, account)
        settings = load_settings()
        url = settings.resolved_database_url
        round_def = load_round(round_ref)
        registry(url).get(kommune)
        with session_for(url) as session:
            record_bank_account(
                session,
                round_id=round_def.id,
                kommunenummer=kommune,
                account=digits,
                now=datetime.now(UTC),
                recorded_by=f"staff:{getpass.getuser()}",
            )
            session.commit()
    typer.echo(f"account {digits} recorded for {kommune}", err=True)


def record_claim(
    round_ref: RoundArgument,
    kommune: KommuneArgument,
    amount: Annotated[str, typer.Option("--amount", help="NOK, e.g. 38500.00")],
    on: Annotated[str, typer.Option("--on", metavar="DATE", help="date the claim was received")],
    reason: Annotated[str, typer.Option("--reason", help="documentation: invoice, reference")],
) -> None:
    """A documented system-adaptation cost (model A, up to the round's maximum)."""
    from deployments.settings import load_settings
    from sio_domain.money import format_amount, parse_amount
    from sio_domain.norwegian_calendar import OSLO
    from tasks.intake.round_files import load_round
    from tasks.payouts.ledger import record_system_adaptation_claim
    from tasks.payouts.payout_queries import participations
    from tasks.records.municipality_lookup import registry
    from tasks.storage.database import session_for

    with reported_errors():
        from sio_domain.instants import parse_day
        from sio_domain.text_fields import checked_text

        value = _option("--amount", parse_amount, amount)
        day = parse_day(on, option="--on")
        checked_text("--reason", reason)
        settings = load_settings()
        url = settings.resolved_database_url
        round_def = load_round(round_ref)
        known = registry(url)
        payee = known.in_force(kommune, day).kommunenummer
        lineage = known.lineage(payee)
        with session_for(url) as session:
            taking_part = [
                p
                for p in participations(session)
                if p.round_id == round_def.id and p.kommunenummer in lineage
            ]
            if not taking_part:
                raise ValueError(f"KNR: {kommune} takes no part in {round_def.id}")
            if all(p.model != "A" for p in taking_part):
                raise ValueError(
                    f"KNR: {kommune} is not in model A; only model A participants are assisted"
                    " with adapting their case system (seed 000 §1.4)"
                )
            record_system_adaptation_claim(
                session,
                round_id=round_def.id,
                kommunenummer=taking_part[0].kommunenummer,
                amount=value,
                documentation=reason,
                now=datetime.combine(day, time(12, 0), tzinfo=OSLO).astimezone(UTC),
                entered_by=f"staff:{getpass.getuser()}",
                maximum=round_def.financing.system_adaptation_max,
                lineage=lineage,
            )
            session.commit()
    typer.echo(
        f"claim of {format_amount(value)} NOK for {kommune} recorded; the next payout run pays it",
        err=True,
    )
