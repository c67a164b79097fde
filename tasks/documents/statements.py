"""Payout statements (utbetalingsoversikt): per run and municipality, as files, a table and mail.

- Files: per run and municipality an Excel statement with a CSV alongside (municipality ×
  component × period), under ``$SIO_HOME/exports/statements/<round>/<run>/``.
- Table: one row per municipality with its amount per component — the rows of the run's keyed
  table artifact in the Prefect UI (the flow publishes them; no Prefect import here).
- Mail: each statement goes to the municipality's finance officers (økonomiansvarlig) through
  the outbox, kind ``payout_statement``, written in the municipality's written standard (bokmål
  or nynorsk, språklova), queued in the same transaction as the run's lines so the
  two are committed together; the outbox key makes it go once whatever re-runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlmodel import Session, col, select

from sio_domain.entitlement import COMPONENTS, Component
from sio_domain.hold_reasons import staff_wordings
from sio_domain.money import format_amount
from sio_domain.municipality_registry import MunicipalityRegistry
from sio_domain.norwegian_calendar import OSLO
from sio_domain.payees import Flag
from sio_domain.statement_wording import STATEMENT_TITLE
from sio_domain.written_standard import WrittenStandard
from tasks.documents.ledger_export import STATEMENT_COLUMNS, ledger_csv_norwegian, ledger_xlsx
from tasks.payouts.ledger import LedgerLine
from tasks.storage.tables import ContactRecord

if TYPE_CHECKING:
    from tasks.payouts.payout_engine import PayoutResult

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
MAIL_KIND = "payout_statement"


@dataclass(frozen=True)
class StatementFile:
    filename: str
    mimetype: str
    content: bytes


@dataclass(frozen=True)
class StatementMail:
    """One statement to send: who to, in which words, with which files."""

    key: str
    round_id: str
    kommunenummer: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    files: tuple[StatementFile, ...]


def lines_by_municipality(lines: Sequence[LedgerLine]) -> dict[str, list[LedgerLine]]:
    grouped: dict[str, list[LedgerLine]] = {}
    for line in lines:
        grouped.setdefault(line.kommunenummer, []).append(line)
    return grouped


def statement_files(
    result: PayoutResult, kommunenummer: str, standard: WrittenStandard | None = None
) -> tuple[StatementFile, ...]:
    """The xlsx and csv statement of one municipality in one run (made once per run).

    ``standard`` is the municipality's written standard (målform); the first call of a run decides
    it, so the files mailed and the files written to the exports folder are the same.
    """
    cached = result.statement_cache.get(kommunenummer)
    if cached is None:
        cached = result.statement_cache[kommunenummer] = _statement_files(
            result, kommunenummer, standard or "bokmål"
        )
    return cached  # type: ignore[no-any-return,unused-ignore]


def _statement_files(
    result: PayoutResult, kommunenummer: str, standard: WrittenStandard
) -> tuple[StatementFile, ...]:
    """The statement as a one-page printable workbook and a Norwegian-locale CSV (``;``, BOM)."""
    from tasks.mail.mail_templates import quarter

    lines = [line for line in result.lines if line.kommunenummer == kommunenummer]
    stem = _stem(result, kommunenummer)
    name = lines[0].municipality if lines else kommunenummer
    title = STATEMENT_TITLE[standard].format(
        quarter=quarter(result.run),
        round_title=result.round_id,
        kommunenummer=kommunenummer,
        municipality=name,
    )
    workbook = ledger_xlsx(
        lines, title=title, sheet="Utbetaling", standard=standard, columns=STATEMENT_COLUMNS
    )
    table = ledger_csv_norwegian(lines, standard, columns=STATEMENT_COLUMNS)
    return (
        StatementFile(f"{stem}.xlsx", XLSX_MIMETYPE, workbook),
        StatementFile(f"{stem}.csv", CSV_MIMETYPE, table),
    )


def write_statements(
    result: PayoutResult,
    exports_dir: Path,
    registry: MunicipalityRegistry | None = None,
    *,
    missing_only: bool = False,
) -> list[Path]:
    """Write every municipality's statement files of the run; returns the paths written.

    With ``registry`` each statement is in its municipality's written standard; without one it
    uses what the run's mails already decided (bokmål for a municipality not mailed). Each file
    is whole or absent, whenever the run is killed; ``missing_only`` writes only the files not
    there yet (a repeated run after a kill between its commit and its files).
    """
    from tasks.payouts.whole_files import write_whole

    folder = exports_dir / "statements" / result.round_id / result.run
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number in lines_by_municipality(result.lines):
        if missing_only and all(
            (folder / f"{_stem(result, number)}.{suffix}").exists() for suffix in ("xlsx", "csv")
        ):
            continue
        standard = registry.get(number).written_standard if registry is not None else None
        for file in statement_files(result, number, standard):
            path = folder / file.filename
            write_whole(path, file.content)
            written.append(path)
    return written


def _stem(result: PayoutResult, kommunenummer: str) -> str:
    return f"utbetaling-{result.round_id}-{result.run}-{kommunenummer}"


def statement_table_rows(result: PayoutResult) -> list[dict[str, Any]]:
    """Municipality × component: the rows of the run's table artifact (amounts as strings).

    Paid municipalities first, then those held back with the reason (in bokmål: staff read this
    table), so staff see both.
    """
    rows = [
        _table_row(number, lines[0].municipality, lines, "paid")
        for number, lines in lines_by_municipality(result.lines).items()
    ]
    rows += [
        _table_row(
            held.kommunenummer,
            held.municipality,
            held.lines,
            "holdt tilbake: " + "; ".join(staff_wordings(held.reasons)),  # for staff: bokmål
        )
        for held in result.held
    ]
    return rows


def _table_row(number: str, name: str, lines: Sequence[LedgerLine], status: str) -> dict[str, Any]:
    totals = {component: Decimal("0") for component in COMPONENTS}
    for line in lines:
        totals[cast("Component", line.component)] += line.amount
    return {
        "kommunenummer": number,
        "municipality": name,
        **{component: format_amount(amount) for component, amount in totals.items()},
        "total": format_amount(sum(totals.values(), Decimal("0"))),
        "status": status,
    }


def statement_mails(
    result: PayoutResult,
    *,
    registry: MunicipalityRegistry,
    recipients: dict[str, tuple[str, ...]],
) -> tuple[list[StatementMail], list[Flag]]:
    """What to send for a run: one mail per paid municipality with finance officers on record.

    ``recipients`` maps a payee number to its finance officers' addresses; a municipality
    without one is flagged instead (its statement is still in the exports folder).
    """
    from tasks.mail.mail_templates import render_mail

    mails, flags = [], []
    for number, lines in lines_by_municipality(result.lines).items():
        addresses = recipients.get(number, ())
        if not addresses:
            flags.append(Flag(number, "no finance officer on record: statement not e-mailed"))
            continue
        version = registry.get(number)
        files = statement_files(result, number, version.written_standard)
        text = render_mail(
            MAIL_KIND,
            version.written_standard,
            municipality=version.name,
            kommunenummer=number,
            round_id=result.round_id,
            run=result.run,
            total=sum((line.amount for line in lines), Decimal("0")),
            filenames=[file.filename for file in files],
            lines=lines,
            letter_date=result.as_of,
            attention="økonomiansvarleg"
            if version.written_standard == "nynorsk"
            else "økonomiansvarlig",
        )
        files = (
            *(StatementFile(a.filename, a.mimetype, a.content) for a in text.attachments),
            *files,
        )
        mails.append(
            StatementMail(
                key=f"{MAIL_KIND}:{result.round_id}:{result.run}:{number}",
                round_id=result.round_id,
                kommunenummer=number,
                recipients=addresses,
                subject=text.subject,
                body=text.body.rstrip("\n") + approval_note(result, version.written_standard),
                files=files,
            )
        )
    return mails, flags


_APPROVAL_WORDS = {
    "bokmål": ("Utbetalingen er godkjent", "budsjettdisponert av", "attestert av", "og"),
    "nynorsk": ("Utbetalinga er godkjend", "budsjettdisponert av", "attestert av", "og"),
}


def approval_note(result: PayoutResult, standard: str) -> str:
    """The run's two approvals as a closing paragraph, in the municipality's written standard.

    Økonomiregelverket: budget commitment and attestation are documented before payment; the
    statement says who did each, and when (Europe/Oslo).
    """
    from sio_domain.norwegian_calendar import OSLO

    if not result.approvals:
        return "\n"
    lead, disposed, attested, joiner = _APPROVAL_WORDS.get(standard, _APPROVAL_WORDS["bokmål"])
    words = {"disponent": disposed, "attestant": attested}
    parts = [
        f"{words[a.role]} {a.name} {a.approved_at.astimezone(OSLO):%d.%m.%Y kl. %H:%M}"
        for a in result.approvals
    ]
    return f"\n\n{lead}: {f' {joiner} '.join(parts)}.\n"


def finance_officers(
    session: Session,
    registry: MunicipalityRegistry,
    numbers: Sequence[str],
    on: date | None = None,
) -> dict[str, tuple[str, ...]]:
    """Finance officers' addresses per payee on ``on`` (default today), by the recipient rule.

    The contacts of the payee's own number; a successor without a finance officer of its own uses
    its predecessors' — never a merger partner's or a later merged municipality's
    (``sio_domain.recipients``).
    """
    from sio_domain.recipients import ContactPerson, recipients_on

    rows = session.exec(
        select(ContactRecord.kommunenummer, ContactRecord.email).where(
            col(ContactRecord.role) == "finance_officer"
        )
    ).all()
    people = [ContactPerson(number, "finance_officer", email) for number, email in rows]
    day = on or datetime.now(OSLO).date()  # today in Oslo, not on the machine's clock
    found: dict[str, tuple[str, ...]] = {}
    for number in numbers:
        addresses = sorted(
            {r.email for r in recipients_on(people, registry, number, day, ["finance_officer"])}
        )
        if addresses:
            found[number] = tuple(addresses)
    return found


def enqueue_statement_mails(
    session: Session, result: PayoutResult, registry: MunicipalityRegistry
) -> int:
    """Queue the run's statements in the outbox (never commits); returns how many were added."""
    from tasks.mail.outbox import Attachment, enqueue_mail

    numbers = sorted(lines_by_municipality(result.lines))
    mails, flags = statement_mails(
        result,
        registry=registry,
        recipients=finance_officers(
            session, registry, numbers, result.as_of.astimezone(OSLO).date()
        ),
    )
    result.flags.extend(flags)
    added = 0
    for mail in mails:
        added += enqueue_mail(
            session,
            key=mail.key,
            round_id=mail.round_id,
            kommunenummer=mail.kommunenummer,
            kind=MAIL_KIND,
            recipients=mail.recipients,
            subject=mail.subject,
            body=mail.body,
            due_at=result.as_of,
            now=result.as_of,
            attachments=[Attachment(f.filename, f.mimetype, f.content) for f in mail.files],
        )
    return added
