"""Replanning from the Prefect UI: one flow whose parameters are the staff's form.

The same decision as ``sio replan``: a milestone moved, a round or participation ended early, a
meeting or gathering moved or cancelled — each with its decision date, reason and who decided. A
refused decision fails the run with one line saying why (no traceback), and nothing is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from prefect import flow
from pydantic import Field

from deployments.settings import load_settings
from sio_domain.replanning import ReplanDecision
from tasks.intake.round_files import load_round
from tasks.records.replanning import record_replan
from tasks.storage.unit_of_work import unit_of_work

ShippedRound = Literal["sio-2016", "sio-2019", "sio-2021"]


class DecisionRefusedInForm(ValueError):
    """The form's decision was refused; the message is the one line staff see."""


@flow(
    name="replan",
    flow_run_name="replan · {round_ref} · {kind} · {decided_on}",
    timeout_seconds=300,
)
def replan(
    round_ref: Annotated[ShippedRound, Field(title="Runde")],
    kind: Annotated[
        Literal["move_milestone", "end", "move_event", "cancel_event"],
        Field(
            title="Hva skal endres",
            description="move_milestone = flytt milepæl, end = avslutt tidlig, "
            "move_event = flytt møte/samling, cancel_event = avlys møte/samling",
        ),
    ],
    decided_on: Annotated[date, Field(title="Vedtaksdato")],
    reason: Annotated[str, Field(title="Begrunnelse", min_length=1)],
    decided_by: Annotated[str, Field(title="Vedtatt av")] = "directorate",
    target: Annotated[
        str | None,
        Field(
            title="Milepæl eller hendelse",
            description="milepælens navn (f.eks. go_live) eller hendelsens nøkkel",
        ),
    ] = None,
    kommunenummer: Annotated[
        str | None, Field(title="Kommunenummer", description="tom = alle kommuner")
    ] = None,
    to_date: Annotated[date | None, Field(title="Ny dato (milepæl / siste dag)")] = None,
    to_start: Annotated[datetime | None, Field(title="Nytt starttidspunkt (møte/samling)")] = None,
) -> dict[str, Any]:
    """Record one replanning decision; the next stage runs follow the new plan.

    Args:
        round_ref: runden som endres
        kind: move_milestone = flytt milepæl, end = avslutt tidlig, move_event = flytt møte
            eller samling, cancel_event = avlys møte eller samling
        decided_on: datoen vedtaket ble fattet (endringen gjelder fra denne dagen)
        reason: begrunnelsen (lagres i revisjonsloggen)
        decided_by: hvem som vedtok endringen
        target: milepælens navn (f.eks. go_live) eller hendelsens nøkkel (sio plan --format json)
        kommunenummer: én kommune; tomt = alle
        to_date: ny dato for milepælen, eller siste dag ved tidlig avslutning
        to_start: nytt starttidspunkt for møtet eller samlingen
    """
    settings = load_settings()
    round_def = load_round(round_ref)
    now = datetime.now().astimezone()
    decision = ReplanDecision(
        kind, decided_on, reason, decided_by, target, kommunenummer, to_date, to_start
    )
    try:
        with unit_of_work(settings.resolved_database_url) as uow:
            state = uow.state(round_def, now)
            record_replan(uow.session, state, decision, now=now, actor="prefect-ui: replan")
            uow.commit()
    except ValueError as error:
        raise DecisionRefusedInForm(str(error)) from None
    return {"round": round_def.id, "kind": kind, "target": target, "recorded": True}
