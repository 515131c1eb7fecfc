"""Between's own commands as child processes, shared by several test folders.

`ProcessServer` is `between serve --no-dispatcher` on a free port (a web replica);
`start_dispatcher` starts `between dispatcher`; `migrate_at_once` runs two
`between migrate` on one fresh PostgreSQL database at the same moment. Each child gets
the environment a deployment would give it; its output goes to a log file of the test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.core import migrate
from app.core.db import build_engine
from tests.peers import ROOT, free_port, wait_until


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


class ProcessServer:
    """`between serve --no-dispatcher` as a child process on a free port.

    `settings` become BETWEEN_* variables (`api_write_max=5` is BETWEEN_API_WRITE_MAX=5).
    With `wait=False` the constructor returns at once, so several replicas start side by
    side; `wait_ready()` then waits for each."""

    def __init__(self, *, database_url: str, data_dir: Path, log: Path, wait: bool = True, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url,
                "BETWEEN_ENVIRONMENT": "test",
                "BETWEEN_DATA_DIR": str(data_dir),
                # Every replica of one deployment shares the key: a session or CSRF token made by one is good on all.
                "BETWEEN_SECRET_KEY": "burst-test-secret-" + "x" * 32,
                "BETWEEN_BASE_URL": self.url,
            }
        )
        env.update({f"BETWEEN_{key.upper()}": str(value) for key, value in settings.items()})
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                _command("serve", "--no-dispatcher", "--host", "127.0.0.1", "--port", str(self.port)),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        try:
            wait_until(self._ready, what=f"the server on {self.url} to answer", limit=60, every=0.1)
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def peak_rss_bytes(self) -> int:
        """The process's peak resident memory since it started (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
        assert match, status
        return int(match.group(1)) * 1024

    def stop(self) -> None:
        stop_processes([self.process])


def start_dispatcher(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`between dispatcher [args]` with `env` (tests/dispatch/load.py: `dispatcher_env`)."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            _command("dispatcher", *args), cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each (they stop cleanly), SIGKILL to any that has not within 20 s."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _waiting_for_the_lock(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
        )


def migrate_at_once(database_url: str, tmp_path: Path) -> list[str]:
    """Two `between migrate` on a fresh PostgreSQL database at once, each from its own data
    directory (two hosts): one waits for the other (the advisory lock), both succeed, the
    schema ends at head and the record library is synced once. Returns their outputs.

    The lock is held here first, so both commands are seen waiting for it at the same time:
    that they wait is checked, not left to timing."""
    engine = build_engine(database_url)
    processes: list[subprocess.Popen[bytes]] = []
    holder = engine.connect()
    try:
        holder_transaction = holder.begin()
        migrate.serialized(holder)
        for index in range(2):
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "BETWEEN_DATA_DIR": str(tmp_path / f"migrate-host{index}"),
                "BETWEEN_ENVIRONMENT": "test",
            }
            processes.append(
                subprocess.Popen(_command("migrate"), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            )
        deadline = time.monotonic() + 120
        while _waiting_for_the_lock(engine) < 2:
            assert all(process.poll() is None for process in processes), "a migration did not wait for the lock"
            assert time.monotonic() < deadline, "the migrations never reached the lock"
            time.sleep(0.1)
        assert not inspect(engine).has_table("alembic_version")
        holder_transaction.commit()

        outputs = [process.communicate(timeout=300) for process in processes]
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
            assert b"database is up to date" in out

        head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            # The record library was synced once, not twice.
            slugs = connection.execute(text("SELECT slug FROM record_template WHERE slug IS NOT NULL")).scalars().all()
        assert slugs and len(slugs) == len(set(slugs))
        return [out.decode() for out, _err in outputs]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        holder.close()
        engine.dispose()
