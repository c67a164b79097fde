"""Go-live (oppstartstidspunkt): readiness against Bilag 1, staff alerted, participation live.

Seed 000 §1.4: «Frem mot Oppstartstidspunktet skal Partene forberede oppstart iht. det tidsskjema
som fremkommer i bilag 1». What is not done of the activities due before go-live is reported to
staff from ``READINESS_WARNING_DAYS`` working days before the start; on the start date the
participation goes live (an effective date: it does not move, even on a holiday).
"""

from __future__ import annotations

from sio_domain.agendas import Agenda, Letter, ParticipationWentLive
from sio_domain.norwegian_calendar import working_days_before
from sio_domain.obligations import obligation_key
from sio_domain.trial_state import TrialState

READINESS_WARNING_DAYS = 10
"""Staff hear about unfinished preparations this many working days before go-live (D)."""


def go_live_agenda(state: TrialState) -> Agenda:
    """Readiness alerts to staff and the participations that go live at the state's instant."""
    round_def = state.round_def
    today = state.today
    letters, facts, rows = [], [], []
    for knr, participation in sorted(state.participations.items()):
        required = [e for e in state.plan_for(knr) if e.kind == "activity" and e.before_go_live]
        missing = [e for e in required if (knr, obligation_key(e) or "") not in state.done]
        start = participation.start
        warn_from = working_days_before(start, READINESS_WARNING_DAYS)
        key = f"readiness:{round_def.id}:{knr}:{start.isoformat()}"
        if missing and warn_from <= today <= start and key not in state.sent_keys:
            letters.append(
                Letter(
                    key=key,
                    kind="readiness_alert",
                    kommunenummer=knr,
                    roles=(),
                    to_staff=True,
                    due_at=state.as_of,
                    context={
                        "municipality": state.name(knr),
                        "kommunenummer": knr,
                        "round_title": round_def.title,
                        "go_live": start,
                        "missing": [{"title": e.title, "due": e.end} for e in missing],
                    },
                )
            )
        live = participation.live_since is not None or today >= start
        if participation.live_since is None and today >= start:
            facts.append(ParticipationWentLive(knr, start, tuple(e.title for e in missing)))
        rows.append(
            {
                "kommunenummer": knr,
                "kommune": state.name(knr),
                "oppstart": start.isoformat(),
                "status": "i gang" if live else "forbereder",
                "ikke gjort": "; ".join(e.title for e in missing) or "–",
            }
        )
    return Agenda("go-live", letters=tuple(letters), facts=tuple(facts), rows=tuple(rows))
