"""Decision letters (vedtaksbrev): every decided applicant gets its own, once.

Seed 003: «Hvordan søker skal opplyses om utfallet av søknadsbehandlingen: Vedtaksbrev». A selected
municipality is offered a place in a model it did not choose (seed 004: «Kommunene kan ikke selv
velge hvilken modell de deltar i»); a rejected one is told why (forvaltningsloven §§ 24–25). A
decision counts from the day it was taken, and a letter states only what was known on its date:
an early end decided later is not in it (seed 000 §1.3; seed 001 «ut 2022»).
"""

from __future__ import annotations

from typing import Any

from sio_domain.agendas import Agenda, Letter
from sio_domain.trial_state import DecisionFact, TrialState

LETTER_ROLES = ("chief_executive", "contact_person")

REJECTION_REASONS: dict[str, dict[str, str]] = {
    "late": {
        "bokmål": "Søknaden kom inn etter søknadsfristen.",
        "nynorsk": "Søknaden kom inn etter søknadsfristen.",
    },
    "criteria": {
        "bokmål": "Søknaden viser ikke at alle kriteriene for deltakelse er oppfylt.",
        "nynorsk": "Søknaden viser ikkje at alle kriteria for deltaking er oppfylte.",
    },
    "capacity": {
        "bokmål": "Forsøket har et begrenset antall plasser, og andre søkere ble prioritert.",
        "nynorsk": "Forsøket har eit avgrensa tal på plassar, og andre søkjarar vart prioriterte.",
    },
}
"""Why an application was rejected, in each written standard, when staff gave no reason."""


def rejection_reason(state: TrialState, decision: DecisionFact, standard: str) -> str:
    """The stated reason: the staff's own, else late, else criteria not met, else capacity."""
    if decision.reason:
        return decision.reason
    application = state.applications.get(decision.kommunenummer)
    code = "capacity"
    if application is not None and application.late:
        code = "late"
    elif application is not None and application.findings:
        code = "criteria"
    return REJECTION_REASONS[code][standard]


def decision_letters_agenda(state: TrialState) -> Agenda:
    """One letter per decision known now that has not been sent."""
    round_def = state.round_def
    deadlines = {e.kind: e.day for e in state.round_plan() if e.kind.endswith("_deadline")}
    letters, rows = [], []
    for knr, decision in sorted(state.decisions.items()):
        key = f"decision:{round_def.id}:{knr}"
        standard = state.written_standard(knr)
        context: dict[str, Any] = {
            "municipality": state.name(knr),
            "kommunenummer": knr,
            "round_title": round_def.title,
            "decided_by": decision.decided_by,
            "decided_on": decision.decided_on,
            "letter_date": state.today,
            "end": state.end_known_on(state.today),
        }
        if decision.selected:
            assert decision.model is not None
            participation = state.participations.get(knr)
            context |= {
                "model": decision.model,
                "model_title": round_def.models[decision.model].title,
                "go_live": participation.start
                if participation
                else round_def.milestones.go_live.date,
                "agreement_deadline": deadlines.get("agreement_deadline"),
                "reply_deadline": deadlines.get("reply_deadline"),
                "reason": None,
            }
        else:
            context["reason"] = rejection_reason(state, decision, standard)
        if key not in state.sent_keys:
            letters.append(
                Letter(
                    key=key,
                    kind="decision_offer" if decision.selected else "decision_rejection",
                    kommunenummer=knr,
                    roles=LETTER_ROLES,
                    due_at=state.as_of,
                    context=context,
                )
            )
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "vedtak": "valgt ut" if decision.selected else "avslått",
                "modell": decision.model or "–",
                "vedtatt av": decision.decided_by,
                "vedtatt": decision.decided_on.isoformat(),
            }
        )
    return Agenda("selection", letters=tuple(letters), rows=tuple(rows))


def awaiting_decision(state: TrialState) -> list[str]:
    """Applicants known now that have no decision yet, by number."""
    return sorted(set(state.applications) - set(state.decisions))
