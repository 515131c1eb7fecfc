"""Web Push delivery: the HTTP send (RFC 8030) of aes128gcm-encrypted messages (RFC 8291).

One `PushSender` holds one pooled HTTP client (keep-alive connections reused
across messages, app/dispatch/http1.py), one VAPID signer (one JWT per push-service
origin) and one `Encryptor` (messages are encrypted in worker processes,
app/dispatch/encryption.py). See docs/benchmarks.md for what each costs per message.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from app.dispatch.aes128gcm import MAX_PAYLOAD, InvalidSubscriptionKeys, check_keys, encrypt
from app.dispatch.encryption import Encryptor
from app.dispatch.http1 import Http1Client, ResponseError
from app.dispatch.vapid import VapidSigner

__all__ = ["MAX_PAYLOAD", "InvalidSubscriptionKeys", "check_keys", "encrypt"]


class Outcome(StrEnum):
    delivered = "delivered"
    gone = "gone"  # 404/410: the subscription no longer exists
    retry = "retry"  # 429, 5xx, timeouts, network errors
    failed = "failed"  # any other refusal: retrying would not help


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Target:
    endpoint: str
    p256dh: str
    auth: str


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def endpoint_allowed(endpoint: str, *, allow_loopback_http: bool) -> bool:
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme == "http" and allow_loopback_http:
        return (parts.hostname or "") in ("localhost", "127.0.0.1", "::1")
    return False


class PushSender:
    def __init__(
        self,
        signer: VapidSigner,
        *,
        timeout: float = 10.0,
        concurrency: int = 200,
        encryptor: Encryptor | None = None,
    ) -> None:
        self.signer = signer
        self.timeout = timeout
        self.concurrency = concurrency
        self.semaphore = asyncio.Semaphore(concurrency)
        self.encryptor = encryptor or Encryptor(0)
        self._client: Http1Client | None = None

    @property
    def client(self) -> Http1Client:
        if self._client is None:
            self._client = Http1Client(timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        self.encryptor.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def headers(self, target: Target, *, ttl: int, urgency: str = "high", topic: str | None = None) -> dict[str, str]:
        headers = {
            "TTL": str(max(0, int(ttl))),
            "Urgency": urgency,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.signer.authorization(target.endpoint),
        }
        if topic:
            # Same topic: a push service replaces a still-undelivered copy instead of adding one.
            headers["Topic"] = topic
        return headers

    async def send(
        self, target: Target, payload: bytes, *, ttl: int, urgency: str = "high", topic: str | None = None
    ) -> PushResult:
        if len(payload) > MAX_PAYLOAD:
            return PushResult(Outcome.failed, error="too_large")
        body = await self.encryptor.encrypt(payload, p256dh=target.p256dh, auth=target.auth)
        if body is None:
            return PushResult(Outcome.failed, error="bad_keys")
        headers = self.headers(target, ttl=ttl, urgency=urgency, topic=topic)
        async with self.semaphore:
            try:
                response = await self.client.post(target.endpoint, body, headers)
            except TimeoutError:
                return PushResult(Outcome.retry, error="timeout")
            except (ResponseError, OSError):
                return PushResult(Outcome.retry, error="network")
            except ValueError:  # not an http(s) URL: stored before the rules were checked
                return PushResult(Outcome.failed, error="bad_endpoint")
        return classify(response.status, response.retry_after)


def classify(status: int, retry_after: str | None = None) -> PushResult:
    if 200 <= status < 300:
        return PushResult(Outcome.delivered, status)
    if status in (404, 410):
        return PushResult(Outcome.gone, status, error=f"http_{status}")
    if status == 429 or status >= 500:
        return PushResult(
            Outcome.retry,
            status,
            error=f"http_{status}",
            retry_after=retry_after_seconds(retry_after),
        )
    return PushResult(Outcome.failed, status, error=f"http_{status}")
