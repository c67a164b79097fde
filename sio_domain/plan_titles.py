"""Nynorsk forms of the titles the plan generates itself (milestones, meetings, payout runs).

Why: a nynorsk municipality (Os, Fusa, Bjørnafjorden) gets its calendar and letters in nynorsk
(målform, språklova); titles that come from a round file carry their own ``title_nn``, these are
the ones the plan makes. Written by us, checked against nynorsk's rules (no bokmål forms such as
«deltakelse» — nn «deltaking», «starter» of a process — nn «tek til», «avsluttes» — «blir
avslutta»).
"""

from __future__ import annotations

from datetime import date

TITLES_NN: dict[str, str] = {
    "invitation": "Invitasjon til å søkje om deltaking",
    "application_deadline": "Søknadsfrist",
    "selection_deadline": "Utveljing av kommunane som skal delta",
    "reply_deadline": "Svarfrist på tilbodet om deltaking",
    "agreement_deadline": "Frist for retur av signert samarbeidsavtale",
    "collaboration_start": "Tett samarbeid med Helsedirektoratet tek til",
    "go_live": "Oppstartstidspunkt",
    "trial_end": "Forsøket blir avslutta",
    "participation_start": "Deltakinga tek til",
    "abf_start": "Aktivitetsbasert finansiering tek til",
    "status_meeting": "Statusmøte",
}
"""Event kind → the nynorsk title of the event the plan generates for it."""


def early_end_nn(agreed_end: date) -> str:
    """The nynorsk suffix of an early trial end: «(avslutta tidleg; avtalt til 31.12.2022)»."""
    return f" (avslutta tidleg; avtalt til {agreed_end.strftime('%d.%m.%Y')})"


def report_deadline_nn(year: int) -> str:
    """«Frist for årsrapport 2016» (the same words in both standards)."""
    return f"Frist for årsrapport {year}"


def payout_run_nn(label: str) -> str:
    """«Utbetaling 2016Q3» (the same words in both standards)."""
    return f"Utbetaling {label}"
