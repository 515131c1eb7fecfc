"""Per-request plumbing: language, CSRF cookie, security headers, body size."""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.web import CSRF_COOKIE, LANG_COOKIE

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

    def __init__(self, app: ASGIApp, *, secure_cookies: bool, max_body: int) -> None:
        self.app = app
        self.secure_cookies = secure_cookies
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        locale = i18n.pick_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        i18n.set_locale(locale)
        scope.setdefault("state", {})
        scope["state"]["locale"] = locale
        existing = request.cookies.get(CSRF_COOKIE)
        token = existing if existing and len(existing) >= 32 else secrets.token_urlsafe(32)
        scope["state"]["csrf_token"] = token

        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            await _too_large(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
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
                if existing != token:
                    flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure_cookies else "")
                    headers.append("Set-Cookie", f"{CSRF_COOKIE}={token}; {flags}")
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
