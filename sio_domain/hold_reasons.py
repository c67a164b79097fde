"""Why a payout is held back, in bokmål for staff (grunn til tilbakeholdt utbetaling).

A payout run gives each reason as an English sentence. That sentence is the machine-readable
text wherever it leaves the system — the run's JSON (``held[].reasons``), its audit entry
(``held_reasons``) and the ``sio.payout.held`` event's ``reasons`` — and it is never changed
there. The pages staff read (task list, case file, the run's table artifact and its approval
form) show the bokmål wording from this one table instead. Each entry recognises one sentence
(with its year, date or field) and says which rule of the trial it comes from.

Where each hold comes from (every entry's ``rule`` says it in full):

- agreement not received or not signed by the directorate: seed 000 (the signed agreement is
  returned to the directorate; two signed copies, one per party) and design decision (D), no
  payment before the agreement is fully signed and received;
- no reply to the offer, or the offer declined: seed 002 («Svarfrist ... innen 31. desember»);
- annual report overdue: seed 000 (the municipality reports under the grant rules) and design
  decision (D), a late annual report holds the next payout;
- no valid kontonummer: seed 000 §1.4 (correct and timely payments) and design decision (D);
- baseline expenditure missing, figures missing from the round file (financing data errors):
  seeds 004 and 001 (the financing model) and design decision (D), every figure in the round file;
- system-adaptation claims not paid: seed 000 §1.4 (up to NOK 40 000, model A); staff
  adjustments not paid: design decision (D).

A reason about another number of the payee (``"0301: …"``, a merged municipality's member) keeps
that number in front. A sentence no entry recognises is shown as it is: nothing is hidden from
staff, and a test over every reason the run gives makes sure none is left in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class HoldReason:
    """One reason a run holds a payee back (or leaves a claim unpaid), worded for staff.

    ``code`` names it in tests and documentation; ``sentence`` matches the English text the
    run gives (named groups carry its details); ``wording`` is the bokmål text, a format
    string over those groups (a group ending in ``_on`` is an ISO date, shown dd.mm.yyyy);
    ``rule`` cites where the hold comes from.
    """

    code: str
    sentence: re.Pattern[str]
    wording: str
    rule: str


def _reason(code: str, sentence: str, wording: str, rule: str) -> HoldReason:
    return HoldReason(code, re.compile(sentence), wording, rule)


_AGREEMENT_RULE = (
    "seed 000: «signert samarbeidsavtale må returneres til Helsedirektoratet» and «utferdiget i"
    " 2 - to - signerte eksemplarer»; design decision (D): no payment before the agreement is"
    " fully signed and received by the directorate"
)
_REPLY_RULE = (
    "seed 002: «Svarfrist for kommunen om deltagelse vil være innen 31. desember»; design"
    " decision (D): where the round has a reply deadline, the offer must be accepted"
)
_FINANCING_RULE = (
    "seed 004 and seed 001 (the financing of the trial); design decision (D): every figure of"
    " the payout model is in the round file"
)

HOLD_REASONS: tuple[HoldReason, ...] = (
    _reason(
        "agreement_not_received",
        r"the directorate has not received the agreement signed by the municipality",
        "Helsedirektoratet har ikke mottatt samarbeidsavtalen signert av kommunen",
        _AGREEMENT_RULE,
    ),
    _reason(
        "agreement_not_signed_by_directorate",
        r"the agreement is not signed by the directorate",
        "Helsedirektoratet har ikke signert samarbeidsavtalen",
        _AGREEMENT_RULE,
    ),
    _reason(
        "no_reply",
        r"no reply to the offer is recorded",
        "kommunens svar på tilbudet om deltakelse er ikke registrert",
        _REPLY_RULE,
    ),
    _reason(
        "offer_declined",
        r"the municipality declined the offer",
        "kommunen har takket nei til tilbudet om deltakelse",
        _REPLY_RULE,
    ),
    _reason(
        "annual_report_overdue",
        r"annual report (?P<year>\d{4}) overdue since (?P<due_on>\d{4}-\d{2}-\d{2})"
        r"(?: \((?P<key>annual_report:\d{4})\))?",
        "årsrapporten for {year} er ikke registrert levert (frist {due_on})",
        "seed 000: «Kommunen skal rapportere til Helsedirektoratet i henhold til"
        " tilskuddsregelverket»; design decision (D): a late annual report (due 1 April the"
        " following year, rolled to a working day) holds the next payout until recorded",
    ),
    _reason(
        "no_bank_account",
        r"no valid bank account \(kontonummer\) recorded",
        "ingen gyldig kontonummer er registrert",
        "seed 000 §1.4: «Helsedirektoratet skal sikre korrekte og rettidige utbetalinger til"
        " Kommunen»; design decision (D): payment goes to the municipality's kontonummer"
        " (11 digits, MOD11)",
    ),
    _reason(
        "baseline_missing",
        r"no expenditure for (?P<year>\d{4}) \(the baseline\) imported for (?P<numbers>.+)",
        "netto driftsutgifter til omsorgstjenester for {year} (grunnlagsåret) er ikke"
        " importert for {numbers}",
        "seed 004: the frame follows the municipality's care-service expenditure; design"
        " decision (D): the baseline is the year before start (KOSTRA 234, 253, 254, 261)",
    ),
    _reason(
        "baseline_no_municipality",
        r"no municipality of this lineage was in force at the end of (?P<year>\d{4})",
        "ingen av kommunens nummer var i kraft ved utgangen av {year} (grunnlagsåret)",
        "seed 004; design decision (D): the baseline is the year before start",
    ),
    _reason(
        "deflator_missing_for_price",
        r"financing\.deflators has no value for (?P<year>\d{4}) \(needed to index the"
        r" (?P<from_year>\d{4}) price of '(?P<code>[^']*)' to (?P<to_year>\d{4})\)",
        "rundefilen mangler deflator for {year} (financing.deflators), som trengs for å"
        " prisjustere {from_year}-prisen for {code} til {to_year}",
        _FINANCING_RULE,
    ),
    _reason(
        "deflator_missing",
        r"financing\.deflators has no value for (?P<year>\d{4})",
        "rundefilen mangler deflator for {year} (financing.deflators)",
        _FINANCING_RULE,
    ),
    _reason(
        "before_first_trial_year",
        r"no care-service expenditure before the first trial year (?P<year>\d{4})",
        "omsorgsutgiftene regnes bare fra første forsøksår {year}",
        _FINANCING_RULE,
    ),
    _reason(
        "cap_missing",
        r"financing\.caps has no cap for (?P<year>\d{4})",
        "rundefilen mangler tak for inntektstillegget i {year} (financing.caps)",
        "seed 004 and seed 001: the income supplement is capped per municipality and year",
    ),
    _reason(
        "unit_price_missing",
        r"financing\.unit_prices has no price for '(?P<code>[^']*)' in or before (?P<year>\d{4})",
        "rundefilen mangler enhetspris for {code} i {year} eller tidligere (financing.unit_prices)",
        "seed 000 §1.4 (Prismodellen): activity is paid at the state's unit prices",
    ),
    _reason(
        "top_up_unresolved",
        r"financing\.top_up\.(?P<number>\d+)\.(?P<year>\d{4}): (?P<detail>.+)",
        "toppfinansieringen for {number} i {year} i rundefilen gjelder ikke én kommune ({detail})",
        _FINANCING_RULE,
    ),
    _reason(
        "claim_model_b",
        r"system-adaptation claim not paid: only model A participants",
        "krav om systemtilpasning er ikke utbetalt: gjelder bare deltakere i modell A",
        "seed 000 §1.4 (model A): «Helsedirektoratet bistår ved nødvendig tilpasning av"
        " fagsystem med inntil kroner 40.000»",
    ),
    _reason(
        "claim_unresolved",
        r"system-adaptation claim not paid: (?P<detail>.+)",
        "krav om systemtilpasning er ikke utbetalt: kommunen ble ikke funnet i"
        " kommuneregisteret ({detail})",
        "seed 000 §1.4 (model A): system adaptation up to the round's maximum",
    ),
    _reason(
        "adjustment_not_payee",
        r"adjustment (?P<id>\d+) \((?P<period>\d{4}Q[1-4])\) not paid: the municipality is"
        r" not a payee of this round",
        "justering {id} ({period}) er ikke utbetalt: kommunen får ikke utbetalinger i denne runden",
        "design decision (D): staff adjustments are paid by the next run to a payee of the round",
    ),
)
"""Every reason a payout run gives, in the order it is tried (the longer sentence first)."""

_MEMBER = re.compile(r"(?P<member>\d{4}): (?P<rest>.+)")


def hold_reason(reason: str) -> HoldReason | None:
    """The entry that recognises ``reason`` (without a member's number in front), or None."""
    for entry in HOLD_REASONS:
        if entry.sentence.fullmatch(reason):
            return entry
    return None


def staff_wording(reason: str) -> str:
    """``reason`` as staff read it, in bokmål; a reason no entry knows is returned unchanged."""
    member = _MEMBER.fullmatch(reason)
    prefix, sentence = (member["member"] + ": ", member["rest"]) if member else ("", reason)
    for entry in HOLD_REASONS:
        found = entry.sentence.fullmatch(sentence)
        if found is not None:
            details = {
                name: _shown(name, value) for name, value in found.groupdict(default="").items()
            }
            return prefix + entry.wording.format(**details)
    return reason


def staff_wordings(reasons: Iterable[str]) -> list[str]:
    """Each reason in bokmål, in the run's order."""
    return [staff_wording(reason) for reason in reasons]


def _shown(name: str, value: str) -> str:
    if name.endswith("_on") and value:
        return f"{date.fromisoformat(value):%d.%m.%Y}"
    return value
