"""Fixed-window rate limits.

Two kinds: counters kept in the database (`hit`, `peek`, `reset`), shared by every
process and replica, for the limits that guard accounts (sign-in, invites, PIN
tries); and `LocalLimiter`, counters in one process's memory, for the limits that
only keep a device from flooding the server (API writes, uploads).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.models import RateLimitCounter
from app.models.types import utcnow


def hit(session: Session, *, key: str, limit: int, window_seconds: int) -> int | None:
    """Count one attempt. Returns seconds to wait if the limit is exceeded, else None."""
    now = utcnow()
    for _attempt in range(3):
        counter = session.exec(select(RateLimitCounter).where(RateLimitCounter.key == key).with_for_update()).first()
        if counter is None:
            try:
                with session.begin_nested():
                    session.add(RateLimitCounter(key=key, window_start=now, count=1))
                return None
            except IntegrityError:
                continue
        if now - counter.window_start >= timedelta(seconds=window_seconds):
            counter.window_start = now
            counter.count = 0
        counter.count += 1
        session.add(counter)
        session.flush()
        if counter.count > limit:
            elapsed = (now - counter.window_start).total_seconds()
            return max(1, int(window_seconds - elapsed))
        return None
    return None


def peek(session: Session, *, key: str, limit: int, window_seconds: int) -> int | None:
    """Seconds to wait if `limit` attempts are already used up in this window, without counting one."""
    counter = session.get(RateLimitCounter, key)
    if counter is None:
        return None
    elapsed = utcnow() - counter.window_start
    if elapsed >= timedelta(seconds=window_seconds) or counter.count < limit:
        return None
    return max(1, int(window_seconds - elapsed.total_seconds()))


def reset(session: Session, *, key: str) -> None:
    counter = session.get(RateLimitCounter, key)
    if counter is not None:
        session.delete(counter)


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
