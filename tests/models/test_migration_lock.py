"""Two `between migrate` started at once on a fresh PostgreSQL database: one waits for the
other (an advisory lock), both succeed, and the schema ends at head."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database
from tests.processes import migrate_at_once

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url, name = _create_pg_database()
    yield url
    _drop_pg_database(name)


def test_two_migrations_at_once_run_one_after_the_other(fresh_database: str, tmp_path: Path) -> None:
    # The steps and checks are shared with the multi-replica test (tests/ops/test_replicas.py).
    migrate_at_once(fresh_database, tmp_path)
