"""The cooperation agreement (samarbeidsavtale) sent to each selected municipality, with Bilag 1.

Why the text is shipped verbatim rather than written afresh: it is the legal text the directorate
and the municipality sign (seed 000: the agreement for model A §1.1–1.6 and model B §2.1–2.4,
each with its Bilag 1 plan). The files in ``tasks/mail/templates/agreement/`` keep the seed's
wording and dates, its own typos included ("skal først skal forsøkes løst", §1.6); only the
PDF's line breaks and hyphenation were undone, and the Bilag 1 table is laid out as plain
text, one row per block. The placeholders ``[Kommune]`` and ``[navn] kommune`` become the
municipality's name (model B §2.1's second blank, "… kommune", is written ``[navn] kommune``
too). The evaluator's blank ("avtale med … om følgeevaluering") stays blank, as in the seed.

**Decision:** the agreement stays in bokmål for every municipality. It is a contract text fixed
by the seed in that language; the covering letter (`agreement` mail) is in the municipality's
written standard and says so. **Limit:** seed 000 is round 2016's agreement (1.5.2016–30.4.2019);
the seeds hold no agreement text for the later rounds.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Literal

from tasks.mail.mail_templates import kommune
from tasks.mail.outbox import Attachment

Model = Literal["A", "B"]
AGREEMENT_MIMETYPE = "text/plain; charset=UTF-8"


def agreement_text(model: Model, *, municipality: str) -> str:
    """The agreement for ``model`` with ``municipality`` (registry name, e.g. "Os (Hordaland)")."""
    if model not in ("A", "B"):
        raise ValueError(f"the agreement exists for model A and model B, not {model!r}")
    template = files("tasks.mail.templates").joinpath("agreement", f"modell-{model}.txt")
    text = template.read_text(encoding="utf-8")
    name = kommune(municipality)
    return text.replace("[navn] kommune", name).replace("[Kommune]", name)


def agreement_filename(model: Model, kommunenummer: str) -> str:
    """``samarbeidsavtale-modell-A-1714.txt``."""
    return f"samarbeidsavtale-modell-{model}-{kommunenummer}.txt"


def agreement_attachment(model: Model, *, municipality: str, kommunenummer: str) -> Attachment:
    """The agreement as a UTF-8 text file to attach to the `agreement` mail.

    Plain text because the municipality prints, signs and returns it: any program opens it, and
    the outbox can store and resend it byte for byte.
    """
    return Attachment(
        filename=agreement_filename(model, kommunenummer),
        mimetype=AGREEMENT_MIMETYPE,
        content=agreement_text(model, municipality=municipality).encode("utf-8"),
    )
