"""The case file per municipality and round (saksmappe): one page that says everything about it.

Published as a keyed, versioned markdown artifact ``kommune-<knr>-<round>`` after every run that
touches the round, so staff open one page to see a municipality's identity (numbers over time,
written standard, contacts by role), its stage, its plan (done / open / late), the letters it was
sent, its meetings, signatures and replies, what it was paid by quarter and component, and what is
held back and why — beside what was paid in the round so far, so a payee held now after earlier
payments shows both. Text for staff, in bokmål (the reasons too: sio_domain/hold_reasons.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from sio_domain.norwegian_calendar import OSLO
from sio_domain.obligations import obligations
from sio_domain.staff_tasks import HeldPayout, StaffTask
from sio_domain.trial_state import TrialState
from tasks.payouts.ledger import LedgerLine, ledger_lines
from tasks.storage.tables import OutgoingMail

ROLE_NAMES = {
    "chief_executive": "kommunedirektør",
    "contact_person": "kontaktperson",
    "project_leader": "prosjektleder",
    "finance_officer": "økonomiansvarlig",
}
PARTY_NAMES = {"municipality": "kommunen", "directorate": "Helsedirektoratet"}
LETTER_KINDS = {
    "application_received": "kvittering for søknad",
    "decision_offer": "tilbud om deltakelse",
    "decision_rejection": "avslag",
    "agreement": "samarbeidsavtale",
    "readiness_alert": "varsel om oppstart",
    "payout_statement": "utbetalingsoversikt",
    "staff_escalation": "eskalering",
}


@dataclass(frozen=True)
class SentLetter:
    """A letter in the outbox for the municipality: when, what kind, to whom, about what."""

    on: date | None
    kind: str
    kommunenummer: str | None
    recipients: int
    subject: str


def case_file_key(kommunenummer: str, round_id: str) -> str:
    """The artifact key of a case file (lowercase letters, digits and dashes)."""
    return f"kommune-{kommunenummer}-{round_id}".lower()


def letters_for(session: Session, state: TrialState, kommunenummer: str) -> list[SentLetter]:
    """The round's letters about this municipality (any of its numbers), oldest first."""
    numbers = (
        state.registry.lineage(kommunenummer)
        if kommunenummer in state.registry
        else [kommunenummer]
    )
    rows = session.exec(
        select(OutgoingMail)
        .where(
            OutgoingMail.round_id == state.round_def.id,
            col(OutgoingMail.kommunenummer).in_(numbers),
        )
        .order_by(col(OutgoingMail.id))
    ).all()
    return [
        SentLetter(
            row.sent_at.astimezone(OSLO).date() if row.sent_at else None,
            row.kind,
            row.kommunenummer,
            len([r for r in row.recipients.split(",") if r.strip()]),
            row.subject,
        )
        for row in rows
    ]


def ledger_for(session: Session, state: TrialState, kommunenummer: str) -> list[LedgerLine]:
    """The municipality's payout lines in the round, under any of its numbers."""
    numbers = (
        state.registry.lineage(kommunenummer)
        if kommunenummer in state.registry
        else [kommunenummer]
    )
    return ledger_lines(session, state.round_def.id, kommunenummer=numbers)


def case_file_markdown(
    state: TrialState,
    kommunenummer: str,
    *,
    stage: str,
    letters: Sequence[SentLetter] = (),
    ledger: Sequence[LedgerLine] = (),
    held: Sequence[HeldPayout] = (),
    tasks: Sequence[StaffTask] = (),
) -> str:
    """The case file as markdown: identity, stage, plan, letters, meetings, signatures, money."""
    knr, today = kommunenummer, state.today
    out = [
        f"# {state.name(knr)} ({knr}) · {state.round_def.title}",
        f"Per {state.as_of.astimezone(OSLO):%d.%m.%Y %H:%M} · fase: **{stage}**",
        "",
        "## Identitet",
        *_identity(state, knr),
    ]
    if tasks:
        out += ["", "## Venter på Helsedirektoratet"]
        out += [f"- {t.since:%d.%m.%Y}: **{t.kind}** — {t.what}" for t in tasks]
    mine = [o for o in obligations(state) if o.kommunenummer == knr]
    if mine:
        out += ["", "## Plan", "| frist | hva | status |", "|---|---|---|"]
        for o in sorted(mine, key=lambda item: item.deadline):
            if o.fulfilled_on is not None:
                status = f"gjort {o.fulfilled_on:%d.%m.%Y}" + (
                    " (for sent)" if o.is_late(today) else ""
                )
            else:
                status = "**for sent**" if o.is_late(today) else "åpen"
            out.append(f"| {o.deadline:%d.%m.%Y} | {o.title} | {status} |")
    out += ["", "## Brev", *_letters(letters)]
    out += ["", "## Møter", *_meetings(state, knr)]
    out += ["", "## Signaturer og svar", *_signatures(state, knr)]
    out += ["", "## Utbetalinger", *_payouts(ledger)]
    if held:
        paid = money(sum((line.amount for line in ledger), Decimal("0.00")))
        out += ["", "## Holdt tilbake"]
        out += [
            f"- {h.run}: {'; '.join(h.reasons)} (utbetalt hittil i runden: {paid})" for h in held
        ]
    return "\n".join(out) + "\n"


def money(amount: Decimal) -> str:
    """An amount as the case file shows it: kroner and øre, thousands parted by a space."""
    return f"{amount:,.2f}".replace(",", " ")


def _identity(state: TrialState, knr: str) -> list[str]:
    lines = []
    if knr in state.registry:
        for number in state.registry.lineage(knr):
            v = state.registry.get(number)
            span = f"{v.valid_from or '…'}–{v.valid_to or ''}"
            lines.append(f"- {v.kommunenummer} {v.name} ({span}), {v.written_standard}")
    contacts = [
        c
        for c in state.contacts
        if c.kommunenummer in (state.registry.lineage(knr) if knr in state.registry else [knr])
    ]
    for c in sorted(contacts, key=lambda item: item.role):
        lines.append(f"- {ROLE_NAMES.get(c.role, c.role)}: {c.name} <{c.email}>")
    if not contacts:
        lines.append("- ingen kontakter registrert")
    return lines


def _letters(letters: Sequence[SentLetter]) -> list[str]:
    if not letters:
        return ["Ingen brev."]
    rows = ["| sendt | type | kommune | mottakere | emne |", "|---|---|---|---|---|"]
    for letter in letters:
        sent = f"{letter.on:%d.%m.%Y}" if letter.on else "ikke sendt"
        kind = LETTER_KINDS.get(letter.kind, letter.kind.replace("_", " "))
        subject = letter.subject.replace("|", "/")
        rows.append(
            f"| {sent} | {kind} | {letter.kommunenummer or '–'} | {letter.recipients} | {subject} |"
        )
    return rows


def _meetings(state: TrialState, knr: str) -> list[str]:
    times = sorted(
        (start, end, key)
        for (number, key), (start, end) in state.meeting_times.items()
        if number == knr
    )
    if not times:
        return ["Ingen avtalte møtetider."]
    return [f"- {_local(start)}–{end.astimezone(OSLO):%H:%M}: {key}" for start, end, key in times]


def _signatures(state: TrialState, knr: str) -> list[str]:
    lines = [
        f"- {PARTY_NAMES.get(party, party)} signerte {s.signed_on:%d.%m.%Y}, mottatt "
        f"{s.received_on:%d.%m.%Y}" + (" (for sent)" if s.late else "")
        for (number, party), s in sorted(state.signatures.items())
        if number == knr
    ]
    reply = state.replies.get(knr)
    if reply is not None:
        lines.append(f"- svar: {'takket ja' if reply[0] else 'takket nei'} {reply[1]:%d.%m.%Y}")
    return lines or ["Ingen signaturer eller svar."]


def _payouts(ledger: Sequence[LedgerLine]) -> list[str]:
    if not ledger:
        return ["Ingen utbetalinger."]
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for line in ledger:
        row = totals[line.run]
        row[line.component] = row.get(line.component, Decimal("0.00")) + line.amount
    components = sorted({line.component for line in ledger})
    rows = [
        "| kjøring | " + " | ".join(components) + " | sum |",
        "|---|" + "---:|" * (len(components) + 1),
    ]
    for run, amounts in sorted(totals.items()):
        cells = [money(amounts.get(c, Decimal("0.00"))) for c in components]
        total = money(sum(amounts.values(), Decimal("0.00")))
        rows.append(f"| {run} | " + " | ".join(cells) + f" | {total} |")
    return rows


def _local(instant: datetime) -> str:
    return f"{instant.astimezone(OSLO):%d.%m.%Y %H:%M}"
