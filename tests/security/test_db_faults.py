"""The database dropping every connection during a burst of entry writes over real HTTP.

A live uvicorn server on PostgreSQL takes entries from several phones at once
while another connection keeps terminating the app's database sessions. Every
write the server acknowledged must be stored, whole; every other answer must be
a 503 (never a 500); the app must answer normally once the fault stops; and a
retry of the writes that were refused stores each one exactly once.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.core.db import build_engine
from app.main import create_app
from app.models import Entry, SessionKind
from app.services import device_sessions
from app.web.render import SESSION_COOKIE
from tests.conftest import PG_URL
from tests.factories import make_assignment, make_client

WRITERS = 4
PER_WRITER = 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(database_url: str, settings) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    assert database_url.startswith("postgresql"), "cutting connections needs PostgreSQL"
    roomy = settings.model_copy(update={"api_write_max": 1_000_000})
    engine = build_engine(database_url)
    app = create_app(roomy, engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", engine
    server.should_exit = True
    thread.join(timeout=30)
    engine.dispose()


def _cut_connections(database: str, stop: threading.Event, kills: list[int]) -> None:
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        while not stop.is_set():
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            ).scalar()
            kills.append(int(killed or 0))
            stop.wait(0.02)  # pacing only: the assertions do not depend on timing
    admin.dispose()


# SQLite is embedded: there is no connection to cut, so this runs on PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_cut_connections_mid_burst_lose_no_acknowledged_write(live_server, session, database_url) -> None:
    base, _engine = live_server
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    _device, token = device_sessions.start(session, kind=SessionKind.client, client_id=client.id, days=1)
    session.commit()
    session.close()

    planned = {
        writer: [
            {
                "id": str(uuid.uuid4()),
                "assignment_id": str(assignment.id),
                "answers": {"mood": (writer + n) % 11, "note": f"writer {writer} entry {n}" + " words" * 20},
            }
            for n in range(PER_WRITER)
        ]
        for writer in range(WRITERS)
    }
    outcomes: dict[str, int] = {}
    page_answers: list[httpx.Response] = []
    problems: list[str] = []
    lock = threading.Lock()

    def write(writer: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for body in planned[writer]:
                try:
                    response = http.post("/api/v1/entries", json=body)
                except httpx.HTTPError as error:
                    with lock:
                        problems.append(f"transport error: {type(error).__name__}")
                    continue
                with lock:
                    outcomes[body["id"]] = response.status_code
                    if response.status_code == 503 and (
                        "retry-after" not in response.headers or "detail" not in response.json()
                    ):
                        problems.append("a 503 without Retry-After or message")

    def browse(stop: threading.Event) -> None:
        with httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, timeout=30) as http:
            while not stop.is_set():
                try:
                    page_answers.append(http.get("/c/entries"))
                except httpx.HTTPError as error:
                    with lock:
                        problems.append(f"page transport error: {type(error).__name__}")

    stop_cutting, stop_browsing = threading.Event(), threading.Event()
    kills: list[int] = []
    cutter = threading.Thread(target=_cut_connections, args=(make_url(database_url).database, stop_cutting, kills))
    browser = threading.Thread(target=browse, args=(stop_browsing,))
    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    cutter.start()
    browser.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop_cutting.set()
    cutter.join()
    stop_browsing.set()
    browser.join()

    assert problems == []
    assert sum(kills) > 0, "the fault never happened"
    statuses = set(outcomes.values())
    assert statuses <= {200, 201, 503}, statuses
    assert 503 in statuses, "no write met a cut connection: the test proved nothing"
    assert {response.status_code for response in page_answers} <= {200, 503}
    for response in page_answers:
        if response.status_code == 503:
            assert "text/html" in response.headers["content-type"]
            assert "briefly unavailable" in response.text

    # Back to normal at once: the pool replaces dead connections before using them.
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/api/v1/entries", params={"limit": 1}).status_code == 200

        sent = {body["id"]: body for bodies in planned.values() for body in bodies}
        with Session(build_engine(database_url)) as check:
            stored = {str(entry.id): entry for entry in check.exec(select(Entry))}
        acknowledged = [entry_id for entry_id, status in outcomes.items() if status in (200, 201)]
        missing = [entry_id for entry_id in acknowledged if entry_id not in stored]
        assert missing == [], f"{len(missing)} acknowledged writes were lost"
        for entry_id, entry in stored.items():
            assert entry.answers == sent[entry_id]["answers"], "a stored entry is not whole"

        # The phones retry what was refused: each entry ends up stored exactly once.
        for entry_id, body in sent.items():
            if outcomes.get(entry_id) not in (200, 201):
                assert http.post("/api/v1/entries", json=body).status_code in (200, 201)
    with Session(build_engine(database_url)) as check:
        final = {str(entry.id): entry.answers for entry in check.exec(select(Entry))}
    assert final == {entry_id: body["answers"] for entry_id, body in sent.items()}
