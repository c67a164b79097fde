"""The application window (søknadsvinduet): receipts, and the window closing at the deadline.

Seed 004: «Søknadsfrist er 1. desember 2015». The window closes at the end (24:00 Europe/Oslo)
of the *effective* deadline day — the nominal date rolled to the next working day (domstolloven
§ 149).
An application counts from its own ``submitted_at`` (never from when a file was imported), so a
replay of history sends the receipts history would have had. Late applications are accepted, get
a receipt that says so, and are flagged for staff (D).
"""

from __future__ import annotations

from datetime import timedelta

from sio_domain.agendas import Agenda, ApplicationWindowClosed, Letter
from sio_domain.application_criteria import application_window_closes_at
from sio_domain.norwegian_calendar import OSLO
from sio_domain.trial_state import TrialState

RECEIPT_ROLES = ("contact_person", "chief_executive")
WINDOW_CLOSED = "application-window-closed"
"""The mark recorded once when the window has closed."""


def application_window_agenda(state: TrialState) -> Agenda:
    """Receipts for the applications known now; the window's closing once it has passed."""
    round_def = state.round_def
    closes = application_window_closes_at(round_def)
    if closes is None:
        return Agenda(
            "application-deadline",
            notes=(f"runden {round_def.id} har ingen søknadsfrist i rundefila",),
        )
    deadline = (closes - timedelta(days=1)).astimezone(OSLO).date()
    letters, rows = [], []
    for knr, application in sorted(state.applications.items()):
        key = f"receipt:{round_def.id}:{knr}"
        if key not in state.sent_keys:
            letters.append(
                Letter(
                    key=key,
                    kind="application_received",
                    kommunenummer=knr,
                    roles=RECEIPT_ROLES,
                    due_at=state.as_of,
                    context={
                        "municipality": state.name(knr),
                        "kommunenummer": knr,
                        "round_title": round_def.title,
                        "received_at": application.submitted_at,
                        "late": application.late,
                        "findings": list(application.findings),
                        "deadline": deadline,
                    },
                )
            )
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "mottatt": application.submitted_at.astimezone(OSLO).isoformat(),
                "for sent": "ja" if application.late else "nei",
                "merknader": "; ".join(application.findings) or "–",
            }
        )
    not_applied = tuple(sorted(state.candidates() - set(state.applications)))
    late = sum(a.late for a in state.applications.values())
    facts = []
    if state.as_of >= closes:
        note = (
            f"søknadsvinduet lukket {closes.isoformat()}: {len(state.applications)} søknader, "
            f"{late} for sent, {len(not_applied)} inviterte søkte ikke"
        )
        if WINDOW_CLOSED not in state.marks:
            facts.append(
                ApplicationWindowClosed(closes, len(state.applications), late, not_applied)
            )
    else:
        note = f"søknadsvinduet er åpent til {closes.isoformat()}"
    return Agenda(
        "application-deadline",
        letters=tuple(letters),
        facts=tuple(facts),
        rows=tuple(rows),
        notes=(note,),
    )
