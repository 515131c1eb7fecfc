"""The app through a real PgBouncer in transaction pooling mode (BETWEEN_DB_PGBOUNCER):
no prepared statements, no session state, advisory locks only per transaction."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core import migrate
from app.core.db import engine_for
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import IN_CI, PG_SKIP_REASON, PG_URL
from tests.factories import browser, make_assignment, make_client, make_therapist, signed_in

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A PgBouncer on a free port, transaction pooling, in front of the test PostgreSQL."""
    if PGBOUNCER is None:
        if IN_CI:
            pytest.fail("pgbouncer must be installed for CI (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    upstream = make_url(PG_URL)
    folder = tmp_path_factory.mktemp("pgbouncer")
    folder.chmod(0o755)  # PgBouncer refuses to run as root: it switches to `nobody` then
    port = _free_port()
    users = folder / "users.txt"
    users.write_text(f'"{upstream.username or "postgres"}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={upstream.host or '127.0.0.1'} port={upstream.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {users}\n"
        # Few server connections for many clients: consecutive transactions of one client
        # land on different server connections, as they do in production.
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    for path in (users, config):
        path.chmod(0o644)
    command = [PGBOUNCER, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"pgbouncer did not start: {output}")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def through_pgbouncer(database_url: str, pgbouncer: int, settings: Settings) -> Settings:
    if not database_url.startswith("postgresql"):
        pytest.skip("PgBouncer is for PostgreSQL")
    url = make_url(database_url).set(host="127.0.0.1", port=pgbouncer).render_as_string(hide_password=False)
    return settings.model_copy(
        update={
            "database_url": url,
            "db_pgbouncer": True,
            "db_pool_size": 2,
            "db_max_overflow": 2,
            "rate_limit_batch": 1,
        }
    )


def test_the_app_works_through_pgbouncer_in_transaction_mode(through_pgbouncer, engine, session) -> None:  # type: ignore[no-untyped-def]
    bounced = engine_for(through_pgbouncer, "web")
    try:
        with bounced.connect() as connection:
            assert connection.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
            assert connection.execute(text("SHOW port")).scalar_one() == str(make_url(PG_URL).port or 5432)
        client = make_client(session)
        assignment = make_assignment(session, client=client)
        app = create_app(through_pgbouncer, engine=bounced)
        # The same statements many times over (psycopg would prepare them after 5), each
        # write also counted by the shared rate limit in the database.
        with signed_in(browser(app), session, client) as phone:
            for _ in range(12):
                body = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4}}
                assert phone.post("/api/v1/entries", json=body).status_code == 201
                assert phone.get("/api/v1/entries").status_code == 200
        # Sign-in attempts: counted through the rate-limit counters' own pool, also through PgBouncer.
        therapist = make_therapist(session)
        with browser(app) as web:
            web.get("/signin")
            token = web.cookies["between_csrf"]
            answers = [
                web.post(
                    "/signin", data={"email": therapist.email, "password": "wrong password", "csrf_token": token}
                ).status_code
                for _ in range(through_pgbouncer.signin_max_attempts + 2)
            ]
        assert answers[-1] == 429 and 500 not in answers, answers
        with engine.connect() as direct:
            stored = direct.execute(text("SELECT count(*) FROM entry WHERE client_id = :id"), {"id": client.id})
            assert stored.scalar_one() == 12
    finally:
        bounced.dispose()


def test_the_migration_lock_is_held_for_one_transaction_only(through_pgbouncer, engine) -> None:  # type: ignore[no-untyped-def]
    bounced = engine_for(through_pgbouncer, "command")

    # Only this server connection's locks: the other test worker may be migrating its own
    # database at the same moment, under the same key.
    def held(pid: int) -> int:
        with engine.connect() as direct:
            query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid"
            return int(direct.execute(text(query), {"pid": pid}).scalar_one())

    try:
        migrate.upgrade(bounced)  # already at head: takes the lock, finds nothing to do
        with bounced.begin() as connection:
            pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            migrate.serialized(connection)
            assert held(pid) == 1
        # Released with the transaction: the server connection goes back to PgBouncer clean.
        assert held(pid) == 0
    finally:
        bounced.dispose()
