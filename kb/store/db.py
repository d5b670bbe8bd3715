"""Database engine and sessions: SQLite in the data dir by default, PostgreSQL through KB_DATABASE_URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from kb.settings import Settings
from kb.store import models  # noqa: F401  (registers the tables)


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # a KB_DATABASE_URL outside the data dir
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # why: WAL lets readers run during an ingest
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migration_config(engine: Engine):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema with the migrations in kb/store/migrations (an empty database is
    built from scratch; one made before migrations existed is recognised and stamped).

    Several processes may start at once on one database: one that loses a race retries and finds the
    schema in place."""
    from alembic import command
    from sqlalchemy import inspect

    for attempt in range(3):
        try:
            with engine.begin() as connection:
                config = migration_config(engine)
                config.attributes["connection"] = connection
                tables = set(inspect(connection).get_table_names())
                if "document" in tables and "alembic_version" not in tables:
                    command.stamp(config, "head")  # made by create_all before migrations existed
                command.upgrade(config, "head")
            return
        except DBAPIError:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error: nothing is half-written."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
