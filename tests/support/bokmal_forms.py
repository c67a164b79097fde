"""Words that are bokmål and not nynorsk: a nynorsk text containing one is not nynorsk.

Why a list: nynorsk municipalities (Os, Fusa, Bjørnafjorden) receive every letter, calendar and
statement in nynorsk (språklova); a title copied from a bokmål source («prosjektleder», «dager»,
«avtales») slips through easily. The list holds only forms nynorsk's rules do not allow.
"""

from __future__ import annotations

import re

BOKMAL_ONLY_WORDS = (
    "ikke", "dere", "deres", "mottatt", "mottas", "statlig", "statlige", "omsorgstjenester",
    "omsorgstjenesten", "tjenester", "hvis", "hvilke", "hvilken", "hvilket", "hver", "hvert",
    "hvordan", "hva", "innen", "senest", "følger", "fra", "påminnelse", "påminnelsen",
    "prosjektleder", "prosjektledere", "dager", "avtales", "tilskudd", "tilskuddet", "kriterier",
    "kriteriene", "løsninger", "tilpasning", "tilpasninger", "deltakelse", "deltagelse",
    "utvelgelse", "forberedelse", "utvidelse", "videreføring", "viderefører", "kommuner",
    "kommunene", "eksisterende", "økonomiansvarlige", "hilsen", "vennlig", "saksbehandler", "uker",
    "være", "avsluttes", "avsluttet", "tidlig", "beskrivelse", "sammen", "bare", "noen", "mye",
    "jeg", "sendes", "gjelder", "øremerket", "utbetalingen", "sammenslåingspartnere", "egne",
    "kommunens", "begge parter", "partene",
)  # fmt: skip
_PATTERN = re.compile(r"\b(" + "|".join(map(re.escape, BOKMAL_ONLY_WORDS)) + r")\b", re.IGNORECASE)


def bokmal_forms(text: str) -> list[str]:
    """The bokmål-only words in ``text`` (empty for good nynorsk)."""
    return _PATTERN.findall(text)
