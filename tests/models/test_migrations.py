"""The migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app import migrate
from app.db import build_engine
from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new database with no tables at all."""
    if request.param == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = _create_pg_database()
    engine = build_engine(url)
    yield engine
    engine.dispose()
    _drop_pg_database(name)


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
