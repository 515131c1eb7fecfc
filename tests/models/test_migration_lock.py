"""Two `between migrate` started at once on a fresh PostgreSQL database: one waits for the
other (an advisory lock), both succeed, and the schema ends at head."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.core import migrate
from app.core.db import build_engine
from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url, name = _create_pg_database()
    yield url
    _drop_pg_database(name)


def _waiting_for_the_lock(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
        )


def test_two_migrations_at_once_run_one_after_the_other(fresh_database: str, tmp_path: Path) -> None:
    engine = build_engine(fresh_database)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # Hold the lock first, so both commands are seen waiting for it at the same time.
        holder = engine.connect()
        holder_transaction = holder.begin()
        migrate.serialized(holder)
        for index in range(2):
            env = {
                **os.environ,
                "DATABASE_URL": fresh_database,
                "BETWEEN_DATA_DIR": str(tmp_path / f"host{index}"),
                "BETWEEN_ENVIRONMENT": "test",
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "migrate"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        deadline = time.monotonic() + 120
        while _waiting_for_the_lock(engine) < 2:
            assert all(process.poll() is None for process in processes), "a migration did not wait for the lock"
            assert time.monotonic() < deadline, "the migrations never reached the lock"
            time.sleep(0.1)
        assert not inspect(engine).has_table("alembic_version")
        holder_transaction.commit()
        holder.close()

        outputs = [process.communicate(timeout=300) for process in processes]
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
            assert b"database is up to date" in out

        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            # The record library was synced once, not twice.
            slugs = connection.execute(text("SELECT slug FROM record_template WHERE slug IS NOT NULL")).scalars().all()
        assert slugs and len(slugs) == len(set(slugs))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        engine.dispose()
