"""The words of payout statements and ledger files (utbetalingsoversikt), in both written standards.

Why data and not code: the names a municipality's finance officer reads for each payout component
are the trial's own terms (seed 004 "øremerket tilskudd", seed 001 "rundsumtilskudd",
"inntektspåslag", "aktivitetsbasert finansieringsmodell"); staff correct a word here, not in the
file writers. The frame is the earmarked grant (øremerket tilskudd), never "rammetilskudd", which
is the municipality's ordinary block grant the trial's money is taken out of (uttrekk, seed 004).

Text for a municipality is in its written standard (målform, språklova); text for staff in bokmål.
"""

from __future__ import annotations

from sio_domain.written_standard import WrittenStandard

COMPONENT_NAMES: dict[str, dict[WrittenStandard, str]] = {
    "frame": {"bokmål": "øremerket tilskudd (ramme)", "nynorsk": "øyremerkt tilskot (ramme)"},
    "lump_sum": {"bokmål": "rundsumtilskudd", "nynorsk": "rundsumtilskot"},
    "income_supplement": {"bokmål": "inntektspåslag", "nynorsk": "inntektspåslag"},
    "abf": {
        "bokmål": "aktivitetsbasert finansiering",
        "nynorsk": "aktivitetsbasert finansiering",
    },
    "system_adaptation": {"bokmål": "systemtilpasning", "nynorsk": "systemtilpassing"},
    "correction": {"bokmål": "korreksjon", "nynorsk": "korreksjon"},
    "adjustment": {"bokmål": "justering", "nynorsk": "justering"},
}
"""Payout component (INTERFACE's ``component`` value) → its name on a statement."""

COLUMN_HEADERS: dict[str, dict[WrittenStandard, str]] = {
    "kommunenummer": {"bokmål": "Kommunenummer", "nynorsk": "Kommunenummer"},
    "municipality": {"bokmål": "Kommune", "nynorsk": "Kommune"},
    "model": {"bokmål": "Modell", "nynorsk": "Modell"},
    "run": {"bokmål": "Utbetalt i kvartal", "nynorsk": "Utbetalt i kvartal"},
    "period": {"bokmål": "Gjelder kvartal", "nynorsk": "Gjeld kvartal"},
    "component": {"bokmål": "Tilskuddsdel", "nynorsk": "Tilskotsdel"},
    "amount": {"bokmål": "Beløp (kr)", "nynorsk": "Beløp (kr)"},
    "corrects": {"bokmål": "Korrigerer linje", "nynorsk": "Korrigerer linje"},
    "line_key": {"bokmål": "Linjenøkkel", "nynorsk": "Linjenøkkel"},
    "basis": {"bokmål": "Beregning", "nynorsk": "Utrekning"},
}
"""Ledger column (the JSON key) → its header in a Norwegian file."""

SUM_LABEL: dict[WrittenStandard, str] = {"bokmål": "Sum", "nynorsk": "Sum"}

STATEMENT_TITLE: dict[WrittenStandard, str] = {
    "bokmål": "Utbetaling {quarter} – {round_title} – {kommunenummer} {municipality}",
    "nynorsk": "Utbetaling {quarter} – {round_title} – {kommunenummer} {municipality}",
}


def component_name(component: str, standard: WrittenStandard) -> str:
    """The statement name of a payout component; an unknown component is shown as it is."""
    names = COMPONENT_NAMES.get(component)
    return names[standard] if names else component


def column_header(column: str, standard: WrittenStandard) -> str:
    """The Norwegian header of a ledger column; an unknown column is shown as it is."""
    headers = COLUMN_HEADERS.get(column)
    return headers[standard] if headers else column
