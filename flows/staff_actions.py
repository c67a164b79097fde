"""Every staff action as a form in the Prefect UI (skjema): the same rules as ``sio record``.

Operations staff run the trial without the CLI: each action — a signature, a reply, a Bilag 1
activity, a meeting time, minutes, attendance, an adjustment, a system-adaptation claim, an import
from a file — is a deployment whose typed parameters the UI shows as a form (round as a choice of
the shipped rounds, dates with a date picker, the municipality checked against the registry, every
field described in bokmål). The form is validated here, not by Prefect, so a refused form fails the
run with one line naming the field and the value (the CLI's message), never a traceback; nothing is
half-written, because each action commits in one unit of work. After the commit the change is
emitted to the Event Feed and the round's console (task list, case files) is published again.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import AfterValidator, Field, ValidationError, validate_call
from pydantic.fields import FieldInfo
from sqlmodel import Session

from deployments.settings import load_settings
from sio_domain.trial_state import TrialState
from tasks.intake.round_files import load_round, shipped_round_ids

RoundId = Literal[tuple(shipped_round_ids())]  # type: ignore[valid-type]


class StaffActionRefused(ValueError):
    """A form that breaks a rule: the message is the one line staff see on the failed run."""


def _known_municipality(value: str) -> str:
    from tasks.records.municipality_lookup import registry

    if value not in registry(load_settings().resolved_database_url):
        raise ValueError(f"{value!r} is not in the municipality registry")
    return value


def _free_text(value: str) -> str:
    """Printable text with no personal identity number, as every free-text field (one line)."""
    from sio_domain.text_fields import text_problem

    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _free_lines(value: str) -> str:
    """As :func:`_free_text`, line breaks allowed (minutes run over several lines)."""
    from sio_domain.text_fields import text_problem

    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


FreeText = AfterValidator(_free_text)
Round = Annotated[RoundId, Field(title="Runde", description="forsøksrunden handlingen gjelder")]
Kommunenummer = Annotated[
    str,
    Field(
        title="Kommunenummer",
        description="fire sifre, f.eks. 0138 for Hobøl",
        pattern=r"^\d{4}$",
    ),
    AfterValidator(_known_municipality),
]


def one_line(error: ValidationError) -> str:
    """The first problem of a refused form, as ``field: message (value)``."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "form"
    message = str(first["msg"]).removeprefix("Value error, ")
    from sio_domain.personal_data import masked_text

    return masked_text(f"{field}: {message} (got {first.get('input')!r})")  # a number masked


def staff_action(name: str) -> Callable[[Callable[..., str]], Any]:
    """A flow from a typed action: validated by pydantic, refused in one line."""

    def decorate(action: Callable[..., str]) -> Any:
        checked = validate_call(action)
        signature = inspect.signature(action)

        @functools.wraps(action)
        def run(*args: Any, **kwargs: Any) -> str:
            bound = signature.bind_partial(*args, **kwargs)
            try:
                return checked(**bound.arguments)
            except ValidationError as error:
                raise StaffActionRefused(one_line(error)) from None
            except (ValueError, LookupError) as error:
                message = str(error.args[0]) if isinstance(error, KeyError) else str(error)
                raise StaffActionRefused(message) from None

        staff_flow = flow(
            name=name,
            validate_parameters=False,
            timeout_seconds=300,
            flow_run_name=f"{name} · {{round_ref}} · {{kommunenummer}}"
            if "kommunenummer" in signature.parameters
            else f"{name} · {{round_ref}}",
        )(run)
        _label_form(staff_flow.parameters, action)
        return staff_flow

    return decorate


def form_schema(staff_flow: Any) -> Any:
    """The flow's parameter schema with the bokmål titles and descriptions (for a deployment)."""
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(staff_flow)
    _label_form(schema, inspect.unwrap(staff_flow.fn))
    return schema


def _label_form(schema: Any, action: Callable[..., str]) -> None:
    """Put each field's bokmål title and description into the form's schema.

    Prefect titles a parameter with its name and reads descriptions from default values only;
    the form staff see should say «Kommunenummer», «Signert dato» with a line of help under each.
    """
    hints = typing.get_type_hints(action, include_extras=True)
    for name, spec in schema.properties.items():
        for meta in getattr(hints.get(name), "__metadata__", ()):
            if isinstance(meta, FieldInfo):
                if meta.title:
                    spec["title"] = meta.title
                if meta.description:
                    spec["description"] = meta.description


def _record(
    round_ref: str,
    kommunenummer: str | None,
    what: str,
    write: Callable[[Session, TrialState, datetime], object],
    event: str | None = None,
) -> str:
    """Load the round now, write, commit in one unit; then the Event Feed and the console."""
    from tasks.console.domain_events import domain_event, emit_all
    from tasks.storage.unit_of_work import unit_of_work

    settings = load_settings()
    round_def = load_round(round_ref)
    now = datetime.now().astimezone()
    with unit_of_work(settings.resolved_database_url) as uow:
        state = uow.state(round_def, now)
        changed = write(uow.session, state, now)
        uow.commit()
    if changed is not False and event is not None:
        emit_all(
            [
                domain_event(
                    event,
                    round_id=round_def.id,
                    kommunenummer=kommunenummer,
                    subject=f"sio.kommune.{kommunenummer}"
                    if kommunenummer
                    else f"sio.round.{round_def.id}",
                    occurred=now,
                    payload={"what": what},
                )
            ]
        )
    if flow_run.id:
        from tasks.console.console_artifacts import publish_console
        from tasks.runs.stage_run import StageRun

        publish_console(
            StageRun(round_def, now, settings, _actor()), staff_address=settings.staff_address
        )
    return f"{what}: {'registrert' if changed is not False else 'var allerede registrert'}"


def _actor() -> str:
    return f"flow-run:{flow_run.id}" if flow_run.id else "staff form"


@staff_action("registrer-signatur")
def record_signature(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    party: Annotated[
        Literal["municipality", "directorate"],
        Field(
            title="Part",
            description="municipality = kommunen, directorate = Helsedirektoratet",
        ),
    ],
    signed_on: Annotated[date, Field(title="Signert dato")],
    place: Annotated[str, Field(title="Sted", description="hvor avtalen ble signert"), FreeText],
    signatory: Annotated[str, Field(title="Signert av", description="navn og tittel"), FreeText],
    received_on: Annotated[
        date | None,
        Field(
            title="Mottatt dato",
            description="når Helsedirektoratet mottok kommunens eksemplar (tom: signert dato)",
        ),
    ] = None,
) -> str:
    """Record one party's signature on the cooperation agreement (samarbeidsavtale, seed 000)."""
    from tasks.records import lifecycle_records

    return _record(
        round_ref,
        kommunenummer,
        f"signatur ({party}) for {kommunenummer}",
        lambda s, v, now: lifecycle_records.record_signature(
            s,
            v,
            kommunenummer,
            party=party,
            signed_on=signed_on,
            place=place,
            signatory=signatory,
            received_on=received_on,
            now=now,
            actor=_actor(),
        ),
        "sio.agreement.received" if party == "municipality" else "sio.agreement.signed",
    )


@staff_action("registrer-svar")
def record_reply(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    accepted: Annotated[bool, Field(title="Takket ja", description="av = takket nei")],
    on: Annotated[date, Field(title="Svardato")],
) -> str:
    """Record a municipality's reply to the offer (svar på tilbud, seed 002)."""
    from tasks.records import lifecycle_records

    return _record(
        round_ref,
        kommunenummer,
        f"svar fra {kommunenummer}",
        lambda s, v, now: lifecycle_records.record_reply(
            s, v, kommunenummer, accepted=accepted, on=on, now=now, actor=_actor()
        ),
        "sio.offer.accepted" if accepted else "sio.offer.declined",
    )


@staff_action("registrer-aktivitet")
def record_activity(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    activity: Annotated[
        str,
        Field(
            title="Aktivitet",
            description="activity:<nøkkel> fra Bilag 1 (f.eks. activity:project_leader) eller "
            "annual_report:<år>",
            pattern=r"^(activity:[a-z0-9_]+|annual_report:\d{4})$",
        ),
    ],
    on: Annotated[date, Field(title="Gjort dato")],
) -> str:
    """Record a Bilag 1 activity or an annual report as done (seed 000, Bilag 1)."""
    from tasks.records import lifecycle_records

    return _record(
        round_ref,
        kommunenummer,
        f"{activity} for {kommunenummer}",
        lambda s, v, now: lifecycle_records.record_activity_done(
            s, v, kommunenummer, activity=activity, on=on, now=now, actor=_actor()
        ),
        "sio.activity.done",
    )


Month = Annotated[
    str, Field(title="Måned", description="møtets måned, ÅÅÅÅ-MM", pattern=r"^\d{4}-\d{2}$")
]


TimeOfDay = Annotated[
    str,
    Field(
        title="Klokkeslett",
        description="avtalt start i norsk tid, TT:MM (f.eks. 13:00)",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
    ),
]


@staff_action("registrer-motetid")
def record_meeting_time(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    month: Month,
    day: Annotated[date, Field(title="Dato", description="møtets dato")],
    time_of_day: TimeOfDay,
) -> str:
    """Move one status meeting to the time agreed with the municipality (seed 000: «avtales»).

    The date and the time of day are two fields, the time read in Oslo: the Prefect UI's
    date-and-time picker starts in UTC, and a meeting agreed for 13:00 entered there would be
    stored two hours late in summer.
    """
    from sio_domain.instants import parse_as_of
    from tasks.records import lifecycle_records

    agreed = parse_as_of(
        f"{day.isoformat()}T{time_of_day}", now=datetime.now().astimezone(), option="time_of_day"
    )
    return _record(
        round_ref,
        kommunenummer,
        f"statusmøte {month} for {kommunenummer}",
        lambda s, v, now: lifecycle_records.record_meeting_time(
            s, v, kommunenummer, month=month, start=agreed, now=now, actor=_actor()
        ),
        "sio.meeting.agreed",
    )


@staff_action("registrer-referat")
def record_minutes(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    month: Month,
    minutes: Annotated[str, Field(title="Referat", min_length=1), AfterValidator(_free_lines)],
) -> str:
    """Record the minutes (referat) of a held status meeting."""
    from tasks.records import lifecycle_records

    return _record(
        round_ref,
        kommunenummer,
        f"referat {month} for {kommunenummer}",
        lambda s, v, now: lifecycle_records.record_minutes(
            s, v, kommunenummer, month=month, minutes=minutes, now=now, actor=_actor()
        ),
        "sio.meeting.minutes",
    )


@staff_action("registrer-oppmote")
def record_attendance(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    event_key: Annotated[
        str, Field(title="Arrangement", description="arrangementets nøkkel"), FreeText
    ],
    email: Annotated[str, Field(title="E-post", description="deltakerens adresse"), FreeText],
    attended: Annotated[bool, Field(title="Møtte", description="av = meldte forfall")] = True,
) -> str:
    """Record who attended a gathering or meeting."""
    from tasks.records import lifecycle_records

    return _record(
        round_ref,
        kommunenummer,
        f"oppmøte på {event_key}",
        lambda s, v, now: lifecycle_records.record_attendance(
            s,
            v,
            kommunenummer,
            event_key=event_key,
            email=email,
            attended=attended,
            now=now,
            actor=_actor(),
        ),
        "sio.meeting.attendance",
    )


@staff_action("registrer-justering")
def record_adjustment(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    period: Annotated[
        str, Field(title="Kvartal", description="ÅÅÅÅKn, f.eks. 2016Q3", pattern=r"^\d{4}Q[1-4]$")
    ],
    amount: Annotated[Decimal, Field(title="Beløp (kr)", description="negativt = tilbakekreving")],
    reason: Annotated[
        str, Field(title="Begrunnelse", description="vises på utbetalingsoversikten"), FreeText
    ],
) -> str:
    """Record an extraordinary payment or claw-back; the next payout run pays it."""
    from sio_domain.payout_periods import Quarter
    from tasks.payouts.ledger import record_adjustment as write_adjustment
    from tasks.payouts.payout_queries import participations

    def write(session: Session, state: TrialState, now: datetime) -> object:
        quarter = Quarter.parse(period)
        payee = state.registry.in_force(kommunenummer, quarter.first_day).kommunenummer
        lineage = set(state.registry.lineage(payee))
        if not any(
            p.round_id == state.round_def.id and p.kommunenummer in lineage
            for p in participations(session)
        ):
            raise ValueError(f"{kommunenummer}: the municipality takes no part in {round_ref}")
        return write_adjustment(
            session,
            round_id=state.round_def.id,
            kommunenummer=payee,
            period=quarter.label,
            amount=amount,
            reason=reason,
            now=now.astimezone(UTC),
            entered_by=_actor(),
        )

    return _record(
        round_ref, kommunenummer, f"justering {period} for {kommunenummer}", write, "sio.adjusted"
    )


@staff_action("registrer-systemtilpasning")
def record_system_adaptation(
    round_ref: Round,
    kommunenummer: Kommunenummer,
    amount: Annotated[Decimal, Field(title="Beløp (kr)", gt=0)],
    documentation: Annotated[
        str, Field(title="Dokumentasjon", description="faktura eller referanse"), FreeText
    ],
) -> str:
    """Record a documented system-adaptation cost (seed 000 §1.4); paid up to the round's cap."""
    from tasks.payouts.ledger import record_system_adaptation_claim

    return _record(
        round_ref,
        kommunenummer,
        f"systemtilpasning for {kommunenummer}",
        lambda s, v, now: record_system_adaptation_claim(
            s,
            round_id=v.round_def.id,
            kommunenummer=kommunenummer,
            amount=amount,
            documentation=documentation,
            now=now.astimezone(UTC),
            entered_by=_actor(),
        ),
        "sio.system-adaptation.claimed",
    )


FilePath = Annotated[
    str, Field(title="Filsti", description="full sti til CSV-filen på serveren", min_length=1)
]


@staff_action("importer-kontakter")
def import_contacts(round_ref: Round, path: FilePath) -> str:
    """Import contacts (kommunenummer,name,role,email,phone) from a file on the server."""
    from tasks.intake.imports import import_contacts as write_contacts

    settings = load_settings()
    changed = write_contacts(
        Path(path),
        database_url=settings.resolved_database_url,
        now=datetime.now().astimezone(),
        actor=_actor(),
    )
    return _record(round_ref, None, f"{changed} kontakter fra {path}", lambda s, v, now: True)


@staff_action("importer-soknader")
def import_applications(round_ref: Round, path: FilePath) -> str:
    """Import a round's applications from a file on the server, checked against its criteria."""
    from tasks.intake.imports import import_applications as write_applications

    settings = load_settings()
    imported = write_applications(
        Path(path),
        round_def=load_round(round_ref),
        database_url=settings.resolved_database_url,
        now=datetime.now().astimezone(),
        actor=_actor(),
    )
    return _record(
        round_ref,
        None,
        f"{len(imported)} søknader fra {path}",
        lambda s, v, now: True,
        "sio.applications.imported",
    )


STAFF_ACTIONS = (
    record_signature,
    record_reply,
    record_activity,
    record_meeting_time,
    record_minutes,
    record_attendance,
    record_adjustment,
    record_system_adaptation,
    import_contacts,
    import_applications,
)


NOTICE_ROUND = "console"
"""The outbox's round id for staff notices that concern no round (a failed or late run)."""


@flow(name="notify-staff", timeout_seconds=120, flow_run_name="notify-staff · {key}")
def notify_staff(subject: str, message: str, key: str) -> str:
    """Mail staff a notice (an automation's action): queued under ``key``, so once per event.

    Prefect's open-source server has no mail notifier; the project's outbox and SMTP path is the
    one way mail leaves sio. A delivery failure leaves the notice in the outbox for the next run
    and does not fail this run (a failed notice must not trigger another notice).
    """
    from prefect import get_run_logger

    from tasks.mail.mail_delivery import deliver_pending
    from tasks.mail.outbox import enqueue_mail
    from tasks.storage.database import session_for

    settings = load_settings()
    url = settings.resolved_database_url
    now = datetime.now().astimezone()
    with session_for(url) as session:
        queued = enqueue_mail(
            session,
            key=f"staff-notice:{key}",
            round_id=NOTICE_ROUND,
            kommunenummer=None,
            kind="staff_notice",
            recipients=[settings.staff_address],
            subject=subject[:200],
            body=message,
            due_at=now,
            now=now,
        )
        session.commit()
    try:
        report = deliver_pending(url, settings, now=now, round_id=NOTICE_ROUND)
    except Exception as error:  # noqa: BLE001 — kept in the outbox; see the docstring
        get_run_logger().warning("staff notice %s not delivered yet: %s", key, error)
        return "queued"
    return "sent" if report.sent else ("queued" if queued else "already sent")
