"""``sio run``, ``sio up`` and ``sio decide selection``: the trial's flows, by hand or served."""

from __future__ import annotations

import json
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tasks.runs.stage_run import StageRun

from sio_cli.errors import reported_errors


def run(
    flow: Annotated[
        str,
        typer.Argument(
            metavar="FLOW",
            help="application-deadline, selection, "
            "signing, gatherings, go-live, status-meetings, "
            "reminders or payout",
        ),
    ],
    round_ref: Annotated[str, typer.Option("--round", help="round id or round file")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="ISO 8601 instant (default now; no offset = Europe/Oslo)"),
    ] = None,
    kommune: Annotated[str | None, typer.Option("--kommune", help="only this municipality")] = None,
    run_label: Annotated[str | None, typer.Option("--run", help="payout only: YYYYQn")] = None,
) -> None:
    """Run one flow exactly as its deployment would, at the given instant."""
    import gc

    # Start-up allocates objects that live as long as the process (modules, classes, settings):
    # collecting during the imports found little and cost an idle run about a tenth of its time.
    gc.disable()

    from deployments.settings import load_settings
    from sio_cli.prefect_environment import (
        ServerUnavailable,
        choose_server,
        configure,
        drain_and_exit,
        plain_parameters,
        quick_runs,
    )

    try:
        with reported_errors():
            from flows.catalogue import FLOW_NAMES
            from sio_domain.instants import parse_as_of
            from tasks.intake.round_files import load_round

            if flow not in FLOW_NAMES:
                raise ValueError(f"FLOW: {flow!r} is not a flow ({', '.join(FLOW_NAMES)})")
            round_def = load_round(round_ref)
            instant = parse_as_of(as_of, now=datetime.now().astimezone())
            if flow == "payout" and run_label is not None:
                from tasks.payouts.payout_engine import check_run_label

                check_run_label(round_ref, run_label)
            settings = load_settings()
            if kommune is not None:
                _check_kommune(kommune, settings.resolved_database_url)
            configure(settings)
            try:
                server = choose_server()
            except ServerUnavailable as error:
                raise ValueError(str(error)) from None
            parameters: dict[str, object] = {
                "round_ref": round_ref,
                "as_of": as_of,
                "kommune": kommune,
            }
            if flow == "payout":
                parameters = {"round_ref": round_ref, "run": run_label, "as_of": as_of}
            labels = [f"round:{round_ref}"] + ([f"kommune:{kommune}"] if kommune else [])
            if flow in IDLE_RECORDED and server != "temporary":
                from tasks.runs.stage_run import StageRun

                stage_run = StageRun(round_def, instant, settings, f"sio run {flow}", kommune)
                idle = _recorded_if_idle(flow, stage_run, parameters, labels)
                if idle is not None:
                    typer.echo(json.dumps(idle, ensure_ascii=False, indent=1, default=str))
                    if _run_as_command():
                        _exit_at_once(0)
                    return
            from prefect import tags

            from flows.catalogue import flow_named

            chosen = flow_named(flow)
            plain_parameters()
            # Everything imported is long-lived: keep it out of the collector's way for the run.
            gc.freeze()
            gc.enable()
            with quick_runs(), tags(*labels):
                result = chosen(**parameters)
    finally:
        gc.enable()  # also when the run stopped with an error (a test runner goes on)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    if server != "temporary" and _run_as_command():
        drain_and_exit(0)  # nothing of ours left to stop: skip interpreter shut-down


IDLE_RECORDED = frozenset(
    {"application-deadline", "signing", "gatherings", "go-live", "status-meetings", "reminders"}
)
"""The stages whose run with nothing due is recorded without the flow engine: each decides first
and then only queues, delivers and publishes (the selection waits for a form, the payout for its
approvals: they always run as flows)."""


def _recorded_if_idle(
    flow: str, stage_run: StageRun, parameters: dict[str, object], labels: list[str]
) -> dict[str, object] | None:
    """Decide what is due; when nothing is, record the finished run in Prefect and return its
    outcome (the value the flow would have returned), else None: the flow runs as usual."""
    import os

    from sio_cli.prefect_client_settings import client_settings
    from sio_cli.recorded_runs import PrefectApiError, record_idle_run
    from tasks.runs.stage_due import idle_message, idle_outcome, stage_due
    from tasks.runs.stage_run import stage_run_title

    client = client_settings(os.environ, Path.cwd())
    if client is None or client.api_url is None:
        return None  # configured where only Prefect's own loader can read it: the flow runs
    due = stage_due(flow, stage_run)
    outcome = idle_outcome(stage_run, due)
    if outcome is None:
        return None
    api_url = client.api_url
    name = stage_run_title(flow, parameters)
    try:
        run_id = record_idle_run(
            api_url,
            flow_name=flow,
            run_name=name,
            parameters=parameters,
            tags=labels,
            message=idle_message(flow, stage_run),
            client=client,
        )
    except PrefectApiError as error:
        raise ValueError(str(error)) from None
    ui = client.ui_url or api_url.rstrip("/").removesuffix("/api")
    typer.echo(
        f"sio: nothing due: {name} recorded as Completed, {ui}/runs/flow-run/{run_id}", err=True
    )
    return outcome


def _exit_at_once(code: int) -> None:
    """End a finished ``sio run`` without interpreter shut-down (nothing of ours is left open)."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _check_kommune(kommune: str, database_url: str) -> None:
    """``--kommune`` must be a kommunenummer (4 digits) the registry knows, before anything runs."""
    import re

    from tasks.records.municipality_lookup import registry

    if not re.fullmatch(r"\d{4}", kommune):
        raise ValueError(f"--kommune: {kommune!r} is not a kommunenummer (4 digits)")
    try:
        registry(database_url).get(kommune)
    except LookupError:
        raise ValueError(f"--kommune: {kommune!r} is not a municipality in the registry") from None


def _run_as_command() -> bool:
    """True in a ``sio run`` process of its own (not the app invoked inside a test runner)."""
    program = sys.argv[0].replace("\\", "/")
    return program.endswith(("sio", "sio_cli/__main__.py")) and sys.argv[1:2] == ["run"]


def up(
    host: Annotated[str, typer.Option("--host", help="address the UI listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port of the UI and API")] = 4200,
) -> None:
    """Start the Prefect server with its UI and serve every deployment with its schedule.

    Beyond localhost (``--host 0.0.0.0``) only with ``SIO_API_AUTH=user:password``.
    """
    import os

    from deployments.serving import (
        ensure_port_free,
        ensure_safe_binding,
        ensure_zombie_automation,
        prefect_environment,
        start_server,
    )
    from deployments.settings import load_settings

    with reported_errors():
        settings = load_settings()
        ensure_safe_binding(host, settings)
        ensure_port_free(host, port)
        env = prefect_environment(settings, host, port)
        os.environ.update(env)
        log = settings.home / "prefect" / "server.log"
        typer.echo(f"sio: starting the Prefect server (log: {log}) …", err=True)
        server = start_server(env, log)
    try:
        try:
            ensure_zombie_automation()
        except Exception as error:  # noqa: BLE001 — serving matters more; say so in one line
            typer.echo(f"sio: could not create the crashed-run automation: {error}", err=True)
        from prefect import serve

        from deployments.automations import create_later as create_automations_later
        from deployments.serving import build_deployments

        now = datetime.now().astimezone()
        deployments = build_deployments(now)
        typer.echo(
            f"sio: Prefect UI on http://{host}:{port} — serving {len(deployments)} deployments "
            "(Ctrl-C stops)",
            err=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        _payout_runs_later(now)
        create_automations_later()
        serve(*deployments, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except Exception:  # noqa: BLE001 — stopping anyway
            server.kill()
        typer.echo("sio: stopped", err=True)


def _payout_runs_later(now: datetime) -> None:
    """Create the dated payout and stage runs once the deployments are registered, then read the
    calendar again every ``SIO_DATED_RUNS_REFRESH_MINUTES`` while serving (in a thread).

    ``serve`` registers the deployments after this starts; until it has, creating a run finds no
    deployment, so it is tried again for a while. Every run has an idempotency key: a later
    reading (or start of ``sio up``) creates only what is new, and deletes the scheduled dated
    runs the calendar no longer has (a replanned or cancelled event, a letter no longer due).
    """
    import threading

    from deployments.settings import load_settings

    refresh_seconds = load_settings().dated_runs_refresh_minutes * 60

    def create() -> None:
        import time

        from prefect.exceptions import ObjectNotFound

        from deployments.dated_runs import schedule_dated_runs  # the trial's calendar
        from deployments.serving import schedule_payout_runs

        deadline = time.monotonic() + REGISTRATION_WAIT_SECONDS
        while True:
            time.sleep(5)
            try:
                payouts = schedule_payout_runs(now)
                dated = schedule_dated_runs(now)
            except ObjectNotFound:
                if time.monotonic() < deadline:
                    continue  # not registered yet
                typer.echo("sio: could not create the dated runs: deployments missing", err=True)
                return
            except Exception as error:  # noqa: BLE001 — the server keeps serving
                typer.echo(f"sio: could not create the dated runs: {error}", err=True)
            else:
                typer.echo(
                    f"sio: {dated.wanted} dated stage runs and {payouts} payout runs scheduled"
                    + (f", {dated.withdrawn} no longer due withdrawn" if dated.withdrawn else ""),
                    err=True,
                )
            break
        while True:
            time.sleep(refresh_seconds)
            try:
                schedule_payout_runs(datetime.now().astimezone())
                dated = schedule_dated_runs(datetime.now().astimezone())
            except Exception as error:  # noqa: BLE001 — try again at the next reading
                typer.echo(f"sio: could not refresh the dated runs: {error}", err=True)
                continue
            typer.echo(
                f"sio: calendar read again: {dated.wanted} dated runs ahead"
                + (f", {dated.withdrawn} no longer due withdrawn" if dated.withdrawn else ""),
                err=True,
            )

    threading.Thread(target=create, daemon=True).start()


REGISTRATION_WAIT_SECONDS = 300
"""How long the dated runs wait for ``serve`` to register the deployments (a loaded machine)."""


def decide_selection(
    round_ref: Annotated[str, typer.Argument(metavar="ROUND")],
    file: Annotated[Path, typer.Option("--file", help="selection CSV (the command contract)")],
) -> None:
    """Record the selection from a file: the same effect as the staff's input in the Prefect UI."""
    from deployments.settings import load_settings

    with reported_errors():
        from tasks.intake.imports import decide_selection_from_file

        newly = decide_selection_from_file(file, round_ref=round_ref, settings=load_settings())
    typer.echo(f"{len(newly)} decisions recorded for {round_ref} from {file}", err=True)
