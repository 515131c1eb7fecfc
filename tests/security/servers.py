"""Real servers for the burst tests, and a way to send many requests at once.

`thread_server` runs the app under uvicorn in a thread of the test process, on the test's
own database (SQLite or PostgreSQL): its argon2 checks are counted by
`app.core.security.verification_count()`. `between serve` as a child process, whose memory can
be read from /proc, is `tests.processes.ProcessServer`.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from app.web.render import SESSION_COOKIE
from tests.peers import wait_until

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
