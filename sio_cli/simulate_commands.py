"""``sio simulate``: a whole round in simulated time on a fresh temporary database and outbox.

The user's own data is never touched: the simulation makes its own folder (database, ``.eml``
outbox, the files it imports) and removes it afterwards. The summary goes to stdout (table or
JSON, the same every run apart from ``seconds``); ``--letters`` writes the letters log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sio_cli.errors import reported_errors


def simulate(
    round_ref: Annotated[str, typer.Argument(metavar="ROUND", help="round id or round file")],
    until: Annotated[str, typer.Option("--until", help="last simulated day (YYYY-MM-DD)")],
    municipalities: Annotated[
        int | None,
        typer.Option("--municipalities", help="add synthetic applicants up to N municipalities"),
    ] = None,
    scenario_file: Annotated[
        Path | None, typer.Option("--scenario", help="your own scenario (TOML or JSON)")
    ] = None,
    letters: Annotated[
        Path | None, typer.Option("--letters", help="write the letters log (CSV) here")
    ] = None,
    prefect: Annotated[
        bool, typer.Option("--prefect", help="run the stages through the Prefect flows")
    ] = False,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Run ROUND from its first event to the end of --until, as the schedules would."""
    with reported_errors():
        from sio_domain.municipality_registry import MunicipalityRegistry
        from sio_domain.scenario import default_scenario, parse_scenario
        from tasks.intake.round_files import load_round
        from tasks.records.municipality_lookup import shipped_versions

        if output_format not in ("table", "json"):
            raise ValueError(f"--format: {output_format!r} is not table or json")
        from sio_domain.instants import parse_day

        last = parse_day(until, option="--until")
        if municipalities is not None and not 1 <= municipalities <= 10000:
            raise ValueError(f"--municipalities: {municipalities} is not between 1 and 10000")
        round_def = load_round(round_ref)
        if scenario_file is not None:
            try:
                text = scenario_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ValueError(f"--scenario: {scenario_file}: cannot be read ({error})") from None
            scenario = parse_scenario(text, str(scenario_file))
            origin = str(scenario_file)
        else:
            scenario = default_scenario(round_def, MunicipalityRegistry(shipped_versions()))
            origin = f"scenario of {round_def.id}"
        if letters is not None and not letters.parent.is_dir():
            raise ValueError(f"--letters: {letters.parent} is not a folder")
        if prefect:
            from tasks.runs.simulation_prefect import simulate_through_prefect

            result = simulate_through_prefect(
                round_def,
                scenario,
                round_ref=round_ref,
                until=last,
                municipalities=municipalities,
                origin=origin,
            )
        else:
            from tasks.runs.simulation import simulate as run_simulation

            result = run_simulation(
                round_def, scenario, until=last, municipalities=municipalities, origin=origin
            )
        if letters is not None:
            from tasks.runs.simulation import write_letters_log

            write_letters_log(result.letters, letters)
    if output_format == "json":
        typer.echo(json.dumps(result.summary, ensure_ascii=False))
    else:
        typer.echo(summary_table(result.summary))


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as text for staff (bokmål)."""
    lines = [
        f"Simulering av {summary['round']} til og med {summary['until']}",
        f"kommuner: {summary['municipalities']}   kjøringer: {summary['flow_runs']}"
        f"   sekunder: {summary['seconds']}",
        "",
        f"e-post: {summary['mails']['total']}",
    ]
    lines += [f"  {kind:<24} {count:>6}" for kind, count in summary["mails"]["by_kind"].items()]
    payouts = summary["payouts"]
    lines += ["", f"utbetalinger: {payouts['lines']} linjer, {payouts['total']} kr"]
    lines += [f"  {knr:<6} {amount:>20}" for knr, amount in payouts["by_municipality"].items()]
    lines += ["", f"for sent: {len(summary['late'])}"]
    lines += [
        f"  {row['kommunenummer']:<6} {row['what']:<32} {row['date']}" for row in summary["late"]
    ]
    return "\n".join(lines)
