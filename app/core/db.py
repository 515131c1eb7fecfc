"""Engine creation and the per-request database session."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from app.core.settings import Settings

# Whether an engine's connections go through PgBouncer (for engines made from it, e.g. the
# rate-limit counters' own pool).
_PGBOUNCER: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def engine_for(settings: Settings, kind: Literal["web", "dispatcher", "command"] = "web") -> Engine:
    """The engine of one kind of process, with that kind's pool size (docs/deploy.md)."""
    if kind == "dispatcher":
        pool_size, max_overflow = settings.dispatcher_db_pool_size, settings.dispatcher_db_max_overflow
    elif kind == "command":
        pool_size, max_overflow = 2, 2
    else:
        pool_size, max_overflow = settings.db_pool_size, settings.db_max_overflow
    return build_engine(
        settings.database_url, pool_size=pool_size, max_overflow=max_overflow, pgbouncer=settings.db_pgbouncer
    )


def uses_pgbouncer(engine: Engine) -> bool:
    return _PGBOUNCER.get(engine, False)


def build_engine(
    database_url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 20,
    pgbouncer: bool = False,
) -> Engine:
    """An engine. `pgbouncer`: connections go through PgBouncer in transaction pooling mode,
    where consecutive transactions may run on different server connections, so psycopg must
    not prepare statements (it does after 5 runs of one by default)."""
    # hide_parameters: SQL errors must never carry answers into logs.
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {"prepare_threshold": None} if pgbouncer else {}
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args=connect_args,
    )
    _PGBOUNCER[engine] = pgbouncer
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the dispatcher write while pages read; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_session(engine: Engine) -> Session:
    """The one way to open a database session (`with open_session(engine) as session:`).

    Objects stay loaded after a commit (`expire_on_commit=False`): a page or a dispatcher pass
    commits once and then still reads what it wrote, without a query per attribute.
    """
    return Session(engine, expire_on_commit=False)


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every SQL statement sent while the block runs (query-count checks, benchmarks)."""
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _count)
