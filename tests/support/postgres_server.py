"""A private, throwaway PostgreSQL cluster for one test session.

The tests neither use nor disturb a PostgreSQL service on the machine: each session runs `initdb`
in a temporary folder, listens on a free port on 127.0.0.1 only, and deletes everything at the end.
Durability settings are off because the data lives only as long as the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.free_port import free_tcp_port
from tests.support.postgres_binaries import as_owner, cluster_owner

HOST = "127.0.0.1"
SUPERUSER = "postgres"
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
"""


class PostgresCluster:
    """One running cluster; `url(database)` gives SQLAlchemy URLs for databases in it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.owner = cluster_owner()
        # Not pytest's tmp_path: that lives under a root-only folder the postgres user cannot enter.
        self.base_dir = Path(tempfile.mkdtemp(prefix="sio-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self.port = 0
        self.initdb_seconds = 0.0
        self.start_seconds = 0.0

    def start(self) -> None:
        if self.owner is not None:
            os.chown(self.base_dir, self.owner.pw_uid, self.owner.pw_gid)
        began = time.monotonic()
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS.format(socket_dir=self.base_dir))
        self.initdb_seconds = time.monotonic() - began
        began = time.monotonic()
        for attempt in range(3):  # the free port can be taken between choosing and binding it
            self.port = free_tcp_port()
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",  # pg_ctl's own 60 s may not be enough on a loaded machine
                    "180",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port}",
                )
                break
            except RuntimeError:
                if attempt == 2 or "Address already in use" not in self._log_tail():
                    raise
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    "pg_ctl", "stop", "-w", "-t", "180", "-m", "fast", "-D", str(self.data_dir)
                )
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates an empty database and returns its SQLAlchemy URL."""
        with self._admin_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops a database even if the code under test left connections open to it."""
        with self._admin_connection() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=HOST, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def _run(self, program: str, *args: str) -> None:
        argv = as_owner([str(self.bin_dir / program), *args], self.owner)
        done = subprocess.run(
            argv,
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"\n--- server log ---\n{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no server log)"
