"""Real clients for the documents sio sends: LibreOffice (headless) and poppler's pdftotext/pdfinfo.

Why real clients: a spreadsheet or PDF that our own library reads back proves little; what a
finance officer sees is what LibreOffice prints. ``.ci/services.sh`` installs both from Debian.
Without them a test is skipped locally and fails under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MISSING = (
    "LibreOffice (soffice) or poppler-utils (pdftotext, pdfinfo) not found; "
    "run .ci/services.sh as root (Debian: apt-get install libreoffice-calc-nogui poppler-utils)"
)


def require_document_clients() -> None:
    """Skip (fail under CI) when LibreOffice or poppler is missing."""
    if all(shutil.which(tool) for tool in ("soffice", "pdftotext", "pdfinfo")):
        return
    if os.environ.get("CI"):
        pytest.fail(MISSING, pytrace=False)
    pytest.skip(MISSING)


def spreadsheets_to_pdf(files: list[Path], folder: Path) -> list[Path]:
    """Print spreadsheets to PDF the way LibreOffice Calc does, in one headless start."""
    require_document_clients()
    profile = folder / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return [folder / f"{file.stem}.pdf" for file in files]


def pdf_text(pdf: bytes | Path, folder: Path) -> str:
    """The PDF's text in reading layout (pdftotext -layout)."""
    require_document_clients()
    path = pdf if isinstance(pdf, Path) else _write(pdf, folder)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, timeout=60
    )
    return done.stdout.decode("utf-8")


def pdf_pages(pdf: bytes | Path, folder: Path) -> int:
    """How many pages the PDF has (pdfinfo)."""
    require_document_clients()
    path = pdf if isinstance(pdf, Path) else _write(pdf, folder)
    done = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, timeout=60)
    match = re.search(r"^Pages:\s+(\d+)", done.stdout.decode("utf-8"), re.MULTILINE)
    assert match, done.stdout
    return int(match[1])


def _write(content: bytes, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"document-{len(list(folder.glob('document-*.pdf')))}.pdf"
    path.write_bytes(content)
    return path
