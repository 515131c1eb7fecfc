"""API-write and upload limits are shared by every process: two apps (two replicas) on one
database, or on one Redis, together let no more than the limit through."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.db import build_engine
from app.core.settings import Settings
from app.main import create_app
from app.models import RateLimitCounter
from app.models.types import utcnow
from app.services import ratelimit
from tests.factories import browser, make_assignment, make_client, signed_in
from tests.peers import REDIS_URL, own_redis_keys


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with own_redis_keys() as prefix:
        yield prefix


@pytest.fixture
def second_engine(database_url: str) -> Iterator[Engine]:
    """The second replica's own engine (its own connection pool) on the same database."""
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


def _tight(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(update={"api_write_max": 3, "api_write_window_seconds": 600, **more})


def _phones(app_a, app_b, session) -> tuple[TestClient, TestClient]:  # type: ignore[no-untyped-def]
    """One phone's session, used through both replicas (a load balancer sends it to either)."""
    client = make_client(session)
    make_assignment(session, client=client)
    web_a = signed_in(browser(app_a), session, client)
    web_b = browser(app_b)
    for name, value in web_a.cookies.items():
        web_b.cookies.set(name, value)
    web_b.headers["X-CSRF-Token"] = web_a.headers["X-CSRF-Token"]
    return web_a, web_b


def _writes(web_a: TestClient, web_b: TestClient, count: int) -> list[int]:
    # Any write under /api/ counts, answered or not: an empty body is a quick 422.
    return [(web_a if i % 2 == 0 else web_b).post("/api/v1/entries", json={}).status_code for i in range(count)]


def test_the_api_write_limit_holds_across_two_replicas_on_one_database(
    settings, engine, second_engine, session
) -> None:  # type: ignore[no-untyped-def]
    tight = _tight(settings)
    web_a, web_b = _phones(create_app(tight, engine=engine), create_app(tight, engine=second_engine), session)
    with web_a, web_b:
        statuses = _writes(web_a, web_b, 8)
        assert [status != 429 for status in statuses] == [True] * 3 + [False] * 5, statuses
        blocked = web_b.post("/api/v1/entries", json={})
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 600
    counter = session.exec(select(RateLimitCounter).where(RateLimitCounter.key.startswith("api:"))).one()
    assert counter.count >= 3


def test_attempts_taken_in_batches_never_exceed_the_limit_across_replicas(
    settings, engine, second_engine, session
) -> None:  # type: ignore[no-untyped-def]
    # A limit of 40 is taken 4 at a time: most writes are counted in memory, and the two
    # replicas together still let at most 40 through.
    tight = _tight(settings, api_write_max=40, rate_limit_batch=10)
    app_a, app_b = create_app(tight, engine=engine), create_app(tight, engine=second_engine)
    web_a, web_b = _phones(app_a, app_b, session)
    with web_a, web_b:
        statuses = _writes(web_a, web_b, 50)
    allowed = sum(status != 429 for status in statuses)
    assert 40 - 2 * 3 <= allowed <= 40, statuses
    assert statuses[-1] == 429
    counter = session.exec(select(RateLimitCounter).where(RateLimitCounter.key.startswith("api:"))).one()
    assert counter.count >= 40


def test_uploads_are_limited_across_replicas(settings, engine, second_engine, session) -> None:  # type: ignore[no-untyped-def]
    tight = _tight(settings, api_write_max=100, upload_max=2, upload_window_seconds=600)
    web_a, web_b = _phones(create_app(tight, engine=engine), create_app(tight, engine=second_engine), session)
    statuses = []
    with web_a, web_b:
        for web in (web_a, web_b, web_a, web_b):
            files = {"file": ("note.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64, "audio/webm")}
            statuses.append(web.post("/api/v1/voice-notes", files=files).status_code)
    assert [status == 429 for status in statuses] == [False, False, True, True], statuses


def test_old_windows_are_pruned_and_running_ones_kept(engine, session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    session.add(RateLimitCounter(key="api:s:old", window_start=now - timedelta(hours=3), count=7))
    session.add(RateLimitCounter(key="signin:ip:recent", window_start=now - timedelta(minutes=5), count=2))
    session.commit()
    assert ratelimit.prune(engine, older_than_seconds=3600) == 1
    session.expire_all()
    assert [row.key for row in session.exec(select(RateLimitCounter))] == ["signin:ip:recent"]


def test_the_database_store_prunes_now_and_then(engine, session) -> None:  # type: ignore[no-untyped-def]
    ticks = iter([0.0, 10.0, 400.0])
    store = ratelimit.DatabaseStore(
        engine, prune_after_seconds=3600, prune_every_seconds=300, clock=lambda: next(ticks)
    )
    session.add(RateLimitCounter(key="api:s:old", window_start=utcnow() - timedelta(hours=3), count=7))
    session.commit()
    store.add("api:s:new", amount=1, window_seconds=60)  # 10 s after start: not yet
    with Session(engine) as fresh:
        assert fresh.get(RateLimitCounter, "api:s:old") is not None
    store.add("api:s:new", amount=1, window_seconds=60)  # 400 s: prunes
    with Session(engine) as fresh:
        assert fresh.get(RateLimitCounter, "api:s:old") is None
        assert fresh.get(RateLimitCounter, "api:s:new").count == 2


# ---------------------------------------------------------------------------
# Redis (BETWEEN_REDIS_URL)


def test_the_api_write_limit_holds_across_two_replicas_on_one_redis(
    settings, engine, second_engine, session, redis_prefix
) -> None:  # type: ignore[no-untyped-def]
    tight = _tight(settings, redis_url=REDIS_URL, redis_key_prefix=redis_prefix)
    web_a, web_b = _phones(create_app(tight, engine=engine), create_app(tight, engine=second_engine), session)
    with web_a, web_b:
        statuses = _writes(web_a, web_b, 8)
        blocked = web_a.post("/api/v1/entries", json={})
    assert [status != 429 for status in statuses] == [True] * 3 + [False] * 5, statuses
    assert 1 <= int(blocked.headers["retry-after"]) <= 600
    # Counted in Redis, not in the database.
    assert session.exec(select(RateLimitCounter).where(RateLimitCounter.key.startswith("api:"))).all() == []
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [key.decode() for key in client.scan_iter(match=redis_prefix + "*")]
    assert len(keys) == 1 and keys[0].startswith(redis_prefix + "api:")
    assert 0 < client.ttl(keys[0]) <= 600
    client.close()


def test_batches_in_redis_never_exceed_the_limit(redis_prefix) -> None:
    limiters = [
        ratelimit.SharedLimiter(ratelimit.RedisStore(REDIS_URL, prefix=redis_prefix), batch=10) for _ in range(2)
    ]
    results = [limiters[i % 2].hit("api:s:device", limit=50, window_seconds=60) for i in range(70)]
    allowed = sum(result is None for result in results)
    assert 50 - 2 * 4 <= allowed <= 50
    assert all(isinstance(result, int) and 1 <= result <= 60 for result in results[-5:])


def test_a_redis_that_does_not_answer_lets_requests_through(settings, engine, session) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there: the flood limit is skipped (and logged), the write goes on.
    tight = _tight(settings, redis_url=f"redis://127.0.0.1:{port}/0", api_write_max=1)
    client = make_client(session)
    make_assignment(session, client=client)
    with signed_in(browser(create_app(tight, engine=engine)), session, client) as web:
        statuses = [web.post("/api/v1/entries", json={}).status_code for _ in range(3)]
    assert 429 not in statuses and 500 not in statuses, statuses


def test_the_attempts_held_in_memory_are_bounded(engine) -> None:  # type: ignore[no-untyped-def]
    limiter = ratelimit.SharedLimiter(ratelimit.DatabaseStore(engine, prune_after_seconds=3600), max_keys=10)
    for number in range(35):
        assert limiter.hit(f"api:ip:10.0.0.{number}", limit=100, window_seconds=60) is None
        assert len(limiter) <= 10
    # A device dropped from memory only asks the shared count again: it is never blocked for it.
    assert limiter.hit("api:ip:10.0.0.0", limit=100, window_seconds=60) is None
