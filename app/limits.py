"""Rate limits on API writes and uploads, applied to every route from one place.

A global dependency rather than one per route, so a write route or an upload
added later is limited the day it exists. These limits only keep one device (or
address) from flooding the server, so they are counted in this process's memory
(`ratelimit.LocalLimiter`): no database write per request, and a request that
later fails still counts. They are per process: behind N server processes a
device may send up to N times the limit. Sign-in, invites and PIN tries guard
accounts and have their own, stricter limits in the database, next to the code
that checks them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from app import i18n
from app.deps import bearer_token
from app.security import token_hash
from app.services import ratelimit
from app.services.errors import TooManyAttempts
from app.settings import Settings
from app.web import SESSION_COOKIE

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Bodies that carry a file: form uploads and raw audio from the recorder.
_UPLOAD_TYPES = ("multipart/form-data", "audio/", "video/", "application/octet-stream")


def _who(request: Request) -> str:
    # The session token's hash names the signed-in device without a database read;
    # anyone else is counted by address.
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if token:
        return "s:" + token_hash(token)[:32]
    return "ip:" + (request.client.host if request.client else "unknown")


def limiter_of(app: FastAPI) -> ratelimit.LocalLimiter:
    """The app's own counters (each app, e.g. each test's, starts from zero)."""
    limiter: ratelimit.LocalLimiter | None = getattr(app.state, "write_limiter", None)
    if limiter is None:
        limiter = app.state.write_limiter = ratelimit.LocalLimiter()
    return limiter


# `async`: it touches no database and never blocks, so it skips the thread pool.
async def rate_limits(request: Request) -> None:
    if request.method not in _WRITES:
        return
    settings: Settings = request.app.state.settings
    limits = []
    if request.headers.get("content-type", "").lower().startswith(_UPLOAD_TYPES):
        limits.append(("upload", settings.upload_max, settings.upload_window_seconds))
    # The scope's path, not request.url: building the whole URL costs more than this check.
    if request.scope["path"].startswith("/api/"):
        limits.append(("api", settings.api_write_max, settings.api_write_window_seconds))
    if not limits:
        return
    who = _who(request)
    limiter = limiter_of(request.app)
    waits = [limiter.hit(f"{name}:{who}", limit=limit, window_seconds=window) for name, limit, window in limits]
    wait = max((value for value in waits if value), default=None)
    if wait:
        raise TooManyAttempts(
            i18n.gettext(
                "That was a lot at once. Please wait %(seconds)s seconds and try again; nothing you saved is lost.",
                seconds=wait,
            ),
            retry_after=wait,
        )
