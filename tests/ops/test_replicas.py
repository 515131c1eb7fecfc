"""Two web replicas on two hosts and two dispatchers on one PostgreSQL database behave as
one service (docs/operations.md, "Several replicas").

Real processes, started once for this module: a fresh database migrated by two
`between migrate` at once; two `between serve --no-dispatcher`, each with a data directory
of its own (two hosts); two `between dispatcher --health-port`. Replica B reaches the
database through a local TCP proxy (tests/tcp_proxy.py), so the database can be taken
away from it. Every process is stopped when the module ends, whatever happened.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from app.core.db import build_engine
from app.core.settings import Environment, Settings
from app.dispatch.vapid import VapidKeys
from app.models import Client, OccurrenceStatus, ReminderOccurrence, SessionKind, VoiceNote
from app.models.types import utcnow
from app.services import device_sessions, reminders, voice_storage
from app.services.reminders import subscriptions
from app.web.render import SESSION_COOKIE
from tests.conftest import PG_SKIP_REASON, PG_URL, _create_pg_database, _drop_pg_database
from tests.dispatch.load import dispatcher_env
from tests.factories import PASSWORD, make_assignment, make_client, make_therapist
from tests.peers import REDIS_URL, ROOT, PushPeer, free_port, own_redis_keys, wait_until
from tests.processes import ProcessServer, migrate_at_once, start_dispatcher, stop_processes
from tests.security.servers import Browser
from tests.tcp_proxy import TcpProxy

pytestmark = [
    # CI refuses to start without TEST_DATABASE_URL (tests/conftest.py), so this never skips there.
    pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON),
    pytest.mark.postgres_only,
    # One worker runs the whole module: its processes start once.
    pytest.mark.xdist_group("replicas"),
]

UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"
API_WRITE_MAX = 5
# Short heartbeats, so a stopped dispatcher shows as stale within seconds.
HEARTBEATS = {"dispatch_heartbeat_seconds": 0.5, "dispatch_heartbeat_stale_seconds": 3}
REPLICA_SETTINGS: dict[str, Any] = {"api_write_max": API_WRITE_MAX, "api_write_window_seconds": 600, **HEARTBEATS}


@dataclass
class DispatcherProcess:
    process: subprocess.Popen[bytes]
    health: str  # its --health-port

    def readyz(self) -> httpx.Response:
        return httpx.get(f"{self.health}/readyz", timeout=10)


@dataclass
class Deployment:
    database_url: str
    engine: Engine
    a: ProcessServer
    b: ProcessServer  # its database connections go through `proxy`
    proxy: TcpProxy
    dispatchers: list[DispatcherProcess]
    vapid: VapidKeys
    migrations: list[str]
    hosts: list[Path]  # the replicas' data directories


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("replicas")
    url, name = _create_pg_database()
    engine = build_engine(url)
    processes: list[subprocess.Popen[bytes]] = []
    proxy: TcpProxy | None = None
    try:
        migrations = migrate_at_once(url, tmp)
        database = make_url(url)
        proxy = TcpProxy(database.port or 5432, upstream_host=database.host or "127.0.0.1")
        proxied = database.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        replicas = []
        for host, database_url in (("a", url), ("b", proxied)):
            replica = ProcessServer(
                database_url=database_url,
                data_dir=tmp / f"host-{host}",
                log=tmp / f"replica-{host}.log",
                wait=False,
                **REPLICA_SETTINGS,
            )
            processes.append(replica.process)
            replicas.append(replica)
        vapid = VapidKeys.generate()
        dispatchers = []
        for number in (1, 2):
            env = dispatcher_env(
                url,
                str(tmp / f"dispatcher-host{number}"),
                vapid_private_key=vapid.private_key_b64,
                **HEARTBEATS,
            )
            port = free_port()
            process = start_dispatcher(env, tmp / f"dispatcher-{number}.log", "--health-port", str(port))
            processes.append(process)
            dispatchers.append(DispatcherProcess(process, f"http://127.0.0.1:{port}"))
        for replica in replicas:
            replica.wait_ready()
        for dispatcher in dispatchers:
            wait_until(lambda d=dispatcher: _answers(d), what="a dispatcher's health port", limit=60, every=0.1)
        hosts = [tmp / "host-a", tmp / "host-b"]
        yield Deployment(url, engine, replicas[0], replicas[1], proxy, dispatchers, vapid, migrations, hosts)
    finally:
        for process in processes:  # a dispatcher a failed test left stopped must hear SIGTERM
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
        stop_processes(processes)
        if proxy is not None:
            proxy.close()
        engine.dispose()
        _drop_pg_database(name)


def _answers(dispatcher: DispatcherProcess) -> bool:
    assert dispatcher.process.poll() is None, "a dispatcher exited: see its log"
    try:
        return dispatcher.readyz().status_code == 200
    except httpx.HTTPError:
        return False


def _phone(engine: Engine) -> tuple[uuid.UUID, dict[str, str]]:
    """A new client and the bearer header of their own (confirmed) phone, as the app issues it."""
    with Session(engine, expire_on_commit=False) as session:
        client = make_client(session)
        assignment = make_assignment(session, client=client)
        device, token = device_sessions.start(session, kind=SessionKind.client, client_id=client.id, days=1)
        device.confirmed_at = utcnow()
        session.commit()
    return assignment.id, {"Authorization": f"Bearer {token}"}


@dataclass
class UploadedNote:
    id: str
    audio: bytes
    phone: dict[str, str]


@pytest.fixture(scope="module")
def uploaded_note(deployment: Deployment) -> UploadedNote:
    """A 1.2 MB voice note (three storage chunks) uploaded through replica A."""
    _assignment, phone = _phone(deployment.engine)
    audio = WEBM + os.urandom(1_200_000 - len(WEBM))
    answer = httpx.post(
        f"{deployment.a.url}/api/v1/voice-notes",
        headers=phone,
        files={"file": ("note.webm", audio, "audio/webm")},
        data={"seconds": "42"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    return UploadedNote(answer.json()["id"], audio, phone)


# --- migrations ---------------------------------------------------------------------------------


def test_two_migrations_at_once_both_succeed_and_both_replicas_see_them_current(deployment: Deployment) -> None:
    # migrate_at_once held the lock until both commands waited for it, then checked that both
    # succeeded, the schema is at head and the library was synced once.
    assert len(deployment.migrations) == 2
    assert all("database is up to date" in output for output in deployment.migrations)
    for replica in (deployment.a, deployment.b):
        current = lambda r=replica: _get(f"{r.url}/readyz").json().get("migrations") == "current"  # noqa: E731
        wait_until(current, what="the replica to find the migrations current", limit=60)


# --- voice notes --------------------------------------------------------------------------------


def test_a_voice_note_uploaded_through_one_replica_plays_through_the_other(
    deployment: Deployment, uploaded_note: UploadedNote
) -> None:
    audio, path = uploaded_note.audio, f"/api/v1/voice-notes/{uploaded_note.id}"
    whole = httpx.get(deployment.b.url + path, headers=uploaded_note.phone, timeout=60)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/webm"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == audio
    # A range across the boundary of two stored chunks, and the last bytes (how a player seeks).
    start, stop = voice_storage.CHUNK - 1000, voice_storage.CHUNK + 999
    part = httpx.get(
        deployment.b.url + path, headers={**uploaded_note.phone, "Range": f"bytes={start}-{stop}"}, timeout=60
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{stop}/{len(audio)}"
    assert part.content == audio[start : stop + 1]
    tail = httpx.get(deployment.b.url + path, headers={**uploaded_note.phone, "Range": "bytes=-100"}, timeout=60)
    assert (tail.status_code, tail.content) == (206, audio[-100:])
    # Neither host keeps the recording on its disk.
    assert [file for host in deployment.hosts for file in host.rglob("*") if file.stat().st_size >= len(audio)] == []
    assert not any((host / "uploads" / "voice").exists() for host in deployment.hosts)


# --- limits -------------------------------------------------------------------------------------


def test_the_sign_in_limit_holds_across_both_replicas(deployment: Deployment) -> None:
    with Session(deployment.engine) as session:
        make_therapist(session, email="replicas@example.org")
    browser = Browser(deployment.a.url)
    try:
        browser.open("/signin")

        def sign_in(replica: ProcessServer, password: str) -> int:
            form = {"email": "replicas@example.org", "password": password, "csrf_token": browser.csrf}
            return browser.http.post(f"{replica.url}/signin", data=form).status_code

        wrong = [sign_in((deployment.a, deployment.b)[n % 2], f"wrong guess {n}") for n in range(6)]
        assert wrong == [400] * 5 + [429], wrong
        # Spent on both: the next try is refused whichever replica gets it, the right password too.
        assert sign_in(deployment.a, "wrong guess 7") == 429
        assert sign_in(deployment.b, PASSWORD) == 429
    finally:
        browser.close()


def _api_writes(replicas: tuple[ProcessServer, ProcessServer], phone: dict[str, str], count: int) -> list[int]:
    # Any write under /api/ counts, answered or not: an empty body is a quick 422.
    return [
        httpx.post(f"{replicas[n % 2].url}/api/v1/entries", json={}, headers=phone, timeout=30).status_code
        for n in range(count)
    ]


def _limited(statuses: list[int]) -> bool:
    return [status != 429 for status in statuses] == [True] * API_WRITE_MAX + [False] * (len(statuses) - API_WRITE_MAX)


def test_the_api_write_limit_holds_across_both_replicas_in_the_database(deployment: Deployment) -> None:
    _assignment, phone = _phone(deployment.engine)
    statuses = _api_writes((deployment.a, deployment.b), phone, API_WRITE_MAX + 3)
    assert _limited(statuses), statuses
    with deployment.engine.connect() as connection:
        counted = connection.execute(
            text("SELECT max(count) FROM rate_limit_counter WHERE key LIKE 'api:%'")
        ).scalar_one()
    assert counted >= API_WRITE_MAX


def test_the_api_write_limit_holds_across_two_replicas_on_redis(deployment: Deployment, tmp_path: Path) -> None:
    import redis

    _assignment, phone = _phone(deployment.engine)
    with own_redis_keys() as prefix:
        replicas = [
            ProcessServer(
                database_url=deployment.database_url,
                data_dir=tmp_path / f"redis-host-{host}",
                log=tmp_path / f"redis-replica-{host}.log",
                wait=False,
                redis_url=REDIS_URL,
                redis_key_prefix=prefix,
                **REPLICA_SETTINGS,
            )
            for host in ("c", "d")
        ]
        try:
            for replica in replicas:
                replica.wait_ready()
            statuses = _api_writes((replicas[0], replicas[1]), phone, API_WRITE_MAX + 3)
        finally:
            stop_processes([replica.process for replica in replicas])
        assert _limited(statuses), statuses
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = [key.decode() for key in client.scan_iter(match=prefix + "*")]
        finally:
            client.close()
    assert len(keys) == 1 and keys[0].startswith(prefix + "api:")


# --- health -------------------------------------------------------------------------------------


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30)


def test_readyz_follows_the_database_while_livez_stays_up(deployment: Deployment) -> None:
    b = deployment.b.url
    wait_until(lambda: _get(f"{b}/readyz").status_code == 200, what="replica B ready", limit=60)
    answers: list[httpx.Response] = []

    def readyz_is(status: int) -> bool:
        assert _get(f"{b}/livez").status_code == 200  # every time it is asked, whatever the database does
        answers.append(_get(f"{b}/readyz"))
        return answers[-1].status_code == status

    deployment.proxy.cut()
    try:
        wait_until(lambda: readyz_is(503), what="replica B to see the database gone", limit=60, every=0.2)
        down = answers[-1].json()
        assert down["status"] == "unavailable"
        assert down["reason"] in ("database_unavailable", "database_timeout"), down
        metrics = _get(f"{b}/metrics")
        assert metrics.status_code == 200
        assert _samples(metrics.text, "between_database_up") == [({}, 0.0)]
        # Replica A reaches the database itself: still ready.
        assert _get(f"{deployment.a.url}/readyz").status_code == 200
    finally:
        deployment.proxy.restore()
    wait_until(lambda: readyz_is(200), what="replica B to see the database again", limit=60, every=0.2)
    assert answers[-1].json()["database"] == "ok"
    assert _get(f"{b}/livez").status_code == 200


def _counted_on(replica: ProcessServer, counts: dict[str, int]) -> bool:
    """The replica is ready and counts the dispatchers' heartbeats so: a web replica stays
    ready whatever the dispatchers do."""
    answer = _get(f"{replica.url}/readyz")
    return answer.status_code == 200 and answer.json()["dispatchers"] == counts


def _metrics_count(replica: ProcessServer, fresh: float, stale: float) -> bool:
    found = _samples(_get(f"{replica.url}/metrics").text, "between_dispatchers")
    return found == [({"state": "fresh"}, fresh), ({"state": "stale"}, stale)]


def test_each_dispatcher_reports_its_heartbeat_and_the_replicas_count_them(deployment: Deployment) -> None:
    first, second = deployment.dispatchers
    # Conditions, not durations, are waited for: on a busy machine a beat may come late.
    for dispatcher in (first, second):
        wait_until(lambda d=dispatcher: _answers(d), what="a fresh heartbeat on its /readyz", limit=60)
        assert "heartbeat_age_seconds" in dispatcher.readyz().json()
        assert _get(dispatcher.health + "/livez").status_code == 200
    both = {"fresh": 2, "stale": 0}
    wait_until(lambda: _counted_on(deployment.a, both), what="both heartbeats fresh", limit=60)
    # A dispatcher that hangs (stopped, so it cannot beat) turns stale for everyone to see.
    second.process.send_signal(signal.SIGSTOP)
    try:
        one_stale = {"fresh": 1, "stale": 1}
        wait_until(lambda: _counted_on(deployment.b, one_stale), what="one heartbeat stale", limit=60)
        wait_until(lambda: _metrics_count(deployment.a, 1.0, 1.0), what="the metrics to count it", limit=60)
        wait_until(lambda: _answers(first), what="the other dispatcher still ready", limit=60)
    finally:
        second.process.send_signal(signal.SIGCONT)
    wait_until(lambda: _answers(second), what="the dispatcher to beat again", limit=60, every=0.1)
    wait_until(lambda: _counted_on(deployment.a, both), what="both heartbeats fresh again", limit=60)


# --- metrics ------------------------------------------------------------------------------------


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def test_metrics_parse_and_name_no_ids_after_traffic_about_clients(
    deployment: Deployment, uploaded_note: UploadedNote
) -> None:
    assignment_id, phone = _phone(deployment.engine)
    with Session(deployment.engine) as session:
        note = session.get(VoiceNote, uuid.UUID(uploaded_note.id))
        assert note is not None
        client = session.get(Client, note.client_id)
        assert client is not None
        client_id = client.id
        # The client's therapist, signed in: their pages name the client by id in the path.
        _device, therapist_token = device_sessions.start(
            session, kind=SessionKind.therapist, therapist_id=client.therapist_id, days=1
        )
        session.commit()
    entry_id = str(uuid.uuid4())
    for replica in (deployment.a, deployment.b):
        base = replica.url
        assert _get_with(f"{base}/api/v1/voice-notes/{uploaded_note.id}", uploaded_note.phone).status_code == 200
        assert _get_with(f"{base}/api/v1/voice-notes/{uuid.uuid4()}", phone).status_code == 404
        assert _get(f"{base}/no/such/{uuid.uuid4()}").status_code == 404
        page = httpx.get(f"{base}/t/clients/{client_id}", cookies={SESSION_COOKIE: therapist_token}, timeout=30)
        assert page.status_code == 200, page.status_code
    created = httpx.post(
        f"{deployment.a.url}/api/v1/entries",
        json={"id": entry_id, "assignment_id": str(assignment_id), "answers": {"mood": 4}},
        headers=phone,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert _get_with(f"{deployment.b.url}/api/v1/entries/{entry_id}", phone).status_code == 200

    for name, url in [("a", deployment.a.url), ("b", deployment.b.url)] + [
        (f"dispatcher {n}", d.health) for n, d in enumerate(deployment.dispatchers, 1)
    ]:
        scraped = _get(f"{url}/metrics")
        assert scraped.status_code == 200, name
        families = {family.name for family in text_string_to_metric_families(scraped.text)}  # parses
        assert "between_database_up" in families, name
        assert UUID.search(scraped.text) is None, (name, UUID.search(scraped.text))
    for replica in (deployment.a, deployment.b):
        routes = {
            labels["route"]
            for labels, _ in _samples(_get(f"{replica.url}/metrics").text, "between_http_requests_total")
        }
        assert "/api/v1/voice-notes/{note_id}" in routes
        assert "unmatched" in routes


def _get_with(url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=60)


# --- backup and restore -------------------------------------------------------------------------


def _between(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "BETWEEN_ENVIRONMENT": "test"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_backup_taken_while_the_replicas_run_restores_the_voice_notes(
    deployment: Deployment, uploaded_note: UploadedNote, tmp_path: Path
) -> None:
    target = tmp_path / "between.backup"
    made = _between(deployment.database_url, "backup", str(target))
    assert made.returncode == 0, made.stderr
    # Restored into a new, empty database, as after losing the server.
    url, name = _create_pg_database()
    engine = build_engine(url)
    try:
        restored = _between(url, "restore", "--yes", str(target))
        assert restored.returncode == 0, restored.stderr
        with Session(engine) as session:
            assert voice_storage.current().read(session, note_id=uuid.UUID(uploaded_note.id)) == uploaded_note.audio
    finally:
        engine.dispose()
        _drop_pg_database(name)


# --- reminders ----------------------------------------------------------------------------------


def test_two_dispatchers_deliver_each_due_reminder_exactly_once(deployment: Deployment, push_peer: PushPeer) -> None:
    settings = Settings(
        environment=Environment.test,
        database_url=deployment.database_url,
        secret_key="replicas-test-secret-" + "x" * 32,
        push_allow_loopback=True,  # the push peer listens on loopback
    )
    due = utcnow().replace(second=0, microsecond=0)
    devices: dict[uuid.UUID, str] = {}
    with Session(deployment.engine, expire_on_commit=False) as session:
        for _ in range(4):
            client = make_client(session)
            assignment = make_assignment(session, client=client)
            subscription = push_peer.subscribe(deployment.vapid.public_key)
            subscriptions.add_subscription(
                session,
                client=client,
                data={"endpoint": subscription["endpoint"], "keys": subscription["keys"]},
                settings=settings,
            )
            # Due from the moment it is committed: the device must be there by then, in the same commit.
            reminder = reminders.save(
                session,
                client=client,
                assignment_id=assignment.id,
                data=reminders.ReminderInput(times=(due.strftime("%H:%M"),)),
                now=due - timedelta(seconds=1),
            )
            assert reminder.next_due_at == due
            session.commit()
            devices[reminder.id] = subscription["clientHash"]
    occurrences = ReminderOccurrence.__table__  # type: ignore[attr-defined]
    query = select(
        occurrences.c.reminder_id, occurrences.c.status, occurrences.c.attempts, occurrences.c.last_error
    ).where(occurrences.c.reminder_id.in_(list(devices)))

    def delivered() -> list[Any]:
        with deployment.engine.connect() as connection:
            rows = connection.execute(query).all()
        final = len(rows) == len(devices) and all(str(row.status) != OccurrenceStatus.pending.value for row in rows)
        return rows if final else []

    wait_until(lambda: bool(delivered()), what="the due reminders to be delivered", limit=60, every=0.2)
    rows = delivered()
    assert sorted(row.reminder_id for row in rows) == sorted(devices)  # one occurrence per reminder
    assert {str(row.status) for row in rows} == {OccurrenceStatus.sent.value}, rows
    assert all(row.attempts == 1 for row in rows)
    for client_hash in devices.values():
        assert len(push_peer.messages(client_hash)) == 1  # exactly once, by whichever dispatcher claimed it
