"""Fixed-window rate limits kept in the database (shared by every replica)."""

from __future__ import annotations

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
