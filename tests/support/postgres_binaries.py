"""Where the PostgreSQL server programs are, and how to run them as a non-root user.

PostgreSQL refuses to run as root, so when the tests run as root (containers, CI) the cluster is
owned by the `postgres` OS user (or `nobody` when the package did not create one).
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
from pathlib import Path

DEBIAN_INSTALL_ROOT = Path("/usr/lib/postgresql")
MISSING_BINARIES = "PostgreSQL server binaries not installed; run `bash .ci/services.sh`"


def find_server_bin_dir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`: the one on PATH, else Debian's highest version."""
    on_path = [shutil.which(name) for name in ("pg_ctl", "initdb")]
    candidates = [Path(found).resolve().parent for found in on_path if found]
    candidates += sorted(DEBIAN_INSTALL_ROOT.glob("*/bin"), key=_major_version, reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _major_version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def cluster_owner() -> pwd.struct_passwd | None:
    """The OS user to run the server as, or None to run it as ourselves (when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is no `postgres` or `nobody` user to own PGDATA")


def as_owner(argv: list[str], owner: pwd.struct_passwd | None) -> list[str]:
    """`argv` wrapped so it runs as `owner` (runuser where util-linux has it, else su)."""
    if owner is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", owner.pw_name, "--", *argv]
    return ["su", owner.pw_name, "-s", "/bin/sh", "-c", shlex.join(argv)]
