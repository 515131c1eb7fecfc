"""Dispatcher heartbeats in the database (table `dispatcher_heartbeat`).

Each dispatcher upserts its own row every `dispatch_heartbeat_seconds` and deletes it when
it stops cleanly. `/readyz` of a process that runs a dispatcher fails once its own row is
older than `dispatch_heartbeat_stale_seconds`; every process reports all dispatchers'
ages on `/metrics` and counts them on `/readyz`. Rows of dispatchers that died are
forgotten after a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from app.models import DispatcherHeartbeat

H = DispatcherHeartbeat.__table__  # type: ignore[attr-defined]

# A dead dispatcher's row is shown as stale for this long, then deleted.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Beat:
    name: str
    host: str
    pid: int
    age_seconds: float


def beat(engine: Engine, *, name: str, host: str, pid: int, started_at: datetime, now: datetime) -> None:
    """Write (or refresh) this dispatcher's row, and forget long-dead ones, in one transaction.

    On PostgreSQL the beat is the database's clock, and ages are read against it too, so
    hosts whose clocks disagree do not make each other's dispatchers look stale."""
    postgres = engine.dialect.name == "postgresql"
    insert: Any = postgresql.insert if postgres else sqlite.insert
    stamp: Any = func.now() if postgres else now
    statement = insert(H).values(name=name, host=host, pid=pid, started_at=started_at, last_beat_at=stamp)
    statement = statement.on_conflict_do_update(
        index_elements=[H.c.name],
        set_={"host": host, "pid": pid, "started_at": started_at, "last_beat_at": stamp},
    )
    with engine.begin() as connection:
        connection.execute(statement)
        connection.execute(delete(H).where(H.c.last_beat_at < stamp - FORGET_AFTER))


def forget(engine: Engine, *, name: str) -> None:
    """A dispatcher that stops cleanly removes its row: it is gone, not stale."""
    with engine.begin() as connection:
        connection.execute(delete(H).where(H.c.name == name))


def beats(connection: Connection, *, now: datetime) -> list[Beat]:
    """Every dispatcher's heartbeat and its age (against the database's clock on PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        now = connection.execute(select(func.now())).scalar_one()
    rows = connection.execute(select(H.c.name, H.c.host, H.c.pid, H.c.last_beat_at).order_by(H.c.name)).all()
    return [Beat(row.name, row.host, row.pid, max(0.0, (now - row.last_beat_at).total_seconds())) for row in rows]
