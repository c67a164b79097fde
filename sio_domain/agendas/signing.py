"""Signing the cooperation agreement (samarbeidsavtale): sent once, followed until returned.

Seed 000: the selected municipalities «akseptere vilkårene ... og signere samarbeidsavtale»; it is
made out in two signed copies, one per party, and returned by the agreement deadline — a return
date, judged on when the directorate *received* the municipality's copy. In rounds with a reply
deadline (seed 002) the agreement follows the acceptance of the offer.
"""

from __future__ import annotations

from sio_domain.agendas import Agenda, Letter
from sio_domain.trial_state import TrialState

AGREEMENT_ROLES = ("chief_executive", "contact_person")


def signing_agenda(state: TrialState) -> Agenda:
    """The agreement letters due, and each selected municipality's signing status for staff."""
    round_def = state.round_def
    deadline = next((e.day for e in state.round_plan() if e.kind == "agreement_deadline"), None)
    reply_round = round_def.milestones.reply_deadline is not None
    letters, rows = [], []
    for knr, model in sorted(state.selected.items()):
        reply = state.replies.get(knr)
        if reply_round and (reply is None or not reply[0]):
            status = "venter på svar" if reply is None else "takket nei"
            rows.append({"kommunenummer": knr, "kommune": state.name(knr), "status": status})
            continue
        key = f"agreement:{round_def.id}:{knr}"
        if key not in state.sent_keys:
            letters.append(
                Letter(
                    key=key,
                    kind="agreement",
                    kommunenummer=knr,
                    roles=AGREEMENT_ROLES,
                    due_at=state.as_of,
                    agreement_model=model,
                    context={
                        "municipality": state.name(knr),
                        "kommunenummer": knr,
                        "round_title": round_def.title,
                        "model": model,
                        "agreement_deadline": deadline,
                    },
                )
            )
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "status": _status(state, knr, deadline),
            }
        )
    return Agenda("signing", letters=tuple(letters), rows=tuple(rows))


def _status(state: TrialState, knr: str, deadline: object) -> str:
    own = state.signatures.get((knr, "municipality"))
    theirs = state.signatures.get((knr, "directorate"))
    if own is None:
        late = deadline is not None and state.today > deadline  # type: ignore[operator]
        status = "mangler, for sent" if late else "venter på signert avtale"
    else:
        status = "mottatt for sent" if own.late else "mottatt"
    if theirs is None:
        status += "; Helsedirektoratet har ikke signert"
    return status
