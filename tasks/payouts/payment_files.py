"""``sio payout file``: the approved run's ISO 20022 pain.001.001.03 credit-transfer file.

Version pain.001.001.03 (CustomerCreditTransferInitiationV03) is the one Norwegian banks take for
domestic and SEPA payments alike. The XML is built as lxml elements (never by joining strings), in
the schema's element order; tests validate it against the official XSD. Accounts are given as
IBANs computed from the kontonummer (sio_domain/bank_accounts.py), amounts in NOK with two
decimals; the message id is the round and run, so a file made twice is the same message to the
bank (its duplicate check refuses paying it twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree
from sqlmodel import Session, col, select

from sio_domain.bank_accounts import norwegian_iban, valid_account
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO, next_working_day
from sio_domain.payees import Flag
from sio_domain.payment_instructions import PaidAmount, Transfer, transfers
from sio_domain.payout_periods import Quarter
from sio_domain.payout_run import account_of
from tasks.intake.round_files import load_round
from tasks.payouts import payout_queries as queries
from tasks.payouts.ledger import ledger_lines
from tasks.payouts.whole_files import write_whole
from tasks.records.municipality_lookup import registry as load_registry
from tasks.storage.database import session_for
from tasks.storage.tables import PayoutRunRecord

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
DEBTOR = "Helsedirektoratet"


@dataclass(frozen=True)
class PaymentFileSummary:
    """What a written file holds (the CLI reports it)."""

    transfers: int
    total: Decimal
    flags: list[Flag]


def write_payment_file(
    round_ref: str,
    run: str,
    *,
    database_url: str,
    output: Path,
    debtor_account: str | None,
    now: datetime,
) -> PaymentFileSummary:
    """Write the pain.001 file of a paid (hence approved) run; refuses a run not paid yet."""
    round_def = load_round(round_ref)
    quarter = Quarter.parse(run)
    account = debtor_account or round_def.payout.debtor_account
    if account is None:
        raise ValueError(
            "--debtor-account: no account to pay from; give the directorate's kontonummer or"
            " set payout.debtor_account in the round file"
        )
    debtor_iban = _iban("--debtor-account", account)
    registry = load_registry(database_url)
    with session_for(database_url) as session:
        record = session.exec(
            select(PayoutRunRecord).where(
                col(PayoutRunRecord.round_id) == round_def.id,
                col(PayoutRunRecord.run) == quarter.label,
            )
        ).first()
        if record is None:
            raise ValueError(
                f"--run {quarter.label}: the run is not approved and paid yet"
                f" (sio payout approve {round_def.id} --run {quarter.label} …)"
            )
        lines = ledger_lines(session, round_def.id, run=quarter.label)
        found = _accounts(session, registry, {line.kommunenummer for line in lines})
    paid = [PaidAmount(x.kommunenummer, x.municipality, x.period, x.amount) for x in lines]
    planned, flags = transfers(round_def.id, quarter.label, paid, found)
    execution = next_working_day(now.astimezone(OSLO).date())
    document = pain_001(
        message_id=f"SIO-{round_def.id}-{quarter.label}",
        created=now,
        execution_date=execution.isoformat(),
        debtor_iban=debtor_iban,
        planned=planned,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    write_whole(output, document)  # the bank never gets half a file
    total = sum((t.amount for t in planned), Decimal("0.00"))
    return PaymentFileSummary(len(planned), total, flags)


def _iban(option: str, account: str) -> str:
    try:
        return norwegian_iban(valid_account(account))
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None


def _accounts(session: Session, registry: MunicipalityRegistry, payees: set[str]) -> dict[str, str]:
    recorded = queries.bank_accounts(session)
    found = {}
    for payee in payees:
        account = account_of(payee, registry, recorded)
        if account is not None:
            found[payee] = account
    return found


def pain_001(
    *,
    message_id: str,
    created: datetime,
    execution_date: str,
    debtor_iban: str,
    planned: list[Transfer],
) -> bytes:
    """The pain.001.001.03 document: one payment information block, one transaction per payee."""
    count = str(len(planned))
    control_sum = _amount(sum((t.amount for t in planned), Decimal("0.00")))
    document = _element("Document", nsmap={None: NAMESPACE})
    initiation = _child(document, "CstmrCdtTrfInitn")
    header = _child(initiation, "GrpHdr")
    _child(header, "MsgId", message_id[:35])
    _child(header, "CreDtTm", created.astimezone(OSLO).replace(microsecond=0).isoformat())
    _child(header, "NbOfTxs", count)
    _child(header, "CtrlSum", control_sum)
    _child(_child(header, "InitgPty"), "Nm", DEBTOR)
    info = _child(initiation, "PmtInf")
    _child(info, "PmtInfId", message_id[:35])
    _child(info, "PmtMtd", "TRF")
    _child(info, "NbOfTxs", count)
    _child(info, "CtrlSum", control_sum)
    _child(info, "ReqdExctnDt", execution_date)
    _child(_child(info, "Dbtr"), "Nm", DEBTOR)
    debtor_account = _child(info, "DbtrAcct")
    _child(_child(debtor_account, "Id"), "IBAN", debtor_iban)
    _child(debtor_account, "Ccy", "NOK")
    _unknown_agent(_child(info, "DbtrAgt"))
    for transfer in planned:
        item = _child(info, "CdtTrfTxInf")
        _child(_child(item, "PmtId"), "EndToEndId", transfer.end_to_end_id)
        amount = _child(_child(item, "Amt"), "InstdAmt", _amount(transfer.amount))
        amount.set("Ccy", "NOK")
        _child(_child(item, "Cdtr"), "Nm", transfer.creditor[:140])
        _child(_child(_child(item, "CdtrAcct"), "Id"), "IBAN", transfer.iban)
        _child(_child(item, "RmtInf"), "Ustrd", transfer.remittance)
    return bytes(
        etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


def _unknown_agent(agent: etree._Element) -> None:
    """The debtor's bank given as 'not provided': the bank reads it from the account."""
    _child(_child(_child(agent, "FinInstnId"), "Othr"), "Id", "NOTPROVIDED")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _element(tag: str, *, nsmap: dict[str | None, str]) -> etree._Element:
    return etree.Element(f"{{{NAMESPACE}}}{tag}", nsmap=nsmap)  # type: ignore[arg-type]


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    if text is not None:
        element.text = text
    return element
