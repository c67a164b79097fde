"""The Prefect UI as the directorate's console: task list, case files and the linked overview.

After every stage run (and every staff form) the round is published as keyed, versioned
artifacts: ``oppgaver-<round>`` (what waits for the directorate, oldest first, with a link to the
form that does it), ``kommune-<knr>-<round>`` (one case file per municipality) and
``round-dashboard-<round>-oversikt`` (the dashboard as markdown, each municipality linked to its
case file). A stage run that sent letters adds ``<stage>-<round>-brev`` (the letters it sent), and
``plan-<round>`` (the plan in force) gets a new version when the plan changed. Links are relative
UI paths (``/artifacts/key/<key>``), so they work on any host.
Tasks waited too long are escalated by mail to staff in the same transaction (design decision D).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from sio_domain.norwegian_calendar import OSLO
from sio_domain.staff_tasks import StaffTask
from sio_domain.trial_state import TrialState
from tasks.console.case_files import case_file_key, case_file_markdown, ledger_for, letters_for
from tasks.console.plan_in_force import (
    fingerprint,
    plan_key,
    plan_markdown,
    published_fingerprint,
    remember_published,
)
from tasks.console.sent_letters import sent_at, sent_letter_rows, sent_letters_key
from tasks.console.staff_tasks import escalate, held_payouts, task_rows, tasks_in
from tasks.runs.round_dashboard import known_municipalities, rows_for, stage_of
from tasks.runs.stage_run import StageRun
from tasks.storage.database import session_for
from tasks.storage.unit_of_work import unit_of_work


def task_list_key(round_id: str) -> str:
    return f"oppgaver-{round_id}".lower()


def overview_key(round_id: str) -> str:
    return f"round-dashboard-{round_id}-oversikt".lower()


def artifact_link(key: str, ids: Mapping[str, object] | None = None) -> str:
    """The UI page showing a keyed artifact: its version's page when known, else its key's.

    The key's page lists the versions; a version's own page shows its content.
    """
    if ids and key in ids:
        return f"/artifacts/artifact/{ids[key]}"
    return f"/artifacts/key/{key}"


def form_links(actions: Sequence[str]) -> dict[str, str]:
    """``flow/deployment`` → the UI path of its run form, for the deployments that exist."""
    from prefect.client.orchestration import get_client

    links: dict[str, str] = {}
    try:
        with get_client(sync_client=True) as client:
            for action in sorted(set(actions)):
                try:
                    deployment = client.read_deployment_by_name(action)
                except Exception:  # noqa: BLE001 — no such deployment (e.g. not served): name it
                    continue
                links[action] = f"/deployments/deployment/{deployment.id}/run"
    except Exception:  # noqa: BLE001 — no API reachable: the names alone still say where
        return {}
    return links


def publish_console(run: StageRun, *, staff_address: str) -> dict[str, int]:
    """Publish the task list, the case files and the overview; queue due escalations."""
    database_url, round_def, as_of = run.database_url, run.round_def, run.as_of
    with unit_of_work(database_url) as uow:
        state = uow.state(round_def, as_of)
        tasks = tasks_in(uow.session, state)
        escalated = escalate(
            uow.session,
            round_def,
            tasks,
            today=state.today,
            now=as_of,
            staff_address=staff_address,
        )
        uow.commit()
        files = {
            knr: case_file_markdown(
                state,
                knr,
                stage=stage_of(state, knr, state.today),
                letters=letters_for(uow.session, state, knr),
                ledger=ledger_for(uow.session, state, knr),
                held=[h for h in held_payouts(uow.session, round_def.id) if h.kommunenummer == knr],
                tasks=[t for t in tasks if t.kommunenummer == knr],
            )
            for knr in known_municipalities(state)
        }
    links = form_links([t.action for t in tasks])
    ids: dict[str, object] = {task_list_key(round_def.id): publish_task_list(state, tasks, links)}
    for knr, markdown in files.items():
        key = case_file_key(knr, round_def.id)
        ids[key] = create_markdown_artifact(
            key=key,
            markdown=markdown,
            description=f"Saksmappe: {state.name(knr)} ({knr}), {round_def.title}",
        )
    create_markdown_artifact(
        key=overview_key(round_def.id),
        markdown=overview_markdown(state, tasks, ids),
        description=f"{round_def.title}: oversikt med lenker til saksmappene",
    )
    return {"tasks": len(tasks), "escalated": len(escalated), "case_files": len(files)}


@dataclass(frozen=True)
class RunPages:
    """What a run's publish step adds: the letters it sent, and the plan if it changed."""

    letters: list[dict[str, str]]
    plan: str | None
    plan_digest: str


def run_pages(run: StageRun) -> RunPages:
    """Read what the run sent and the plan in force; only the database, never Prefect."""
    from tasks.records.replanning import decisions_of

    round_def = run.round_def
    with session_for(run.database_url) as session:
        letters = sent_at(session, round_def.id, run.as_of)
        markdown = plan_markdown(
            round_def, decisions_of(session, round_def.id), run.as_of.astimezone(OSLO).date()
        )
        digest = fingerprint(markdown)
        changed = published_fingerprint(session, round_def.id) != digest
    names: dict[str, str] = {}
    if letters:
        from tasks.records.municipality_lookup import registry

        known = registry(run.database_url)
        numbers = {letter.kommunenummer for letter in letters if letter.kommunenummer}
        names = {knr: known.get(knr).name for knr in numbers if knr in known}
    return RunPages(sent_letter_rows(letters, names), markdown if changed else None, digest)


def publish_letters_and_plan(run: StageRun, stage: str) -> dict[str, int]:
    """The run's sent letters (when it sent any) and the round's plan (when it changed).

    The publish step of every stage run calls this once. An idle run — no letter sent, the plan as
    last published — reads the outbox and two small tables and makes no call to Prefect.
    """
    round_def = run.round_def
    pages = run_pages(run)
    if pages.letters:
        create_table_artifact(
            key=sent_letters_key(stage, round_def.id),
            table=pages.letters,
            description=f"{stage} · {round_def.title}: {len(pages.letters)} brev sendt "
            f"{run.as_of.astimezone(OSLO):%d.%m.%Y %H:%M}",
        )
    if pages.plan is not None:
        create_markdown_artifact(
            key=plan_key(round_def.id),
            markdown=pages.plan,
            description=f"{round_def.title}: planen som gjelder, med omplanleggingsvedtak "
            f"(per {run.as_of.astimezone(OSLO):%d.%m.%Y})",
        )
        with session_for(run.database_url) as session:
            remember_published(session, round_def.id, pages.plan_digest, run.as_of)
            session.commit()
    return {"letters": len(pages.letters), "plan": int(pages.plan is not None)}


def publish_task_list(
    state: TrialState, tasks: Sequence[StaffTask], links: Mapping[str, str]
) -> object:
    """``oppgaver-<round>``: a table, oldest first; a row saying so when nothing waits."""
    rows = task_rows(tasks, state, links) or [
        {"venter siden": "–", "oppgave": "ingen oppgaver venter", "hva som må gjøres": "–"}
    ]
    return create_table_artifact(
        key=task_list_key(state.round_def.id),
        table=rows,
        description=f"{state.round_def.title}: det som venter på Helsedirektoratet "
        f"(per {state.as_of.isoformat()}), eldst først",
    )


OVERVIEW_WRAP_AT = {"for sent": 18, "venter på oss": 18, "fase": 14, "neste frist": 13}
"""Characters per line of the overview's columns: the table fits the artifact pane (708 px) of a
1 280 px window without scrolling sideways; the UI's markdown tables never wrap on their own."""


def _cell(text: str, width: int) -> str:
    """A table cell's text broken into lines (``<br>``) of at most ``width`` characters."""
    lines = textwrap.wrap(text.replace("|", "/"), width, break_on_hyphens=False)
    return "<br>".join(lines) or text


def overview_markdown(
    state: TrialState, tasks: Sequence[StaffTask], ids: Mapping[str, object] | None = None
) -> str:
    """The dashboard as markdown, each municipality linked to its case file."""
    round_id = state.round_def.id
    rows = rows_for(state, tasks)
    out = [
        f"# {state.round_def.title}",
        f"Per {state.as_of:%d.%m.%Y %H:%M}. "
        f"[Oppgaver som venter på oss ({len(tasks)})]"
        f"({artifact_link(task_list_key(round_id), ids)})",
        "",
        "| kommune | for sent | venter på oss | fase | neste frist |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        knr = row["kommune"].rsplit(" ", 1)[-1]
        name = f"[{row['kommune']}]({artifact_link(case_file_key(knr, round_id), ids)})"
        cells = [
            _cell(row[column], OVERVIEW_WRAP_AT[column])
            for column in ("for sent", "venter på oss", "fase", "neste frist")
        ]
        out.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(out) + "\n"
