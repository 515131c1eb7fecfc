"""Run Alembic migrations from code (CLI, app start-up, tests).

On PostgreSQL, migrations run under an advisory lock on a fixed key, taken in the
migration's own transaction (`pg_advisory_xact_lock`): two `between migrate` started at
once (two containers, two hosts) run one after the other, and the second finds the
schema at head and does nothing. A transaction-level lock is released by the commit or
rollback itself, so it also works through PgBouncer in transaction pooling mode. The
library sync that follows a migration, and the one at every app start, take the same lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

import migrations

# The top-level `migrations` package: installed beside `app`, so this works from a checkout,
# an installed wheel and the image alike.
MIGRATIONS = Path(migrations.__file__).parent
# Any fixed 64-bit number, the same in every process: "between" + "migr" in ASCII, shortened.
LOCK_KEY = 0x6265_7477_6D69_6772 & 0x7FFF_FFFF_FFFF_FFFF


def serialized(connection: Connection) -> None:
    """Wait for, then hold until this transaction ends, the migration lock (PostgreSQL only;
    SQLite lets one writer in at a time anyway)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the migration lock. On SQLite, foreign keys are off meanwhile:
    a column dropped in batch mode rebuilds its table, and dropping the old table with foreign
    keys on would first delete every row that refers to it (ON DELETE CASCADE: a client's
    entries and voice notes). Rows are checked against the keys before committing."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Outside a transaction, or SQLite ignores it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                serialized(connection)
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
