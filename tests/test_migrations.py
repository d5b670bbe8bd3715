"""Migrations: an empty database is built by them, the result matches the models, and they run both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from kb.store.db import init_db, make_engine, migration_config


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_an_empty_database_is_migrated_to_the_models_schema(settings):
    engine = make_engine(settings)
    init_db(engine)
    assert schema_differences(engine) == []
    assert "alembic_version" in inspect(engine).get_table_names()


def test_migrations_run_down_and_up_again(settings):
    engine = make_engine(settings)
    init_db(engine)
    with engine.begin() as connection:
        config = migration_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "document" not in inspect(engine).get_table_names()
    init_db(engine)
    assert schema_differences(engine) == []


def test_a_database_made_before_migrations_is_recognised(settings):
    engine = make_engine(settings)
    SQLModel.metadata.create_all(engine)  # how kb made its tables before migrations existed
    init_db(engine)
    assert "alembic_version" in inspect(engine).get_table_names()
    assert schema_differences(engine) == []
