"""Dispatcher processes against one PostgreSQL: shared work, exactly once, crash recovery."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app.core import migrate
from app.core.db import build_engine
from app.models import OccurrenceStatus, ReminderOccurrence
from app.models.types import utcnow
from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database
from tests.dispatch.conftest import ROOT, free_port, wait_until
from tests.dispatch.load import SinkProcess, dispatcher_env, seed_due_reminders
from tests.processes import start_dispatcher, stop_processes

O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
DELIVERED = (OccurrenceStatus.sent, OccurrenceStatus.retried_sent)


@pytest.fixture
def pg_database() -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated PostgreSQL database of its own (these tests need PostgreSQL itself)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)  # CI refuses to start without TEST_DATABASE_URL (conftest)
    url, name = _create_pg_database()
    engine = build_engine(url)
    migrate.upgrade(engine)
    yield url, engine
    engine.dispose()
    _drop_pg_database(name)


def _statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(O.c.status, func.count()).group_by(O.c.status)).all()
    return Counter({str(status): int(count) for status, count in rows})


def _final(engine: Engine, count: int) -> bool:
    statuses = _statuses(engine)
    return sum(statuses.values()) == count and statuses.get("pending", 0) == 0


def test_two_dispatchers_5000_due_at_once_each_sent_exactly_once(
    pg_database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = pg_database
    count = 5000
    sink = SinkProcess(free_port())
    try:
        reminder_ids = seed_due_reminders(
            engine, count=count, due_at=utcnow().replace(microsecond=0), sink_base=sink.base
        )
        env = dispatcher_env(url, str(tmp_path), dispatch_batch=500)
        processes = [start_dispatcher(env, tmp_path / f"dispatcher-{n}.log") for n in (1, 2)]
        try:
            wait_until(lambda: _final(engine, count), what="all 5,000 occurrences to be final", limit=240, every=0.5)
            for process in processes:
                assert process.poll() is None, (tmp_path / "dispatcher-1.log").read_text()[-3000:]
        finally:
            stop_processes(processes)
        topics = sink.topics()
    finally:
        sink.stop()

    statuses = _statuses(engine)
    assert statuses == Counter({"sent": count}), statuses
    with engine.connect() as connection:
        occurrences = connection.execute(select(O.c.id, O.c.reminder_id)).all()
    assert sorted(row.reminder_id for row in occurrences) == sorted(reminder_ids)  # one per reminder
    assert len(topics) == count  # every occurrence arrived ...
    assert set(topics.values()) == {1}  # ... exactly once
    assert {row.id.hex for row in occurrences} == set(topics)


def test_dispatcher_killed_mid_burst_loses_nothing(pg_database: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = pg_database
    count = 1500
    concurrency = 20
    # Slow answers keep the burst going long enough to kill it in the middle.
    sink = SinkProcess(free_port(), delay=0.02)
    try:
        seed_due_reminders(engine, count=count, due_at=utcnow().replace(microsecond=0), sink_base=sink.base)
        env = dispatcher_env(
            url, str(tmp_path), dispatch_batch=200, dispatch_concurrency=concurrency, dispatch_lease_seconds=2
        )
        first = start_dispatcher(env, tmp_path / "first.log")
        try:
            wait_until(lambda: sum(sink.topics().values()) >= count // 4, what="the burst to start", limit=120)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        received_at_kill = sum(sink.topics().values())
        assert received_at_kill < count, "the burst ended before the kill: nothing was tested"

        second = start_dispatcher(env, tmp_path / "second.log")
        try:
            wait_until(lambda: _final(engine, count), what="the restarted dispatcher to finish", limit=240, every=0.5)
        finally:
            stop_processes([second])
        topics = sink.topics()
    finally:
        sink.stop()

    statuses = _statuses(engine)
    assert sum(statuses[s] for s in DELIVERED) == count, statuses  # nothing lost, nothing missed
    with engine.connect() as connection:
        rows = connection.execute(select(O.c.id, O.c.attempts)).all()
    assert len(rows) == count  # one occurrence per reminder: never recorded twice
    assert {row.id.hex for row in rows} == set(topics)  # every one reached the push service
    # Only messages whose outcome was not yet written at the kill can reach the push service
    # a second time: those in flight and those answered within the last RECORD_EVERY. How
    # many that is depends on the machine's speed, so the test checks which ones, not how
    # many. They carry the same Topic, so a push service keeps a single undelivered copy,
    # and the same notification tag, so the device shows a single notification.
    again = {topic for topic, n in topics.items() if n > 1}
    retried = {row.id.hex for row in rows if row.attempts > 1}
    assert again <= retried
    assert all(n <= 2 for n in topics.values())


def test_second_dispatcher_on_sqlite_refuses_with_a_clear_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'between.db'}"
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    env = dispatcher_env(url, str(tmp_path))
    first = start_dispatcher(env, tmp_path / "first.log")
    try:
        lock = tmp_path / "dispatcher.lock"
        wait_until(
            lambda: lock.exists() and "pid" in lock.read_text(), what="the first dispatcher to hold the lock", limit=60
        )
        second = subprocess.run(
            [sys.executable, "-m", "app.cli", "dispatcher"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop_processes([first])
    assert second.returncode == 2
    assert "only one dispatcher may run" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert first.returncode == 0
