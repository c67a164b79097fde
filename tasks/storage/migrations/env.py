"""Alembic environment for sio's application database.

Normally run by `tasks.storage.database.upgrade`, which passes a connection that already holds the
migration lock in one transaction. Run any other way (e.g. `command.revision` with autogenerate),
it takes the same lock itself. No logging set-up here: the CLI's stdout must stay clean.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import tasks.storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from tasks.storage.database import migration_connection

config = context.config
target_metadata = SQLModel.metadata


def render_plain_type(
    type_: str, obj: Any, _autogen_context: AutogenContext
) -> str | Literal[False]:
    """Autogenerate writes sio's column types as their SQLAlchemy base type: revisions must not
    import application code, which will have changed by the time an old revision runs."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite rebuilds tables to alter
        render_item=render_plain_type,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


url = config.get_main_option("sqlalchemy.url")
given_connection = config.attributes.get("connection")
if context.is_offline_mode():
    assert url is not None, "offline mode needs sqlalchemy.url"
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()
elif given_connection is not None:
    run_migrations(given_connection)
else:
    assert url is not None, "give sqlalchemy.url, e.g. tasks.storage.database.alembic_config(url)"
    with migration_connection(url) as connection:
        run_migrations(connection)
