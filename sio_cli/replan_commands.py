"""``sio replan ROUND …``: dated decisions that change a round's plan (omplanlegging)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from sio_cli.errors import reported_errors

replan_app = typer.Typer(
    help="Replan a round: move a milestone, end early, move or cancel a meeting or gathering.",
    no_args_is_help=True,
)

DecidedOn = Annotated[str, typer.Option("--decided-on", help="the date of the decision")]
Reason = Annotated[str, typer.Option("--reason", help="why (kept in the audit log)")]
By = Annotated[str, typer.Option("--by", help="who decided")]
Kommune = Annotated[
    str | None, typer.Option("--kommune", help="one municipality only (default: all)")
]


@replan_app.callback()
def replan(
    context: typer.Context,
    round_ref: Annotated[str, typer.Argument(metavar="ROUND", help="round id or round file")],
) -> None:
    """Replan ROUND from a decision date on."""
    context.obj = round_ref


def _date(option: str, text: str) -> date:
    from sio_domain.instants import parse_day

    return parse_day(text, option=option)  # a sane year too: 0001-01-01 is refused


def _record(round_ref: str, **values: object) -> None:
    from deployments.settings import load_settings
    from sio_domain.replanning import ReplanDecision
    from sio_domain.text_fields import checked_text
    from tasks.intake.round_files import load_round
    from tasks.records.replanning import record_replan
    from tasks.storage.unit_of_work import unit_of_work

    checked_text("--reason", str(values["reason"]))  # kept in the audit log: no personal data
    checked_text("--by", str(values["decided_by"]))
    round_def = load_round(round_ref)
    settings = load_settings()
    now = datetime.now().astimezone()
    decision = ReplanDecision(**values)  # type: ignore[arg-type]
    with unit_of_work(settings.resolved_database_url) as uow:
        state = uow.state(round_def, now)
        record_replan(uow.session, state, decision, now=now, actor="sio replan")
        uow.commit()
    typer.echo(f"replanned {round_def.id}: {decision.kind} recorded", err=True)


@replan_app.command("move-milestone")
def move_milestone(
    context: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="e.g. go_live")],
    to: Annotated[str, typer.Option("--to", help="the new date")],
    decided_on: DecidedOn,
    reason: Reason,
    by: By = "directorate",
) -> None:
    """Move a round milestone (e.g. go_live) to a new date."""
    with reported_errors():
        _record(
            context.obj,
            kind="move_milestone",
            target=name,
            to_date=_date("--to", to),
            decided_on=_date("--decided-on", decided_on),
            reason=reason,
            decided_by=by,
        )


@replan_app.command("end")
def end(
    context: typer.Context,
    on: Annotated[str, typer.Option("--on", help="the last day of participation")],
    decided_on: DecidedOn,
    reason: Reason,
    kommune: Kommune = None,
    by: By = "parliament",
) -> None:
    """End the round, or one participation, early."""
    with reported_errors():
        _record(
            context.obj,
            kind="end",
            to_date=_date("--on", on),
            kommunenummer=kommune,
            decided_on=_date("--decided-on", decided_on),
            reason=reason,
            decided_by=by,
        )


@replan_app.command("move-event")
def move_event(
    context: typer.Context,
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="plan-event key (sio plan --format json)")
    ],
    to: Annotated[str, typer.Option("--to", help="new start, ISO 8601 (no offset = Europe/Oslo)")],
    decided_on: DecidedOn,
    reason: Reason,
    kommune: Kommune = None,
    by: By = "directorate",
) -> None:
    """Move one meeting or gathering for one municipality or all."""
    from sio_domain.instants import parse_as_of

    with reported_errors():
        start = parse_as_of(to, now=datetime.now().astimezone(), option="--to")
        _record(
            context.obj,
            kind="move_event",
            target=key,
            to_start=start,
            kommunenummer=kommune,
            decided_on=_date("--decided-on", decided_on),
            reason=reason,
            decided_by=by,
        )


@replan_app.command("cancel-event")
def cancel_event(
    context: typer.Context,
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="plan-event key (sio plan --format json)")
    ],
    decided_on: DecidedOn,
    reason: Reason,
    kommune: Kommune = None,
    by: By = "directorate",
) -> None:
    """Cancel one meeting or gathering for one municipality or all."""
    with reported_errors():
        _record(
            context.obj,
            kind="cancel_event",
            target=key,
            kommunenummer=kommune,
            decided_on=_date("--decided-on", decided_on),
            reason=reason,
            decided_by=by,
        )
