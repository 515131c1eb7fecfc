"""Fixed-window rate limits.

Two kinds: counters kept in the database (`count`, `hit`, `give_back`, `reset`),
shared by every process and replica, for the limits that guard accounts (sign-in,
sign-up, invites, PIN tries); and `LocalLimiter`, counters in one process's memory,
for the limits that only keep a device from flooding the server (API writes, uploads).

Database counters count first and check after: each attempt is counted by one
atomic `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING` before the password, PIN
or code is looked at, and the caller checks it only if the count it got back is
within the limit. However many requests arrive at once, each gets its own number,
so no more than the limit are ever checked in a window.

The count is written and committed in a short transaction of its own, on a
connection of its own, before the request goes on: a request that is still
checking a password has already been counted for every other request, and a
request that later fails or rolls back stays counted. Those connections come from
a pool of their own (`_counter_engine`): a burst of requests that each hold a
connection of the main pool would otherwise wait for one another's second
connection. (On SQLite, if the request's own connection already holds the write
lock, the count is written through it instead: a second connection would wait for
that lock.)
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.models import RateLimitCounter
from app.models.types import UTCDateTime, utcnow

_COUNTERS = RateLimitCounter.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Counted:
    """One attempt's number in its window, and when that window ends."""

    key: str
    count: int
    window_start: datetime
    window_seconds: int

    def over(self, limit: int) -> bool:
        return self.count > limit

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window ends (at least 1)."""
        ends = self.window_start + timedelta(seconds=self.window_seconds)
        return max(1, math.ceil((ends - utcnow()).total_seconds()))


def count(session: Session, *, key: str, window_seconds: int) -> Counted:
    """Count one attempt now, atomically and committed, and return its number in the window."""
    now = utcnow()
    expired = _COUNTERS.c.window_start <= literal(now - timedelta(seconds=window_seconds), UTCDateTime())
    values = {"key": key, "window_start": now, "count": 1}
    insert = _dialect_insert(session)(_COUNTERS).values(values)
    statement = insert.on_conflict_do_update(
        index_elements=[_COUNTERS.c.key],
        set_={
            "count": case((expired, 1), else_=_COUNTERS.c.count + 1),
            "window_start": case((expired, literal(now, UTCDateTime())), else_=_COUNTERS.c.window_start),
        },
    ).returning(_COUNTERS.c.count, _COUNTERS.c.window_start)
    row = _run(session, statement).one()
    return Counted(key=key, count=int(row.count), window_start=row.window_start, window_seconds=window_seconds)


def hit(session: Session, *, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one attempt. Returns seconds to wait if it is over the limit (do not go on), else None."""
    counted = count(session, key=key, window_seconds=window_seconds)
    return counted.retry_after if counted.over(limit) else None


def give_back(session: Session, *, counted: Counted) -> None:
    """Take back an attempt that turned out not to count (it was never checked, or it
    succeeded where only failures count). Only within the window it was counted in."""
    statement = (
        update(_COUNTERS)
        .where(
            _COUNTERS.c.key == counted.key,
            _COUNTERS.c.window_start == literal(counted.window_start, UTCDateTime()),
            _COUNTERS.c.count > 0,
        )
        .values(count=_COUNTERS.c.count - 1)
    )
    _run(session, statement)


def reset(session: Session, *, key: str) -> None:
    """Forget a key's attempts (after a success), committed at once like the counting."""
    _run(session, delete(_COUNTERS).where(_COUNTERS.c.key == key))


def _dialect_insert(session: Session) -> Callable[..., Any]:
    return sqlite.insert if _bind(session).dialect.name == "sqlite" else postgresql.insert


def _bind(session: Session) -> Engine | Connection:
    bind = session.get_bind()
    assert isinstance(bind, Engine | Connection)
    return bind


def _run(session: Session, statement: Any) -> Any:
    """Run a counter statement in a committed transaction of its own (see the module's notes)."""
    bind = _bind(session)
    if isinstance(bind, Connection) or _holds_sqlite_write_lock(session):
        # Already inside the caller's transaction: count there; its commit publishes it.
        return session.connection().execute(statement)
    with _counter_engine(bind).begin() as connection:
        result = connection.execute(statement)
        # Read RETURNING rows before the commit.
        return _Buffered(list(result.all()) if result.returns_rows else [])


_counter_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_counter_engines_lock = threading.Lock()


def _counter_engine(engine: Engine) -> Engine:
    """A second engine on the same database, for counter transactions only."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine  # an in-memory database exists only on its own connection
    with _counter_engines_lock:
        counter = _counter_engines.get(engine)
        if counter is None:
            from app.db import build_engine

            # Counter transactions are a statement long: a few connections serve any burst.
            url = engine.url.render_as_string(hide_password=False)
            counter = _counter_engines[engine] = build_engine(url, pool_size=4, max_overflow=4)
        return counter


class _Buffered:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]


def _holds_sqlite_write_lock(session: Session) -> bool:
    # sqlite3 opens a transaction only for writes (SELECTs run outside one), so a
    # connection inside a transaction holds SQLite's single write lock.
    if _bind(session).dialect.name != "sqlite" or not session.in_transaction():
        return False
    dbapi = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


class LocalLimiter:
    """Fixed-window counters in this process's memory, safe to share between threads.

    For flood limits only: counting an API write in the database cost a write of
    its own on every request, more than the entry itself. The counts are per
    process, so with N server processes (or replicas) a device gets up to N times
    the limit, and a restart forgets them; limits that guard accounts (sign-in,
    invites, PIN tries) stay in the database with `hit`.

    Memory is bounded: windows that ended are dropped now and then, and past
    `max_keys` live counters the oldest are dropped too (a key dropped early only
    starts a fresh window, it never blocks anyone).
    """

    def __init__(self, *, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (end of its current window, attempts in it); insertion order is age order.
        self._windows: dict[str, tuple[float, int]] = {}
        self._next_prune = 0.0

    def hit(self, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one attempt. Returns seconds to wait if the limit is exceeded, else None."""
        now = self._clock()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
            if now >= ends:
                # A fresh window goes to the end of the age order.
                self._windows.pop(key, None)
                ends, count = now + window_seconds, 0
            count += 1
            self._windows[key] = (ends, count)
            if now >= self._next_prune or len(self._windows) > self._max_keys:
                self._prune(now)
        if count > limit:
            return max(1, math.ceil(ends - now))
        return None

    def _prune(self, now: float) -> None:
        self._windows = {key: value for key, value in self._windows.items() if value[0] > now}
        overflow = len(self._windows) - self._max_keys
        if overflow > 0:
            # Drop a good share at once so a flood of new keys does not prune on every hit.
            for key in list(self._windows)[: overflow + self._max_keys // 10]:
                del self._windows[key]
        self._next_prune = now + 60.0

    def __len__(self) -> int:
        return len(self._windows)
