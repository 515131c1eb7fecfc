"""Real servers for the burst tests, and a way to send many requests at once.

`ThreadServer` runs the app under uvicorn in a thread of the test process, on the test's
own database (SQLite or PostgreSQL): its argon2 checks are counted by
`app.core.security.verification_count()`. `ProcessServer` runs `between serve` as a child
process, so its memory can be read from /proc.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.web.render import SESSION_COOKIE
from tests.peers import ROOT, free_port, wait_until

FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """Serve `app` on a free 127.0.0.1 port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="the server to start", limit=30)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


class ProcessServer:
    """`between serve --no-dispatcher` as a child process on a free port."""

    def __init__(self, *, database_url: str, data_dir: Path, log: Path, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": database_url,
                "BETWEEN_ENVIRONMENT": "test",
                "BETWEEN_DATA_DIR": str(data_dir),
                "BETWEEN_SECRET_KEY": "burst-test-secret-" + "x" * 32,
                "BETWEEN_BASE_URL": self.url,
            }
        )
        env.update({f"BETWEEN_{key.upper()}": str(value) for key, value in settings.items()})
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "serve",
                    "--no-dispatcher",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, what=f"the server on {self.url} to answer", limit=60, every=0.1)

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
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Browser:
    """Cookies and the CSRF token of one browser, as the app's own pages hand them out."""

    def __init__(self, base_url: str, *, session_token: str | None = None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=120, follow_redirects=False)
        if session_token:
            self.http.cookies.set(SESSION_COOKIE, session_token)
        self.csrf = ""

    def open(self, path: str) -> httpx.Response:
        page = self.http.get(path)
        found = FIELD.search(page.text)
        assert found, f"no form on {path}: {page.status_code}"
        self.csrf = found.group(1)
        return page

    def headers(self) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        return {"Cookie": cookie}

    def close(self) -> None:
        self.http.close()


def burst(base_url: str, requests: list[tuple[str, dict[str, str], dict[str, str]]]) -> list[httpx.Response]:
    """POST every (path, form, headers) at once: each from its own thread and connection,
    all released together. Answers in the order given."""
    gate = threading.Barrier(len(requests))
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)

    with httpx.Client(base_url=base_url, timeout=120, limits=limits) as http:

        def send(item: tuple[str, dict[str, str], dict[str, str]]) -> httpx.Response:
            path, form, headers = item
            gate.wait(timeout=60)
            return http.post(path, data=form, headers=headers)

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(send, requests))


def statuses(answers: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for answer in answers:
        counted[answer.status_code] = counted.get(answer.status_code, 0) + 1
    return counted
