"""``sio import`` as a user runs it: a bad row is one line on stderr, exit 1, nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sio(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SIO_HOME": str(home)}
    environment.pop("SIO_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "sio_cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_bad_application_row_is_reported_on_one_line_and_nothing_is_stored(sio_home, tmp_path):
    path = tmp_path / "soknader.csv"
    path.write_text(
        "kommunenummer,submitted_at,signed_by_title,council_resolution_date,epj_system,attachment\n"
        "1714,2015-11-20T14:00,rådmann,2015-10-22,Profil,skjema.docx\n"
        "0138,2015-11-31T10:00,rådmann,2015-10-22,Profil,skjema.docx\n",
        encoding="utf-8",
    )
    result = sio(sio_home, "import", "applications", str(path), "--round", "sio-2016")
    assert result.returncode == 1
    assert result.stderr == (
        f"sio: error: {path}: line 3, column submitted_at: '2015-11-31T10:00' is not a real date"
        " and time\n"
    )
    assert result.stdout == ""
    path.write_text(path.read_text(encoding="utf-8").replace("2015-11-31", "2015-11-30"))
    result = sio(sio_home, "import", "applications", str(path), "--round", "sio-2016")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("2 rows imported")
