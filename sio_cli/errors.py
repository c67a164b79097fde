"""How the CLI reports a failure: one line on stderr and a non-zero exit, never a traceback.

Why one place: every command shares the same promise (errors go to stderr, exit code ≠ 0), and a
person must learn from that one line what failed and what to do — the file and path, the field
and value, the SMTP server and its reply, the database and its complaint, a full or read-only
disk. A user's mistake (``ValueError``, ``LookupError``) is shown as its message; everything the
machine can do wrong (``OSError``, database errors, a hostile file's ``RecursionError`` or
``MemoryError``) is translated here (`describe`). An unforeseen error is still one line, naming its
type, and asks to be reported: a traceback helps no one at the counter.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn any failure into ``sio: error: …`` on stderr and exit code 1."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        typer.echo("sio: interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as error:  # noqa: BLE001 - the one place that turns every failure into a line
        typer.echo(f"sio: error: {describe(error)}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None


def main() -> None:
    """The ``sio`` console script: the typer app, with failures outside a command caught too."""
    from sio_cli.main import app

    try:
        app(prog_name="sio")
    except KeyboardInterrupt:
        sys.stderr.write("sio: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - see reported_errors
        sys.stderr.write(f"sio: error: {describe(error)}\n")
        sys.exit(EXIT_FAILURE)


def describe(error: BaseException) -> str:
    """One line saying what failed and what to do about it."""
    from sio_domain.personal_data import masked_text

    text = masked_text(_describe(error))  # a personal identity number is never repeated
    return " ".join(text.split()) or type(error).__name__


def _describe(error: BaseException) -> str:
    if _is_storage_error(error):
        full_or_read_only = _disk_state()
        if full_or_read_only is not None:
            return full_or_read_only
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    if isinstance(error, OSError):
        return _describe_os_error(error)
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to be read; simplify the file and try again"
    if isinstance(error, MemoryError):
        return "out of memory reading the input: is it a real file of sensible size?"
    if isinstance(error, OverflowError):
        return f"a number is out of range: {_first_line(error)}"
    database = _describe_database_error(error)
    if database is not None:
        return database
    if isinstance(error, (ValueError, LookupError, RuntimeError)) and str(error):
        return _first_line(error)
    return (
        f"unexpected {type(error).__name__}: {_first_line(error)} — please report this with the "
        "command you ran"
    )


def _describe_os_error(error: OSError) -> str:
    where = error.filename or ""
    home = os.environ.get("SIO_HOME", "~/.local/share/sio")
    if error.errno == errno.ENOSPC:
        return f"disk full in SIO_HOME={home} ({where or 'writing'}): free some space and run again"
    if error.errno == errno.EROFS:
        return f"read-only file system: cannot write {where or f'in SIO_HOME={home}'}"
    if error.errno == errno.EACCES:
        return f"permission denied: {where}" if where else "permission denied"
    if error.errno == errno.ENOENT and where:
        return f"no such file or folder: {where}"
    reason = error.strerror or str(error) or type(error).__name__
    return f"{where}: {reason}" if where else reason


def _describe_database_error(error: BaseException) -> str | None:
    """SQLAlchemy's errors, whose text is many lines of SQL: the driver's complaint only."""
    try:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        return None
    if not isinstance(error, SQLAlchemyError):
        return None
    original = error.orig if isinstance(error, DBAPIError) else None
    complaint = _first_line(original) if original is not None else _first_line(error)
    lowered = complaint.lower()
    home = os.environ.get("SIO_HOME", "~/.local/share/sio")
    if "database or disk is full" in lowered:
        return f"disk full in SIO_HOME={home}: free some space and run again"
    if "readonly database" in lowered or "read-only" in lowered:
        return f"the database is read-only (SIO_HOME={home} or SIO_DATABASE_URL): {complaint}"
    if "unable to open database file" in lowered:
        return f"cannot open the database in SIO_HOME={home}: does the folder exist, writable?"
    if "database is locked" in lowered:
        return "the database is busy (another sio run holds it): try again in a minute"
    if "connection refused" in lowered or "could not connect" in lowered:
        return f"cannot reach the database server (SIO_DATABASE_URL): {complaint}"
    if "password authentication failed" in lowered or "authentication" in lowered:
        return f"the database refused the login (SIO_DATABASE_URL): {complaint}"
    if "does not exist" in lowered and "database" in lowered:
        return f"no such database (SIO_DATABASE_URL): {complaint}"
    return f"database error: {complaint}"


def _is_storage_error(error: BaseException) -> bool:
    import sqlite3

    if isinstance(error, OSError | sqlite3.Error):  # look-ups read SQLite without the ORM
        return True
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(error, OperationalError)


def _disk_state() -> str | None:
    """ "disk full in SIO_HOME=…" or "read-only" when the data folder's file system says so.

    SQLite often reports either only as "disk I/O error" or "unable to open database file";
    the file system itself knows better.
    """
    home = Path(os.environ.get("SIO_HOME", "~/.local/share/sio")).expanduser()
    folder = home
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return (
            f"read-only file system: SIO_HOME={home} cannot be written; remount it "
            "read-write or choose another SIO_HOME"
        )
    if stats.f_bavail == 0 or stats.f_favail == 0:
        return f"disk full in SIO_HOME={home}: free some space and run again"
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
