"""Web Push delivery (RFC 8030) through pywebpush: the message encrypted by pywebpush (aes128gcm,
RFC 8291, with http_ece), the VAPID header by py-vapid (app/dispatch/vapid.py), the POST by aiohttp.

One `PushSender` holds one aiohttp session for the life of its dispatcher: connections are kept
alive per push-service origin and reused across messages, every request has a total timeout,
and proxies come from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`: aiohttp's own
`trust_env` rules, looked up once per origin; see `_Poster`). See docs/benchmarks.md for what a
message costs.

Every endpoint is checked against the push endpoint rules before it is sent to, and its host's
addresses again whenever a connection is opened (`CheckedResolver`, app/services/push_endpoints.py);
a refused one is a failed delivery. Redirects are not followed: a 3xx is a refusal.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import get_env_proxy_for_url
from py_vapid import VapidException
from pywebpush import WebPusher, WebPushException
from yarl import URL

from app.core.push_rules import InvalidSubscriptionKeys, check_keys
from app.dispatch.vapid import VapidSigner
from app.services.push_endpoints import (
    MALFORMED,
    Endpoint,
    EndpointRules,
    RefusedEndpoint,
    has_unsafe_characters,
    origin_of,
    parse_address,
)

__all__ = ["MAX_PAYLOAD", "InvalidSubscriptionKeys", "check_keys"]

# Push services refuse bodies over 4096 octets: one aes128gcm record, less its 86-octet header,
# 16-octet tag and one padding delimiter (the same bound as app/dispatch/payload.py's MAX_BYTES).
MAX_PAYLOAD = 4096 - 86 - 16 - 1
URGENCIES = ("very-low", "low", "normal", "high")
# RFC 8030 §5.4: at most 32 characters of the URL- and filename-safe base64 alphabet.
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Push services close idle connections after a minute or more; ours retire a bit earlier, so
# few requests are written onto a connection already closed at the far end.
KEEPALIVE_SECONDS = 30.0
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY")


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


def push_headers(*, authorization: str, urgency: str, topic: str | None) -> dict[str, str]:
    """The headers pywebpush does not set itself (it adds TTL and Content-Encoding). Raises
    ValueError for a value that could smuggle a header or that a push service would refuse."""
    if urgency not in URGENCIES:
        raise ValueError("unknown urgency")
    headers = {"Urgency": urgency, "Authorization": authorization}
    if topic is not None:
        if not _TOPIC.fullmatch(topic):
            raise ValueError("a topic is 1 to 32 base64url characters")
        # Same topic: a push service replaces a still-undelivered copy instead of adding one.
        headers["Topic"] = topic
    return headers


def proxy_hosts(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The proxies' host names from the environment (what aiohttp's `trust_env` uses)."""
    hosts = set()
    for name in _PROXY_VARIABLES:
        host = urlsplit(environ.get(name, "")).hostname
        if host:
            hosts.add(host.rstrip(".").lower())
    return frozenset(hosts)


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver for push connections: a host's addresses are looked up once and every
    one of them checked (app/services/push_endpoints.py) before aiohttp connects to one, with the
    host name kept for TLS and the Host header, so a second DNS answer cannot send the request
    elsewhere. Addresses written in the URL never reach here: `EndpointRules.check_url` checks them.

    A proxy from the environment is resolved as the operator configured it (it may well be on a
    private network); through a proxy, the proxy resolves the push service's name."""

    def __init__(self, rules: EndpointRules, *, proxies: frozenset[str] = frozenset()) -> None:
        self.rules = rules
        self.proxies = proxies
        self.plain_http: set[tuple[str, int]] = set()  # loopback test services over http

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        if name in self.proxies:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = [str(info[4][0]) for info in infos]
        else:
            scheme = "http" if (name, port) in self.plain_http else "https"
            addresses = await self.rules.resolve_for_connecting(scheme, host, port)
        results: list[ResolveResult] = []
        for address in addresses:
            ip = parse_address(address)
            family = socket.AF_INET6 if ip is not None and ip.version == 6 else socket.AF_INET
            results.append({"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0})
        return results

    async def close(self) -> None:
        return None


class _Poster:
    """The part of an aiohttp session WebPusher.send_async uses (`post`), wrapped, since
    pywebpush passes no options of its own:

    - redirects are never followed: a push service's redirect is not an address to trust;
    - the proxy is the environment's, by aiohttp's own rules (`get_env_proxy_for_url`, what
      `trust_env=True` does), looked up once per origin: `trust_env` looks it up, and reads
      ~/.netrc, in a thread for every request, which cost more CPU than the request itself."""

    def __init__(self, session: aiohttp.ClientSession, proxies: dict[str, tuple[Any, Any]]) -> None:
        self.session = session
        self.proxies = proxies

    def post(self, url: str, **options: Any) -> Any:
        origin = origin_of(url)  # a parsed URL per message cost more than the rest of this wrapper
        proxy = self.proxies.get(origin)
        if proxy is None:
            try:
                proxy = get_env_proxy_for_url(URL(url))
            except LookupError:  # no proxy for this origin
                proxy = (None, None)
            if len(self.proxies) >= 1024:  # one entry per push service: a handful in practice
                self.proxies.clear()
            self.proxies[origin] = proxy
        return self.session.post(url, allow_redirects=False, proxy=proxy[0], proxy_auth=proxy[1], **options)


class PushSender:
    def __init__(
        self,
        signer: VapidSigner,
        *,
        timeout: float = 10.0,
        concurrency: int = 200,
        rules: EndpointRules | None = None,
    ) -> None:
        self.signer = signer
        self.rules = rules or EndpointRules()
        # a push service's origin -> its checked URL, or why the rules refuse it
        self._checked: dict[str, Endpoint | RefusedEndpoint] = {}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.concurrency = concurrency
        self.semaphore = asyncio.Semaphore(concurrency)
        self.resolver = CheckedResolver(self.rules, proxies=proxy_hosts())
        self._session: aiohttp.ClientSession | None = None
        self._poster: _Poster | None = None
        self._proxies: dict[str, tuple[Any, Any]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        """The one session of this sender, made on first use inside the running event loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency,
                keepalive_timeout=KEEPALIVE_SECONDS,
                resolver=self.resolver,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),  # a push service has no business setting cookies
            )
            self._poster = _Poster(self._session, self._proxies)
        return self._session

    @property
    def poster(self) -> _Poster:
        """What WebPusher posts through: the session, without redirects, with the proxy."""
        session = self.session
        if self._poster is None or self._poster.session is not session:
            self._poster = _Poster(session, self._proxies)
        return self._poster

    def check(self, endpoint: str) -> Endpoint | RefusedEndpoint:
        """The endpoint's URL checked against the rules (scheme, host, allow-list): judged once
        per push service (`EndpointRules.check_origin`), remembered, with its characters checked
        each time (every device has an endpoint of its own)."""
        if has_unsafe_characters(endpoint):
            return RefusedEndpoint(MALFORMED)
        origin = origin_of(endpoint)
        checked = self._checked.get(origin)
        if checked is None:
            try:
                checked = self.rules.check_origin(origin)
            except RefusedEndpoint as refused:
                checked = refused
            if len(self._checked) >= 4096:  # a handful of push services in practice: bounded anyway
                self._checked.clear()
            self._checked[origin] = checked
        return checked

    def refusal(self, endpoint: str) -> str | None:
        """Why the endpoint may not be sent to (its URL: scheme, host, allow-list), or None."""
        checked = self.check(endpoint)
        return checked.reason if isinstance(checked, RefusedEndpoint) else None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, target: Target, payload: bytes, *, ttl: int, urgency: str = "high", topic: str | None = None
    ) -> PushResult:
        if len(payload) > MAX_PAYLOAD:
            return PushResult(Outcome.failed, error="too_large")
        checked = self.check(target.endpoint)
        if isinstance(checked, RefusedEndpoint):  # stored before the rules (or the settings) were what they are
            return PushResult(Outcome.failed, error=f"refused_{checked.reason}")
        if checked.scheme == "http":
            self.resolver.plain_http.add((checked.host, checked.port))
        try:
            check_keys(target.p256dh, target.auth)
        except InvalidSubscriptionKeys:
            return PushResult(Outcome.failed, error="bad_keys")
        try:
            authorization = self.signer.authorization(target.endpoint)
        except VapidException:  # py-vapid takes no audience it cannot parse (an IPv6 address)
            return PushResult(Outcome.failed, error="vapid_audience")
        try:
            headers = push_headers(authorization=authorization, urgency=urgency, topic=topic)
        except ValueError:
            return PushResult(Outcome.failed, error="bad_header")
        subscription = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        async with self.semaphore:
            pusher = WebPusher(subscription, aiohttp_session=cast(aiohttp.ClientSession, self.poster))
            try:
                response = await pusher.send_async(
                    payload,
                    headers,
                    ttl=max(0, int(ttl)),
                    content_encoding="aes128gcm",
                    timeout=self.timeout,
                )
            except RefusedEndpoint as refused:  # the host resolves to a refused address now
                return PushResult(Outcome.failed, error=f"refused_{refused.reason}")
            except TimeoutError:
                return PushResult(Outcome.retry, error="timeout")
            except aiohttp.InvalidURL:  # not an http(s) URL: stored before the rules were checked
                return PushResult(Outcome.failed, error="bad_endpoint")
            except (aiohttp.ClientError, OSError, UnicodeDecodeError):
                return PushResult(Outcome.retry, error="network")
            except (WebPushException, ValueError):  # keys the encryption refuses
                return PushResult(Outcome.failed, error="bad_keys")
        assert isinstance(response, aiohttp.ClientResponse)
        return classify(response.status, response.headers.get("Retry-After"))


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
