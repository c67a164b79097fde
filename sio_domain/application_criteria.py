"""Checking an application (søknad) against its round's criteria, and judging it late or not.

Why a check and not a refusal: whether a municipality takes part is the deciding body's call
(the ministry, the directorate or parliament, "Who decides"), not the software's. An
application that misses a criterion is stored with *findings*, and staff see them before they
decide; only input that cannot be an application at all (an unknown municipality, an impossible
date) is refused by the import.

The criteria a file can show (seeds 004 and 003, rounds 2016 and 2019):

- ``council_resolution`` — «Kommunestyret må ha vedtatt deltakelse i forsøksordningen» (seed 004,
  criteria; seed 003, «Tildelingskriterier»): the council resolution (kommunestyrevedtak) is dated,
  and not after the application was submitted.
- ``signer`` — «For kommuner … skal søknaden undertegnes av rådmannen eller den vedkommende har
  delegert myndigheten til» (seed 003, «Søknadens form og innhold»): signed by the chief
  executive (rådmann, from 2020 kommunedirektør) or a delegate.
- ``epj_system`` — «Kommunens EPJ-system bes oppgitt i søknaden» (seed 003): the patient record
  system is named.
- ``attachment`` — «Søknaden skal inneholde utfylt vedlegg» (seed 003); in 2015 «Det utarbeides
  et eget søknadsskjema som må fylles ut» (seed 004): the filled-in form is attached.

**Design decision — which criteria a round has.** The round file does not (yet) list its
criteria, so :func:`criteria_for_round` derives them: the EPJ criterion first appears in the
2019 round's announcement (seed 003, application deadline 31.12.2018) and is absent from the 2015
invitation (seed 004), so it applies to rounds whose application deadline (or, for rounds
without one, whose go-live) falls in :data:`EPJ_CRITERION_FROM_YEAR` or later. The other three
apply to every round. Callers that know better pass their own set to
:func:`check_application`; when round files gain a ``criteria`` list, only
:func:`criteria_for_round` changes.

**Late** applications are accepted and flagged (design decision **D**): an application is late
when it
was submitted after the end (24:00 Europe/Oslo) of the *effective* deadline — the nominal date
rolled to the next working day (domstolloven § 149, :func:`effective_deadline`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from sio_domain.norwegian_calendar import OSLO, effective_deadline, oslo_datetime
from sio_domain.round_definition import RoundDefinition

SignerTitle = Literal["rådmann", "kommunedirektør", "delegate"]
SIGNER_TITLES: tuple[SignerTitle, ...] = ("rådmann", "kommunedirektør", "delegate")

Criterion = Literal["council_resolution", "signer", "epj_system", "attachment"]
ALL_CRITERIA: frozenset[Criterion] = frozenset(
    {"council_resolution", "signer", "epj_system", "attachment"}
)

EPJ_CRITERION_FROM_YEAR = 2018
"""Rounds whose applications are due in this year or later must name the EPJ system (seed 003)."""

ABSENT_MARKERS = frozenset({"no", "nei", "false", "0", "-", "none", "ingen"})
"""Cell values that say "nothing attached" rather than name an attachment."""


class ApplicationFacts(BaseModel):
    """What an application says about the criteria, as registered by staff."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kommunenummer: str
    submitted_at: AwareDatetime
    signed_by_title: SignerTitle | None = None
    council_resolution_date: date | None = None
    epj_system: str | None = None
    attachment: str | None = None


class Finding(BaseModel):
    """A criterion the application does not show as met: a stable code and a sentence for staff."""

    model_config = ConfigDict(frozen=True)

    code: str
    text: str

    def as_line(self) -> str:
        """``code: text``, the stored form (one finding per line)."""
        return f"{self.code}: {self.text}"


def criteria_for_round(round_def: RoundDefinition) -> frozenset[Criterion]:
    """The criteria an application to ``round_def`` is checked against (see the module's D)."""
    milestones = round_def.milestones
    due = milestones.application_deadline or milestones.go_live
    if due.date.year >= EPJ_CRITERION_FROM_YEAR:
        return ALL_CRITERIA
    return ALL_CRITERIA - {"epj_system"}


def check_application(
    application: ApplicationFacts, criteria: frozenset[Criterion]
) -> list[Finding]:
    """The findings for one application: empty when every criterion in ``criteria`` is shown."""
    findings: list[Finding] = []
    submitted_on = application.submitted_at.astimezone(OSLO).date()
    if "council_resolution" in criteria:
        resolved = application.council_resolution_date
        if resolved is None:
            findings.append(
                Finding(
                    code="council_resolution_missing",
                    text="no council resolution date: the municipal council must have resolved"
                    " to take part (seed 004; seed 003)",
                )
            )
        elif resolved > submitted_on:
            findings.append(
                Finding(
                    code="council_resolution_after_submission",
                    text=f"the council resolution is dated {resolved.isoformat()}, after the"
                    f" application was submitted on {submitted_on.isoformat()} (seed 004;"
                    " seed 003)",
                )
            )
    if "signer" in criteria and application.signed_by_title is None:
        findings.append(
            Finding(
                code="signer_not_chief_executive",
                text="not shown to be signed by the chief executive or a delegate (seed 003)",
            )
        )
    if "epj_system" in criteria and not _given(application.epj_system):
        findings.append(
            Finding(
                code="epj_system_missing",
                text="the patient record (EPJ) system is not named (seed 003)",
            )
        )
    if "attachment" in criteria and not _given(application.attachment):
        findings.append(
            Finding(
                code="attachment_missing",
                text="the filled-in application form (attachment) is missing (seed 003; seed 004)",
            )
        )
    return findings


def format_findings(findings: list[Finding]) -> str:
    """The stored form: one ``code: text`` per line; empty when there are none."""
    return "\n".join(finding.as_line() for finding in findings)


def parse_findings(text: str) -> list[Finding]:
    """Findings back from their stored form (inverse of :func:`format_findings`)."""
    findings = []
    for line in text.splitlines():
        if line.strip():
            code, _, rest = line.partition(": ")
            findings.append(Finding(code=code.strip(), text=rest.strip()))
    return findings


def application_window_closes_at(round_def: RoundDefinition) -> datetime | None:
    """The instant applications become late: the end of the effective deadline day in Oslo.

    None for a round without an application deadline (its applications predate the system).
    """
    deadline = round_def.milestones.application_deadline
    if deadline is None:
        return None
    return oslo_datetime(effective_deadline(deadline.date) + timedelta(days=1), time(0, 0))


def is_late(submitted_at: datetime, round_def: RoundDefinition) -> bool:
    """Whether an application submitted at ``submitted_at`` (aware) missed the effective deadline.

    Seed 004 «Søknadsfrist er 1. desember 2015»: 01.12.2015 is a Tuesday, so an application
    submitted at 23:59 that day is on time and one at 00:00 on 2 December is late.
    """
    closes = application_window_closes_at(round_def)
    return closes is not None and submitted_at >= closes


def _given(text: str | None) -> bool:
    return text is not None and text.strip().casefold() not in ABSENT_MARKERS | {""}
