"""The migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.core import migrate


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    # alembic_version is Alembic's own bookkeeping, not part of the models.
    return [item for item in diff if "alembic_version" not in repr(item)]


def test_head_matches_models_and_migrations_are_reversible(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert _differences(empty_engine) == []

    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_reminders_revision_steps_down_and_up(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0002")
    tables = set(inspect(empty_engine).get_table_names())
    assert {"reminder", "reminder_occurrence", "push_subscription"} <= tables

    migrate.downgrade(empty_engine, "0001")
    tables = set(inspect(empty_engine).get_table_names())
    assert not {"reminder", "reminder_occurrence", "push_subscription"} & tables
    columns = {column["name"] for column in inspect(empty_engine).get_columns("client")}
    assert not {"reminders_paused", "email_fallback", "lock_screen_detail"} & columns

    migrate.upgrade(empty_engine, "0002")
    assert "reminder" in inspect(empty_engine).get_table_names()
