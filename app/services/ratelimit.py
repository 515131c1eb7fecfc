"""Fixed-window rate limits.

Every limit is shared by all processes and replicas. Two kinds:

- counters kept in the database (`count`, `hit`, `give_back`, `reset`) for the limits
  that guard accounts (sign-in, sign-up, invites, PIN tries), next to the code that
  checks them;
- `SharedLimiter`, for the limits that only keep a device from flooding the server
  (API writes, uploads): counted in the database (`DatabaseStore`, the same counter
  table) or in Redis (`RedisStore`, when BETWEEN_REDIS_URL is set), a few attempts at
  a time (see `SharedLimiter`), so that not every API write costs a write of its own.

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

from app.core.db import open_session
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


def count(session: Session, *, key: str, window_seconds: int, amount: int = 1) -> Counted:
    """Count `amount` attempts now, atomically and committed, and return the count in the window."""
    now = utcnow()
    expired = _COUNTERS.c.window_start <= literal(now - timedelta(seconds=window_seconds), UTCDateTime())
    values = {"key": key, "window_start": now, "count": amount}
    insert = _dialect_insert(session)(_COUNTERS).values(values)
    statement = insert.on_conflict_do_update(
        index_elements=[_COUNTERS.c.key],
        set_={
            "count": case((expired, amount), else_=_COUNTERS.c.count + amount),
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


def prune(engine: Engine, *, older_than_seconds: int) -> int:
    """Delete counters whose window started more than `older_than_seconds` ago.

    Safe for any key as long as no limit's window is longer than that: a counter whose
    window has ended is reset on its next attempt anyway. Returns the rows deleted."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with _counter_engine(engine).begin() as connection:
        result = connection.execute(delete(_COUNTERS).where(_COUNTERS.c.window_start < literal(cutoff, UTCDateTime())))
        return int(result.rowcount or 0)


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
            from app.core.db import build_engine, uses_pgbouncer

            # Counter transactions are a statement long: a few connections serve any burst.
            url = engine.url.render_as_string(hide_password=False)
            counter = _counter_engines[engine] = build_engine(
                url, pool_size=2, max_overflow=2, pgbouncer=uses_pgbouncer(engine)
            )
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


class StoreUnavailable(Exception):
    """The shared store did not answer (Redis down): the flood limit lets the request through."""


class DatabaseStore:
    """Shared fixed-window counters in the database's counter table (the default).

    One atomic upsert per reservation, in a short transaction of its own (`count`).
    Windows that ended are deleted now and then (`prune`), at most every
    `prune_every_seconds`, keeping any whose window may still be running."""

    def __init__(
        self,
        engine: Engine,
        *,
        prune_after_seconds: int,
        prune_every_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._prune_after = prune_after_seconds
        self._prune_every = prune_every_seconds
        self._clock = clock
        self._next_prune = clock() + prune_every_seconds
        self._prune_lock = threading.Lock()

    def add(self, key: str, *, amount: int, window_seconds: int) -> tuple[int, float]:
        """Add `amount` to the key's count in its window; the count after, and seconds left in the window."""
        with open_session(self._engine) as session:
            counted = count(session, key=key, window_seconds=window_seconds, amount=amount)
        self._maybe_prune()
        ends = counted.window_start + timedelta(seconds=window_seconds)
        return counted.count, (ends - utcnow()).total_seconds()

    def _maybe_prune(self) -> None:
        now = self._clock()
        if now < self._next_prune or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._next_prune = now + self._prune_every
            prune(self._engine, older_than_seconds=self._prune_after)
        finally:
            self._prune_lock.release()


class RedisStore:
    """Shared fixed-window counters in Redis (BETWEEN_REDIS_URL): INCRBY and PTTL in one
    round trip; a key that has no expiry yet (its first attempt) is given the window.
    Redis forgets ended windows itself."""

    def __init__(self, url: str, *, prefix: str = "between:rl:", timeout_seconds: float = 2.0) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        self._prefix = prefix

    def add(self, key: str, *, amount: int, window_seconds: int) -> tuple[int, float]:
        name = self._prefix + key
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.incrby(name, amount)
            pipe.pttl(name)
            total, ttl_ms = pipe.execute()
            if ttl_ms < 0:
                # First attempt of a window (or a key left without expiry): the window starts now.
                # (Two processes doing this at once set the same window, give or take a moment.)
                self._client.pexpire(name, window_seconds * 1000)
                ttl_ms = window_seconds * 1000
        except self._errors as error:
            raise StoreUnavailable(str(error)) from error
        return int(total), ttl_ms / 1000

    def close(self) -> None:
        self._client.close()


class SharedLimiter:
    """Fixed-window limits shared by every process, through a store (database or Redis).

    Counting every attempt in the store would cost a database write per API write. So a
    process takes a few attempts at once (`batch`, at most a tenth of the limit) from the
    shared counter and spends them from memory; only every batch-th attempt of a device
    reaches the store. Attempts a process took but did not use are lost when its window
    ends, so a limit never lets more than `limit` attempts through across all processes,
    and at worst (batch - 1) fewer per process. Once the shared count is over the limit,
    the process remembers it until the window ends and answers without asking the store.

    If the store does not answer (`StoreUnavailable`), the attempt goes through: these
    limits only protect against floods, and an outage of Redis must not stop the app.
    """

    def __init__(
        self,
        store: DatabaseStore | RedisStore,
        *,
        batch: int = 10,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._batch = max(1, batch)
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (end of the window on this process's clock, attempts left here, blocked)
        self._allowance: dict[str, tuple[float, int, bool]] = {}

    def batch_for(self, limit: int) -> int:
        return max(1, min(self._batch, limit // 10))

    def take_local(self, key: str) -> int | None:
        """Without the store: 0 if an attempt held here was used, seconds to wait if the key
        is known to be over its limit, None if the store must be asked."""
        now = self._clock()
        with self._lock:
            held = self._allowance.get(key)
            if held is None or now >= held[0]:
                return None
            ends, left, blocked = held
            if blocked:
                return max(1, math.ceil(ends - now))
            if left > 0:
                self._allowance[key] = (ends, left - 1, False)
                return 0
        return None

    def reserve(self, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Take a batch of attempts from the store and use one. Seconds to wait if over the limit."""
        amount = self.batch_for(limit)
        try:
            total, seconds_left = self.store.add(key, amount=amount, window_seconds=window_seconds)
        except StoreUnavailable as error:
            import logging

            logging.getLogger("between").warning("rate limit store unavailable, request allowed: %s", error)
            return None
        granted = max(0, min(amount, limit - (total - amount)))
        now = self._clock()
        ends = now + max(0.0, seconds_left)
        with self._lock:
            if len(self._allowance) >= self._max_keys:
                self._allowance = {k: v for k, v in self._allowance.items() if v[0] > now}
                if len(self._allowance) >= self._max_keys:
                    self._allowance.clear()  # dropping held attempts only makes limits stricter
            self._allowance[key] = (ends, max(0, granted - 1), granted == 0)
        if granted == 0:
            return max(1, math.ceil(seconds_left))
        return None

    def hit(self, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one attempt. Returns seconds to wait if the limit is exceeded, else None."""
        local = self.take_local(key)
        if local is None:
            return self.reserve(key, limit=limit, window_seconds=window_seconds)
        return local or None

    def __len__(self) -> int:
        return len(self._allowance)
