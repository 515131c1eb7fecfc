"""Peers for the dispatcher tests: a fault-injecting loopback push endpoint, and helpers that
build clients with reminders and devices. The npm web-push-testing peer (`push_peer`) is
shared with other test folders and lives in tests/peers.py and tests/conftest.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher, TickStats
from app.dispatch.vapid import VapidKeys
from app.models import Assignment, Client, Reminder
from app.services import reminders
from tests import aio
from tests.factories import make_assignment, make_client
from tests.peers import ROOT, PushPeer, free_port, wait_until

# Re-exported: the dispatcher tests import these from here.
__all__ = ["ROOT", "PushPeer", "free_port", "wait_until"]


@pytest.fixture
def dispatch_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "vapid_subject": "mailto:tests@example.org",
            "push_timeout_seconds": 2.0,
            "push_retry_base_seconds": 10.0,
            "reminder_grace_seconds": 1800,
            "dispatch_lease_seconds": 60,
            # The push services of these tests (the npm peer, the sink below) listen on loopback,
            # which the push endpoint rules refuse unless told otherwise.
            "push_allow_loopback": True,
        }
    )


@pytest.fixture
def vapid_keys(dispatch_settings: Settings) -> VapidKeys:
    return VapidKeys.load(dispatch_settings)


@pytest.fixture
def dispatcher(engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys) -> Dispatcher:
    return Dispatcher(engine=engine, settings=dispatch_settings, keys=vapid_keys)


def dispatch(dispatcher: Dispatcher, now: datetime) -> TickStats:
    """One dispatcher round at the clock `now`, on a fresh event loop."""

    async def round_() -> TickStats:
        try:
            return await dispatcher.run_once(now=now)
        finally:
            await dispatcher.aclose()

    return aio.run(round_())


# --- a loopback push endpoint that does what each test tells it ----------------------------------


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 request with a sized body: (request line, lower-cased headers, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


@dataclass
class Sink:
    """A minimal HTTP push endpoint. `script` maps a path to a list of (status, headers, delay)
    answers, used in order (the last one repeats); unscripted paths answer 201 at once."""

    port: int = 0
    script: dict[str, list[tuple[int, dict[str, str], float]]] = field(default_factory=dict)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    topics: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for item in self.received if item[0] == path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self.lock:
            self.connections += 1
        try:
            while True:
                request_line, headers, body = await read_request(reader)
                _method, path, _version = request_line.split(" ", 2)
                with self.lock:
                    index = sum(1 for item in self.received if item[0] == path)
                    self.received.append((path, headers, body))
                    if "topic" in headers:
                        self.topics[headers["topic"]] += 1
                answers = self.script.get(path) or [(201, {}, 0.0)]
                status, extra, delay = answers[min(index, len(answers) - 1)]
                if delay:
                    await asyncio.sleep(delay)
                reply = f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n"
                reply += "".join(f"{name}: {value}\r\n" for name, value in extra.items())
                writer.write((reply + "\r\n").encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    state = Sink()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def serve() -> None:
        server = await asyncio.start_server(state._handle, "127.0.0.1", 0)
        state.port = server.sockets[0].getsockname()[1]
        started.set()
        async with server:
            with contextlib.suppress(asyncio.CancelledError):
                await server.serve_forever()
        # Let the cancelled connection handlers (one may be sleeping before its answer)
        # finish while the loop still runs, so none is finalized after it closed.
        handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        await asyncio.gather(*handlers, return_exceptions=True)

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    started.wait(10)
    yield state
    for task in asyncio.all_tasks(loop):
        loop.call_soon_threadsafe(task.cancel)
    thread.join(5)
    if not thread.is_alive():
        loop.close()


# --- data ----------------------------------------------------------------------------------------


def device_keys() -> tuple[str, str]:
    """A browser-like subscription key pair (p256dh, auth), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    encode = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return encode(raw), encode(os.urandom(16))


def subscription_json(endpoint: str, keys: tuple[str, str] | None = None) -> dict[str, Any]:
    p256dh, auth = keys or device_keys()
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": p256dh, "auth": auth}}


def client_with_reminder(
    session: Session,
    *,
    timezone: str = "UTC",
    times: tuple[str, ...] = ("09:00",),
    now: datetime,
    **options: Any,
) -> tuple[Client, Assignment, Reminder]:
    client = make_client(session, timezone=timezone)
    assignment = make_assignment(session, client=client)
    reminder = reminders.save(
        session,
        client=client,
        assignment_id=assignment.id,
        data=reminders.ReminderInput(times=times, **options),
        now=now,
    )
    session.commit()
    return client, assignment, reminder


def due_now(reminder: Reminder) -> datetime:
    """A clock a few seconds after the reminder's next due instant."""
    assert reminder.next_due_at is not None
    return reminder.next_due_at + timedelta(seconds=5)
