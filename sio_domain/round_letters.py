"""What a round's letters and agreements say about the directorate (the ``[letters]`` table).

Why data: the case officer, the case reference, the evaluator named in the agreement and the body
an appeal goes to change between rounds and are facts staff correct without a release. A decision
letter (vedtak) carries the case reference (saksnummer), its date and a named case officer, and a
rejection names the appeal body and where the appeal is sent (forvaltningsloven §§ 24–29, §§ 28
and 32). Seed 004's letterhead: «Deres ref. / Vår ref. / Saksbehandler / Dato».
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

APPEAL_WEEKS = 3
"""forvaltningsloven § 29: the appeal deadline is three weeks from when the letter was received."""


class RoundLetters(BaseModel):
    """The ``[letters]`` table of a round file; every value has a default for older files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_officer: str = "Kirsten Petersen"
    """Saksbehandler (seed 004: «Saksbehandler: Kirsten Petersen»)."""
    case_officer_title: str = "prosjektleder"
    case_officer_title_nn: str = "prosjektleiar"
    case_officer_phone: str = "24 16 31 88"
    """Seed 004's letterhead: «Kirsten Petersen, tlf.: 24163188»."""
    case_prefix: str = ""
    """The case reference is ``<case_prefix>/<kommunenummer>`` (D); empty: the round id's year."""
    signed_by: str = "Kristin Mehre e.f."
    signed_by_title: str = "avdelingsdirektør"
    signed_by_title_nn: str = "avdelingsdirektør"
    """Seed 001: «Kristin Mehre e.f., Avdelingsdirektør»."""
    evaluator: str = ""
    """Who evaluates the trial (følgeevaluering), named in the agreement (seed 000 §1.4, §2.3)."""
    appeal_body: str = "Helse- og omsorgsdepartementet"
    """Klageinstans: the body above the one that decided (forvaltningsloven § 28)."""
    appeal_sent_to: str = "Helsedirektoratet"
    """Where the appeal is sent (forvaltningsloven § 32: to the body that made the decision)."""
    agreement_template: str = ""
    """The agreement text of the round
    (``tasks/mail/templates/agreement/<name>-<model>.html.j2``)."""
    source: str = ""

    def case_reference(self, round_id: str, kommunenummer: str) -> str:
        """``2016/1714``: the saksnummer of one municipality's case in the round (D)."""
        prefix = self.case_prefix or "".join(ch for ch in round_id if ch.isdigit())[:4] or round_id
        return f"{prefix}/{kommunenummer}"
