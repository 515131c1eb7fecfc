"""Test fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL
is set (always in CI), on PostgreSQL too. Each run creates its own databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

import app.models
from app.core import migrate
from app.core.db import build_engine
from app.core.settings import Environment, Settings
from tests.peers import PushPeer, run_push_peer

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_SKIP_REASON = (
    "PostgreSQL tests SKIPPED: TEST_DATABASE_URL is not set "
    "(set it, e.g. postgresql://postgres@127.0.0.1:5432/test, to run them)"
)

BACKENDS = ["sqlite", "postgres"]


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI must set TEST_DATABASE_URL: PostgreSQL tests may not be skipped in CI")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not PG_URL:
        terminalreporter.write_sep("!", PG_SKIP_REASON, red=True, bold=True)


def _create_pg_database() -> tuple[str, str]:
    name = f"between_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = sa_create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(name: str) -> None:
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = sa_create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run, one per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'between.db'}"
        engine = build_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = _create_pg_database()
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    _drop_pg_database(name)


@pytest.fixture(scope="session")
def _engines() -> Iterator[dict[str, Engine]]:
    cache: dict[str, Engine] = {}
    yield cache
    for engine in cache.values():
        engine.dispose()


@pytest.fixture
def engine(database_url: str, _engines: dict[str, Engine]) -> Iterator[Engine]:
    if database_url not in _engines:
        _engines[database_url] = build_engine(database_url)
    engine = _engines[database_url]
    from app.services import library

    with Session(engine) as session:
        library.sync(session)
        session.commit()
    yield engine
    _empty(engine)


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        base_url="http://testserver",
    )


@pytest.fixture
def app(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(settings, engine=engine)


@pytest.fixture(scope="session")
def push_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushPeer]:
    """The npm web-push-testing push service (checks VAPID, decrypts), one per run."""
    yield from run_push_peer(tmp_path_factory.mktemp("push-peer") / "server.log")


@pytest.fixture
def web(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An anonymous browser."""
    with TestClient(app, base_url="http://testserver") as client:
        yield client
