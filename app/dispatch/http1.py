"""A lean HTTP/1.1 client for push services: POST over kept-alive connections, nothing else.

Sending a push message is one small POST whose answer is a status line and a few
headers. A general-purpose client (aiohttp, httpx) spends several times the CPU of
the request itself on features this never uses (cookies, redirects, proxies,
streaming bodies, tracing hooks); in a burst of reminders that overhead, not the
network, decides how many go out per second. This client keeps what delivery
needs: connections pooled per origin and reused, TLS with certificate checks,
responses parsed by httptools (the C parser uvicorn uses) whether sized or
chunked, `Connection: close` honoured, and a total timeout per request.

Redirects are never followed: a 3xx is an answer like any other (the caller counts it as a
refusal). With a `resolve` hook the client does not let the event loop look the host up: the
hook returns the (checked) addresses and the connection goes to one of them, with the host
name kept for TLS (SNI and certificate) and the Host header, so a second DNS answer cannot
send it elsewhere (app/services/push_endpoints.py).

A kept-alive connection the push service closed while it sat idle fails before
any answer arrives; such a request is sent once more on a new connection. (A push
service that did get it and then closed replaces it: every message carries a Topic.)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# Push services close idle connections after a minute or more; retiring ours a bit
# earlier avoids most writes onto a connection already closed at the far end.
IDLE_SECONDS = 30.0
MAX_IDLE_PER_ORIGIN = 256


# (scheme, host, port) -> the addresses to connect to, in order of preference.
Resolver = Callable[[str, str, int], Awaitable[list[str]]]


class ResponseError(ConnectionError):
    """The connection failed or the answer could not be parsed."""


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: str | None = None


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int


_parsed: dict[str, tuple[Origin, bytes, bytes]] = {}


def parse_endpoint(endpoint: str) -> tuple[Origin, bytes, bytes]:
    """The origin, the request target and the Host header value of an http(s) URL."""
    parsed = _parsed.get(endpoint)
    if parsed is None:
        parsed = _parse(endpoint)
        if len(_parsed) >= 65536:  # one entry per device: bounded, and rebuilt as it is used
            _parsed.clear()
        _parsed[endpoint] = parsed
    return parsed


def _parse(endpoint: str) -> tuple[Origin, bytes, bytes]:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("push endpoints are http(s) URLs")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    host = parts.hostname
    authority = f"[{host}]" if ":" in host else host
    if port != default:
        authority = f"{authority}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.scheme, host, port), target.encode("ascii"), authority.encode("idna")


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.status = 0
        self.retry_after: str | None = None
        self.keep_alive = True
        self.answered = False  # any byte of the current answer has arrived
        self.closed = False
        self.idle_since = time.monotonic()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ResponseError("unexpected protocol upgrade"))
        except httptools.HttpParserError as error:
            self._fail(ResponseError(f"unreadable answer: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done() and self.status and self.answered:
            # An answer without a length ends with the connection.
            self.keep_alive = False
            self.waiter.set_result(Response(self.status, self.retry_after))
        self._fail(ResponseError("connection closed"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Response(self.status, self.retry_after))

    # client side
    def send(self, request: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.status, self.retry_after, self.answered = 0, None, False
        self.parser = httptools.HttpResponseParser(self)
        self.transport.write(request)
        return self.waiter

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return not self.closed and self.keep_alive and time.monotonic() - self.idle_since < IDLE_SECONDS


class Http1Client:
    """Pooled keep-alive connections per origin. Concurrency is bounded by the caller."""

    def __init__(
        self, *, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None, resolve: Resolver | None = None
    ) -> None:
        self.timeout = timeout
        self._ssl = ssl_context
        self._resolve = resolve
        self._idle: dict[Origin, list[_Connection]] = {}
        self._all: set[_Connection] = set()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def post(self, endpoint: str, body: bytes, headers: dict[str, str]) -> Response:
        origin, target, authority = parse_endpoint(endpoint)
        lines = [b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (target, authority, len(body))]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError("line breaks in a header")
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        lines.append(b"\r\n")
        request = b"".join(lines) + body
        async with asyncio.timeout(self.timeout):
            connection = self._idle_connection(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin)
            try:
                try:
                    response = await connection.send(request)
                except ResponseError:
                    if not reused or connection.answered:
                        raise
                    # The idle connection had been closed at the far end: once more, on a new one.
                    self._discard(connection)
                    connection = await self._connect(origin)
                    response = await connection.send(request)
            except BaseException:  # timeouts and cancellation included: never reuse it
                self._discard(connection)
                raise
        self._release(origin, connection)
        return response

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable:
                return connection
            self._discard(connection)
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        secure = origin.scheme == "https"
        if self._resolve is None:
            addresses = [origin.host]
        else:
            try:
                # The hook's own refusals (not an error of the connection) go to the caller.
                addresses = await self._resolve(origin.scheme, origin.host, origin.port)
            except (OSError, UnicodeError) as error:
                raise ResponseError(f"cannot resolve: {type(error).__name__}") from error
        failure: BaseException | None = None
        for address in addresses:
            try:
                _transport, connection = await loop.create_connection(
                    _Connection,
                    address,
                    origin.port,
                    ssl=self._ssl_context() if secure else None,
                    server_hostname=origin.host if secure else None,
                )
            except (OSError, ssl.SSLError) as error:
                failure = error
                continue
            self._all.add(connection)
            return connection
        raise ResponseError(f"cannot connect: {type(failure).__name__}") from failure

    def _release(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        idle = self._idle.setdefault(origin, [])
        if connection.reusable and len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(connection)
        else:
            self._discard(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._all.discard(connection)

    async def aclose(self) -> None:
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run their close callbacks
