"""A real Between server for real browsers: uvicorn in a thread, on a free 127.0.0.1 port,
with its own migrated SQLite database. Tests (and tools/pwa_assets.py) make people and
records through the same services and factories as the other tests, on the same database,
and sign a browser context in by giving it the cookies a sign-in would set.

127.0.0.1 is a secure context for Chromium, so service workers, IndexedDB, Background
Sync and the microphone work over plain http.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from sqlmodel import Session, func, select

from app.core import migrate
from app.core.db import build_engine
from app.core.security import csrf_token
from app.core.settings import Environment, Settings
from app.models import Client, Entry, SessionKind, Therapist
from app.models.types import utcnow
from app.services import device_sessions, library
from app.web.render import CSRF_COOKIE, SESSION_COOKIE

CHROMIUM = os.environ.get("BETWEEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A microphone that plays a tone and never asks: voice notes can be recorded headless.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
PHONE = {
    "viewport": {"width": 360, "height": 780},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    ),
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


class LiveServer:
    """Start with `LiveServer.start(folder)`; `url` is its base address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.database_url = f"sqlite:///{folder / 'live.db'}"
        self.engine = build_engine(self.database_url)
        migrate.upgrade(self.engine)
        with Session(self.engine) as session:
            library.sync(session)
            session.commit()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            environment=Environment.test,
            database_url=self.database_url,
            data_dir=folder / "data",
            secret_key="live-server-secret-" + "x" * 32,
            base_url=self.url,
            host="127.0.0.1",
            port=self.port,
            # The push service the browser test subscribes at (npm web-push-testing) is on loopback.
            push_allow_loopback=True,
        )
        from app.main import create_app

        self.app = create_app(self.settings, engine=self.engine)
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @classmethod
    def start(cls, folder: Path) -> LiveServer:
        server = cls(folder)
        server._thread.start()
        deadline = time.monotonic() + 30
        while not server._server.started:
            if not server._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return server

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def sign_in(self, context: Any, who: Therapist | Client) -> str:
        """Give a Playwright browser context a real device session for `who`; returns its CSRF token."""
        with self.session() as session:
            if isinstance(who, Therapist):
                _device, token = device_sessions.start(
                    session, kind=SessionKind.therapist, therapist_id=who.id, days=1, label="browser test"
                )
            else:
                device, token = device_sessions.start(
                    session, kind=SessionKind.client, client_id=who.id, days=1, label="browser test"
                )
                device.confirmed_at = utcnow()  # the client's own phone (see device_trust)
            session.commit()
        csrf = csrf_token(self.settings.secret_key, session=token)  # bound to the session, as the app makes it
        context.add_cookies(
            [
                {"name": SESSION_COOKIE, "value": token, "url": self.url, "httpOnly": True, "sameSite": "Lax"},
                {"name": CSRF_COOKIE, "value": csrf, "url": self.url, "httpOnly": True, "sameSite": "Lax"},
            ]
        )
        return csrf

    def entry_count(self, client: Client) -> int:
        with self.session() as session:
            statement = select(func.count()).select_from(Entry).where(Entry.client_id == client.id)
            return int(session.exec(statement).one())


def launch_options(*, headless: bool = True) -> dict[str, Any]:
    return {"executable_path": CHROMIUM, "headless": headless, "args": list(CHROMIUM_ARGS)}


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()
