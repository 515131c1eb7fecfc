"""Per-request plumbing: language, CSRF cookie, security headers, body size."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import i18n, security
from app.web.render import LANG_COOKIE, SESSION_COOKIE, csrf_cookie_name, csrf_set_cookie

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): sets language and CSRF token, adds headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        secure_cookies: bool,
        secret_key: str,
        max_body: int,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.secure_cookies = secure_cookies
        self.secret_key = secret_key
        self.csrf_cookie = csrf_cookie_name(secure=secure_cookies)
        self.max_body = max_body
        # Exact paths allowed a larger body than max_body (voice note uploads).
        self.body_limits = body_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        locale = i18n.pick_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        i18n.set_locale(locale)
        # Dates on pages follow the browser's region too (en-GB: 6 Dec 2026).
        regional = i18n.pick_regional_locale(locale, request.headers.get("accept-language"))
        i18n.set_regional_locale(regional)
        scope.setdefault("state", {})
        scope["state"]["locale"] = locale
        scope["state"]["regional_locale"] = regional
        # The CSRF token is bound to the session cookie this request carries; a token made for
        # another session (or none), or planted, is replaced by a new one for this page.
        existing = request.cookies.get(self.csrf_cookie)
        bound_to = request.cookies.get(SESSION_COOKIE, "")
        if existing and security.csrf_token_valid(self.secret_key, existing, session=bound_to):
            token = existing
        else:
            token = security.csrf_token(self.secret_key, session=bound_to)
        scope["state"]["csrf_token"] = token

        limit = self.body_limits.get(scope["path"], self.max_body)
        length = request.headers.get("content-length")
        if length and length.isascii() and length.isdigit() and int(length) > limit:
            await _too_large(send)
            return
        # A body sent in chunks (no Content-Length) is counted as it arrives.
        received = 0
        started = False

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault(
                    "Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=(), usb=()"
                )
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.secure_cookies:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                # Unless the route already set a new one (signing in or out does).
                renewed = any(value.startswith(f"{self.csrf_cookie}=") for value in headers.getlist("set-cookie"))
                if existing != token and not renewed:
                    headers.append("Set-Cookie", csrf_set_cookie(token, secure=self.secure_cookies))
            await send(message)

        try:
            await self.app(scope, receive_limited, send_with_headers)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(send)


class _BodyTooLarge(HTTPException):
    # An HTTPException, so the routes' body parsing passes it on as a 413 instead of a 400.
    def __init__(self) -> None:
        super().__init__(status_code=413, detail=i18n.gettext("This request is too large."))


async def _too_large(send: Send) -> None:
    body = i18n.gettext("This request is too large.").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
