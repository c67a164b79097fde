"""``sio record …``: facts that happen outside sio — signatures, replies, activities, meetings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from sio_cli.errors import reported_errors
from sio_domain.text_fields import checked_text

record_app = typer.Typer(
    help="Record a signature, reply, activity, meeting time, minutes or attendance.",
    no_args_is_help=True,
)

RoundArg = Annotated[str, typer.Argument(metavar="ROUND", help="round id or round file")]
KommuneArg = Annotated[str, typer.Argument(metavar="KNR", help="kommunenummer")]


def _date(option: str, text: str) -> date:
    from sio_domain.instants import parse_day

    return parse_day(text, option=option)  # a sane year too: 0001-01-01 is refused


def _free_text(*options: tuple[str, str]) -> None:
    """Each option's text as a free-text field may hold it: printable, no personal number
    (refused in one line naming the option, the number masked)."""
    for option, value in options:
        checked_text(option, value)


def _record(round_ref: str, action: str, write: object) -> None:
    """Load the round's state now, call ``write(session, state, now)`` and commit, in one unit."""
    from deployments.settings import load_settings
    from tasks.intake.round_files import load_round
    from tasks.storage.unit_of_work import unit_of_work

    round_def = load_round(round_ref)
    settings = load_settings()
    now = datetime.now().astimezone()
    with unit_of_work(settings.resolved_database_url) as uow:
        state = uow.state(round_def, now)
        changed = write(uow.session, state, now)  # type: ignore[operator]
        uow.commit()
    typer.echo(f"{action}: {'recorded' if changed is not False else 'already recorded'}", err=True)


@record_app.command("signature")
def signature(
    round_ref: RoundArg,
    kommune: KommuneArg,
    party: Annotated[str, typer.Option("--party", help="municipality or directorate")],
    signed_on: Annotated[str, typer.Option("--signed-on", help="YYYY-MM-DD")],
    place: Annotated[str, typer.Option("--place", help="where it was signed (sted)")],
    signatory: Annotated[str, typer.Option("--signatory", help="who signed")],
    received_on: Annotated[
        str | None,
        typer.Option(
            "--received-on",
            help="when the directorate received the signed copy (default: the signing date)",
        ),
    ] = None,
) -> None:
    """One signature of the cooperation agreement (samarbeidsavtale)."""
    from tasks.records.lifecycle_records import record_signature

    with reported_errors():
        _free_text(("--party", party), ("--place", place), ("--signatory", signatory))
        signed = _date("--signed-on", signed_on)
        received = _date("--received-on", received_on) if received_on else None
        _record(
            round_ref,
            f"{party} signature for {kommune}",
            lambda s, v, now: record_signature(
                s,
                v,
                kommune,
                party=party,
                signed_on=signed,
                place=place,
                signatory=signatory,
                received_on=received,
                now=now,
                actor="sio record signature",
            ),
        )


@record_app.command("reply")
def reply(
    round_ref: RoundArg,
    kommune: KommuneArg,
    on: Annotated[str, typer.Option("--on", help="date of the reply, YYYY-MM-DD")],
    accept: Annotated[
        bool | None, typer.Option("--accept/--decline", help="accepted or declined the offer")
    ] = None,
) -> None:
    """The municipality's reply to an offer, in rounds that have a reply deadline."""
    from tasks.records.lifecycle_records import record_reply

    with reported_errors():
        if accept is None:
            raise ValueError("--accept or --decline: say which the municipality replied")
        day = _date("--on", on)
        _record(
            round_ref,
            f"reply from {kommune}",
            lambda s, v, now: record_reply(
                s, v, kommune, accepted=accept, on=day, now=now, actor="sio record reply"
            ),
        )


@record_app.command("activity")
def activity(
    round_ref: RoundArg,
    kommune: KommuneArg,
    key: Annotated[
        str, typer.Option("--activity", help="activity:<key> (Bilag 1) or annual_report:<year>")
    ],
    on: Annotated[str, typer.Option("--on", help="date it was done, YYYY-MM-DD")],
) -> None:
    """A Bilag 1 activity or an annual report done by the municipality."""
    from tasks.records.lifecycle_records import record_activity_done

    with reported_errors():
        _free_text(("--activity", key))
        day = _date("--on", on)
        _record(
            round_ref,
            f"{key} for {kommune}",
            lambda s, v, now: record_activity_done(
                s, v, kommune, activity=key, on=day, now=now, actor="sio record activity"
            ),
        )


@record_app.command("meeting")
def meeting(
    round_ref: RoundArg,
    kommune: KommuneArg,
    month: Annotated[str, typer.Option("--month", help="the meeting's month, YYYY-MM")],
    start: Annotated[
        str, typer.Option("--start", help="agreed start, ISO 8601 (Oslo if no offset)")
    ],
) -> None:
    """Move one status meeting for one municipality to the time agreed with it."""
    from sio_domain.instants import parse_as_of
    from tasks.records.lifecycle_records import record_meeting_time

    with reported_errors():
        _free_text(("--month", month))
        at = parse_as_of(start, now=datetime.now().astimezone(), option="--start")
        if "T" not in start:
            raise ValueError(f"--start: {start!r} has no time of day (e.g. 2016-06-16T13:00)")
        _record(
            round_ref,
            f"status meeting {month} for {kommune}",
            lambda s, v, now: record_meeting_time(
                s, v, kommune, month=month, start=at, now=now, actor="sio record meeting"
            ),
        )


@record_app.command("minutes")
def minutes(
    round_ref: RoundArg,
    kommune: KommuneArg,
    month: Annotated[str, typer.Option("--month", help="the meeting's month, YYYY-MM")],
    text: Annotated[str, typer.Option("--text", help="the minutes (referat)")],
) -> None:
    """Minutes of a held status meeting."""
    from tasks.records.lifecycle_records import record_minutes

    with reported_errors():
        _free_text(("--month", month))
        checked_text("--text", text, multiline=True)  # minutes may run over several lines
        _record(
            round_ref,
            f"minutes {month} for {kommune}",
            lambda s, v, now: record_minutes(
                s, v, kommune, month=month, minutes=text, now=now, actor="sio record minutes"
            ),
        )


@record_app.command("attendance")
def attendance(
    round_ref: RoundArg,
    kommune: KommuneArg,
    event: Annotated[
        str,
        typer.Option(
            "--event",
            help="the event's key (sio plan … --format "
            "json shows titles; keys are in the .ics UID source)",
        ),
    ],
    email: Annotated[str, typer.Option("--email", help="the person's address")],
    attended: Annotated[bool, typer.Option("--attended/--absent")] = True,
) -> None:
    """Who attended a gathering or meeting."""
    from tasks.records.lifecycle_records import record_attendance

    with reported_errors():
        _free_text(("--event", event), ("--email", email))
        _record(
            round_ref,
            f"attendance at {event}",
            lambda s, v, now: record_attendance(
                s,
                v,
                kommune,
                event_key=event,
                email=email,
                attended=attended,
                now=now,
                actor="sio record attendance",
            ),
        )
