"""Real peers shared by several test folders: the npm web-push-testing push service, and Redis.

The `push_peer` fixture (tests/conftest.py) starts one per run; the dispatcher tests, the
reminder route tests and the browser test all send to it. Redis runs on its own (127.0.0.1:6379,
or TEST_REDIS_URL); a test takes a key prefix of its own (`own_redis_keys`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PUSH_PEER = ROOT / "node_modules" / "web-push-testing" / "src" / "bin" / "server.js"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, *, what: str, limit: float = 60.0, every: float = 0.05) -> None:
    """Poll until `predicate()` is true; fails (with `what`) only if it never becomes true."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(every)


@dataclass
class PushPeer:
    url: str

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/subscribe",
            json={"userVisibleOnly": "true", "applicationServerKey": application_server_key},
        )
        response.raise_for_status()
        return dict(response.json()["data"])

    def messages(self, client_hash: str) -> list[str]:
        response = httpx.post(f"{self.url}/get-notifications", json={"clientHash": client_hash})
        response.raise_for_status()
        return list(response.json()["data"]["messages"])

    def expire(self, client_hash: str) -> None:
        httpx.post(f"{self.url}/expire-subscription/{client_hash}").raise_for_status()


def run_push_peer(log: Path) -> Iterator[PushPeer]:
    node = shutil.which("node")
    if node is None or not PUSH_PEER.exists():
        pytest.fail("the web-push-testing peer needs node and `npm ci` (node_modules/web-push-testing)")
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen([node, str(PUSH_PEER), str(port)], stdout=output, stderr=subprocess.STDOUT)
    peer = PushPeer(f"http://localhost:{port}")

    def ready() -> bool:
        try:
            return httpx.post(f"{peer.url}/status").status_code == 200
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            return False

    try:
        wait_until(ready, what="web-push-testing to listen", limit=30)
        yield peer
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def own_redis_keys() -> Iterator[str]:
    """A key prefix of this test's own in the Redis at REDIS_URL; only its keys are removed
    afterwards (other tests and runs share that Redis). Skips without Redis, fails in CI."""
    import redis

    from tests.conftest import IN_CI

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as error:
        if IN_CI:
            pytest.fail(f"Redis must be running for CI at {REDIS_URL}: {error}")
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    prefix = f"between-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
