"""Web Push delivery: the HTTP send (RFC 8030) of aes128gcm-encrypted messages (RFC 8291).

One `PushSender` holds one pooled HTTP client (keep-alive connections reused
across messages, app/dispatch/http1.py), one VAPID signer (one JWT per push-service
origin) and one `Encryptor` (messages are encrypted in worker processes,
app/dispatch/encryption.py). See docs/benchmarks.md for what each costs per message.

Every endpoint is checked against the push endpoint rules before it is sent to, and its host's
addresses again whenever a connection is opened (app/services/push_endpoints.py); a refused one
is a failed delivery. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.core.push_rules import InvalidSubscriptionKeys, check_keys
from app.dispatch.aes128gcm import MAX_PAYLOAD, encrypt
from app.dispatch.encryption import Encryptor
from app.dispatch.http1 import Http1Client, ResponseError
from app.dispatch.vapid import VapidSigner
from app.services.push_endpoints import EndpointRules, RefusedEndpoint

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


class PushSender:
    def __init__(
        self,
        signer: VapidSigner,
        *,
        timeout: float = 10.0,
        concurrency: int = 200,
        encryptor: Encryptor | None = None,
        rules: EndpointRules | None = None,
    ) -> None:
        self.signer = signer
        self.rules = rules or EndpointRules()
        self._refused: dict[str, str | None] = {}  # endpoint -> why the rules refuse it (None: they do not)
        self.timeout = timeout
        self.concurrency = concurrency
        self.semaphore = asyncio.Semaphore(concurrency)
        self.encryptor = encryptor or Encryptor(0)
        self._client: Http1Client | None = None

    @property
    def client(self) -> Http1Client:
        if self._client is None:
            self._client = Http1Client(timeout=self.timeout, resolve=self.rules.resolve_for_connecting)
        return self._client

    def refusal(self, endpoint: str) -> str | None:
        """Why the endpoint may not be sent to (its URL: scheme, host, allow-list), or None."""
        if endpoint not in self._refused:
            try:
                self.rules.check_url(endpoint)
                reason = None
            except RefusedEndpoint as refused:
                reason = refused.reason
            if len(self._refused) >= 65536:  # one entry per device: bounded, rebuilt as it is used
                self._refused.clear()
            self._refused[endpoint] = reason
        return self._refused[endpoint]

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
        refusal = self.refusal(target.endpoint)
        if refusal is not None:  # stored before the rules (or the settings) were what they are
            return PushResult(Outcome.failed, error=f"refused_{refusal}")
        body = await self.encryptor.encrypt(payload, p256dh=target.p256dh, auth=target.auth)
        if body is None:
            return PushResult(Outcome.failed, error="bad_keys")
        headers = self.headers(target, ttl=ttl, urgency=urgency, topic=topic)
        async with self.semaphore:
            try:
                response = await self.client.post(target.endpoint, body, headers)
            except RefusedEndpoint as refused:  # the host resolves to a refused address now
                return PushResult(Outcome.failed, error=f"refused_{refused.reason}")
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
