"""How the CLI reports a user's mistake: one line on stderr and a non-zero exit, never a traceback.

Why one place: every command shares the same promise (INTERFACE.md: "errors go to stderr, exit
code ≠ 0"), and the kinds of error a user can cause — a bad file, an unknown round, a bad setting —
are all ``ValueError`` or ``OSError`` subclasses with a message naming the field and value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a user's error into ``sio: error: …`` on stderr and exit code 1."""
    try:
        yield
    except (ValueError, LookupError, OSError) as error:
        message = str(error) or type(error).__name__
        if isinstance(error, KeyError) and error.args:
            message = str(error.args[0])
        typer.echo(f"sio: error: {message}", err=True)
        raise typer.Exit(1) from None
