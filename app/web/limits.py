"""Rate limits on API writes and uploads, applied to every route from one place.

A global dependency rather than one per route, so a write route or an upload
added later is limited the day it exists. These limits keep one device (or
address) from flooding the server. They are shared by every process and replica
(`ratelimit.SharedLimiter`): counted in the database, or in Redis when
BETWEEN_REDIS_URL is set. A process takes a few attempts at once from the shared
count and spends them from memory, so most requests touch neither; a request that
later fails still counts. Sign-in, invites and PIN tries guard accounts and have
their own, stricter limits in the database, next to the code that checks them.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import FastAPI, Request

from app.core import i18n
from app.core.errors import TooManyAttempts
from app.core.security import token_hash
from app.core.settings import Settings
from app.services import ratelimit
from app.web.deps import bearer_token
from app.web.render import SESSION_COOKIE

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

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


def limiter_of(app: FastAPI) -> ratelimit.SharedLimiter:
    """The app's limiter, made on first use from its settings (its counts are shared)."""
    limiter: ratelimit.SharedLimiter | None = getattr(app.state, "write_limiter", None)
    if limiter is None:
        limiter = app.state.write_limiter = build_limiter(app.state.settings, app.state.engine)
    return limiter


def build_limiter(settings: Settings, engine: Engine) -> ratelimit.SharedLimiter:
    store: ratelimit.DatabaseStore | ratelimit.RedisStore
    if settings.redis_url:
        store = ratelimit.RedisStore(settings.redis_url, prefix=settings.redis_key_prefix)
    else:
        store = ratelimit.DatabaseStore(engine, prune_after_seconds=longest_window(settings))
    return ratelimit.SharedLimiter(store, batch=settings.rate_limit_batch)


def longest_window(settings: Settings) -> int:
    """The longest window of any limit counted in the database: older counters can go."""
    return max(
        settings.signin_window_seconds,
        settings.invite_window_seconds,
        settings.signup_window_seconds,
        settings.pin_window_seconds,
        settings.api_write_window_seconds,
        settings.upload_window_seconds,
    )


# `async`: most attempts are counted from memory and skip the thread pool; only an
# attempt that needs the shared store goes to a thread.
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
    waits = []
    for name, limit, window in limits:
        key = f"{name}:{who}"
        local = limiter.take_local(key)
        if local is None:
            local = await anyio.to_thread.run_sync(partial(limiter.reserve, key, limit=limit, window_seconds=window))
        waits.append(local)
    wait = max((value for value in waits if value), default=None)
    if wait:
        raise TooManyAttempts(
            i18n.gettext(
                "That was a lot at once. Please wait %(seconds)s seconds and try again; nothing you saved is lost.",
                seconds=wait,
            ),
            retry_after=wait,
        )
