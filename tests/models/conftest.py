"""Fixtures for the migration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from app.core.db import build_engine
from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A brand-new database with no tables at all, on SQLite and PostgreSQL."""
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
