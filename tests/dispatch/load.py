"""Bulk data and a fast loopback push sink for the multi-process tests and the benchmark."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import uuid
from collections import Counter
from datetime import datetime
from datetime import time as clock
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Assignment, Client, PushSubscription, Reminder
from tests import aio
from tests.dispatch.conftest import device_keys
from tests.factories import make_template, make_therapist


def seed_due_reminders(engine: Engine, *, count: int, due_at: datetime, sink_base: str) -> list[uuid.UUID]:
    """`count` clients, each with one assignment, one reminder due at `due_at` and one device.

    `due_at` is rounded down to its minute: reminders fall due on whole minutes."""
    due_at = due_at.replace(second=0, microsecond=0)
    with Session(engine, expire_on_commit=False) as session:
        therapist = make_therapist(session)
        template = make_template(session, therapist=therapist)
    p256dh, auth = device_keys()
    local = due_at.strftime("%H:%M")
    clients, assignments, reminders, devices = [], [], [], []
    for index in range(count):
        client_id, assignment_id, reminder_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        clients.append(
            {"id": client_id, "display_name": f"Load {index}", "timezone": "UTC", "day_boundary": clock(0, 0),
             "therapist_id": therapist.id, "created_at": due_at, "reminders_paused": False,
             "email_fallback": False, "lock_screen_detail": False, "locale": None, "email": None, "pin_hash": None}
        )  # fmt: skip
        assignments.append(
            {"id": assignment_id, "client_id": client_id, "therapist_id": therapist.id, "template_id": template.id,
             "instructions": "", "frequency": "daily", "times_per_day": 1, "weekdays": [1, 2, 3, 4, 5, 6, 7],
             "proposed_times": [], "created_at": due_at, "ended_at": None}
        )  # fmt: skip
        reminders.append(
            {"id": reminder_id, "client_id": client_id, "assignment_id": assignment_id, "times": [local],
             "weekdays": [1, 2, 3, 4, 5, 6, 7], "quiet_start": None, "quiet_end": None, "random_start": None,
             "random_end": None, "random_count": 0, "random_min_gap_minutes": 30, "paused": False,
             "snoozed_until": None, "next_due_at": due_at, "created_at": due_at, "updated_at": due_at}
        )  # fmt: skip
        devices.append(
            {"id": uuid.uuid4(), "client_id": client_id, "endpoint": f"{sink_base}/push/{index}", "p256dh": p256dh,
             "auth": auth, "user_agent": "load", "created_at": due_at, "last_success_at": None,
             "last_failure_at": None, "last_error": None, "expired_at": None, "failures": 0}
        )  # fmt: skip
    with engine.begin() as connection:
        for model, rows in (
            (Client, clients),
            (Assignment, assignments),
            (Reminder, reminders),
            (PushSubscription, devices),
        ):
            for start in range(0, len(rows), 1000):
                connection.execute(insert(model.__table__), rows[start : start + 1000])  # type: ignore[attr-defined]
    return [row["id"] for row in reminders]


class _SinkProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, just enough for push requests: count, timestamp, answer 201."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            topic = ""
            for line in head.split("\r\n")[1:]:
                name, _sep, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    length = int(value.strip())
                elif lowered == "topic":
                    topic = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith("GET /count"):
                body = b"%d" % len(self.state["topics"])
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                continue
            if head.startswith("GET /stats"):
                state = self.state
                body = json.dumps(
                    {"topics": state["topics"], "first": state["first"], "last": state["last"], "times": state["times"]}
                ).encode()
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                continue
            if topic:  # a dispatcher's message (the naive baseline's carry no Topic)
                now = time.time()
                self.state["topics"][topic] = self.state["topics"].get(topic, 0) + 1
                self.state["times"].append(now)
                self.state["first"] = self.state["first"] or now
                self.state["last"] = now
            delay = self.state["delay"]
            if delay:
                asyncio.get_running_loop().call_later(delay, self._reply)
            else:
                self._reply()

    def _reply(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n")


def _serve(port: int, delay: float, ready: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    state: dict[str, Any] = {"topics": {}, "times": [], "first": 0.0, "last": 0.0, "delay": delay}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SinkProtocol(state), "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    aio.run(main())


class SinkProcess:
    """The fast sink in its own process (it must not compete with the test for the GIL)."""

    def __init__(self, port: int, *, delay: float = 0.0) -> None:
        self.port = port
        ready = multiprocessing.get_context("spawn").Event()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(port, delay, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(30):
            raise RuntimeError("push sink did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(f"{self.base}/stats", timeout=30).json())

    def count(self) -> int:
        """Distinct messages received so far: cheap enough to poll while a burst is measured."""
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/count")
            return int(connection.getresponse().read())
        finally:
            connection.close()

    def topics(self) -> Counter[str]:
        return Counter(self.stats()["topics"])

    def stop(self) -> None:
        self.process.kill()
        self.process.join(10)


def dispatcher_env(database_url: str, data_dir: str, **overrides: Any) -> dict[str, str]:
    from app.dispatch.vapid import VapidKeys

    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "BETWEEN_ENVIRONMENT": "test",
            "BETWEEN_DATA_DIR": data_dir,
            "BETWEEN_SECRET_KEY": "load-test-secret-" + "x" * 32,
            "BETWEEN_BASE_URL": "http://testserver",
            "BETWEEN_VAPID_PRIVATE_KEY": VapidKeys.generate().private_key_b64,
            "BETWEEN_VAPID_SUBJECT": "mailto:tests@example.org",
            "BETWEEN_DISPATCH_TICK_SECONDS": "0.2",
            "BETWEEN_PUSH_ALLOW_LOOPBACK": "true",  # the sink listens on loopback
        }
    )
    env.update({f"BETWEEN_{key.upper()}": str(value) for key, value in overrides.items()})
    return env
