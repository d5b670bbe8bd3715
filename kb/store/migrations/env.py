"""Alembic environment: migrates the connection kb.db hands it (or the URL in the config) to kb's tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from kb.store import models  # noqa: F401  (registers the tables)

config = context.config


def run_migrations(connection: Connection) -> None:
    # batch mode lets later migrations alter SQLite tables, which cannot ALTER most things in place
    context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=SQLModel.metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    run_migrations(given)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
        run_migrations(connection)
