"""Backing up and restoring the database: the sqlite3 online backup API, or pg_dump/pg_restore.

SQLite is copied page by page while the app keeps running (readers and the
writer are never blocked for long). PostgreSQL is dumped in pg_dump's custom
format and restored with `--clean --if-exists`, so a restore replaces what is
there. Voice notes' audio is in the database (`voice_note_blob`), so either
backup holds everything (see docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    pass


def backup(database_url: str, path: Path) -> Path:
    url = make_url(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        _sqlite_copy(source=_sqlite_file(url), target=path)
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), "--dbname", _libpq(url)], url)
    path.chmod(0o600)  # a backup holds every client's records
    return path


def restore(database_url: str, path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        _sqlite_copy(source=path, target=_sqlite_file(url))
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                _libpq(url),
                str(path),
            ],
            url,
        )


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _sqlite_copy(*, source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            # A few pages at a time, so a running app is never locked out for long.
            src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def _check_sqlite_backup(path: Path) -> None:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            result = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite backup: {error}") from None
    if not result or result[0] != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check")


def _libpq(url: URL) -> str:
    # The password goes through the environment, never the command line (visible in `ps`).
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (it comes with the PostgreSQL client tools)")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")
