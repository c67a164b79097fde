"""The README's commands and its round-file example work as written (docs that cannot rot)."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> dict[str, str]:
    block = re.search(r"## Set up and run.*?```sh\n(.*?)```", README, re.S)
    assert block, "README lost its set-up block"
    commands = {}
    for line in block.group(1).splitlines():
        command, _, comment = line.partition("#")
        commands[comment.strip()] = command.strip()
    return commands


def test_readme_names_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = setup_commands()
    assert set(commands) == {"the main job", "the tests (what CI runs)"}
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands["the tests (what CI runs)"] in ci_script.splitlines()


def test_the_readme_run_command_starts_sio_up():
    # tests/e2e/test_sio_up.py starts the main job with exactly this command and reads the
    # deployments it serves back from Prefect's API; here: the command is what the Makefile runs.
    assert setup_commands()["the main job"] == "make run"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "bin/sio up" in makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]


def test_the_readme_round_file_example_loads_and_plans(tmp_path):
    example = re.search(r"<!-- round-file-example -->\n```toml\n(.*?)```", README, re.S)
    assert example, "README lost its round-file example"
    path = tmp_path / "example.toml"
    path.write_text(example.group(1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sio_cli", "plan", str(path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)
    kinds = {e["kind"] for e in events}
    assert {"application_deadline", "gathering", "status_meeting", "go_live"} <= kinds
