"""The outermost middleware: a request id, timing, HTTP metrics and one access line per request.

Pure ASGI and cheap: per request a few dictionary lookups, one counter increment, one
histogram observation and, with the access log on, one JSON line. Requests are named by
their route's template (`/api/v1/entries/{entry_id}`), never by the path they asked for:
paths carry ids, and an unknown path could carry anything.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logs import REQUEST_ID
from app.services import metrics

log = logging.getLogger("between.access")

REQUEST_ID_HEADER = b"x-request-id"
# An incoming X-Request-ID is kept when it looks like an id (a proxy's or a load balancer's);
# anything else is replaced, so a header cannot put arbitrary text into the logs.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(12).hex()


def route_template(scope: Scope) -> str:
    """The template of the route that answered, or "unmatched". The router puts a matched
    route in the scope; a mount (the static files) only its app, as the endpoint."""
    route = scope.get("route")
    if route is not None:
        if isinstance(route, Mount):
            return f"{route.path}/{{path}}"
        return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED
    endpoint, app = scope.get("endpoint"), scope.get("app")
    if endpoint is not None and app is not None:
        for mount in getattr(app, "routes", ()):
            if isinstance(mount, Mount) and mount.app is endpoint:
                return f"{mount.path}/{{path}}"
    return UNMATCHED


class AccessMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        # (method, route, status) -> the counter and histogram children, found once.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        header = (b"x-request-id", rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500  # the server's error handler answers 500
            raise
        finally:
            self._done(scope, status or 500, time.perf_counter() - started, rid)
            REQUEST_ID.reset(token)

    def _done(self, scope: Scope, status: int, seconds: float, rid: str) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = route_template(scope)
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                metrics.HTTP_REQUESTS.labels(method, route, str(status)),
                metrics.HTTP_DURATION.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)
        if self.access_log and log.isEnabledFor(logging.INFO):
            # makeRecord + handle: the same line as log.info(), without looking up the caller.
            fields = {
                "request_id": rid,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields))
