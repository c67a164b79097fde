"""``sio db upgrade``: migrate the application database now (it also happens on first use)."""

from __future__ import annotations

import typer

from sio_cli.errors import reported_errors

db_app = typer.Typer(help="The application database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the database at SIO_DATABASE_URL (default SQLite under SIO_HOME)."""
    from deployments.settings import load_settings
    from tasks.storage.database import current_revision, head_revision
    from tasks.storage.database import upgrade as migrate

    with reported_errors():
        url = load_settings().resolved_database_url
        before = current_revision(url)
        migrate(url)
    typer.echo(f"database at revision {head_revision()} (was {before or 'empty'})", err=True)
