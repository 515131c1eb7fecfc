"""CSRF: every state-changing request carries the token from the CSRF cookie.

Forms send it as a hidden field, htmx as a header (set once on <body> through
hx-headers), the JSON API as a header. Bearer-token API calls carry no cookie,
so they cannot be forged cross-site and skip the check.

The token must match the cookie *and* be bound to this browser's session: it is
an HMAC, keyed from the secret key, over a nonce and the session cookie (see
`app.core.security.csrf_token`). A matching cookie and field pair planted by another
site or a sibling subdomain, or a token from another session, is refused. Over
https the cookie is `__Host-between_csrf` (Secure, Path=/, no Domain), so a
subdomain cannot set it at all. Signing in or out sets a new token
(`app.web.render.set_session_cookie`), and the pages after it carry that one.
"""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException

from app.core import i18n
from app.core.security import csrf_token_valid, same
from app.web.deps import bearer_token
from app.web.render import SESSION_COOKIE, csrf_cookie_name

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
# Called by the service worker, which cannot read the HttpOnly CSRF cookie. Each carries its
# own proof that a forged cross-site request cannot have: a signed snooze token, or the old
# push endpoint (a secret URL only that browser and this server know).
CARRY_OWN_PROOF = frozenset({"/push/snooze", "/push/seen", "/push/subscription-change"})


class CsrfFailed(Exception):
    pass


async def csrf_protect(request: Request) -> None:
    if request.method in SAFE_METHODS or bearer_token(request) or request.url.path in CARRY_OWN_PROOF:
        return
    settings = request.app.state.settings
    expected = request.cookies.get(csrf_cookie_name(secure=settings.secure_cookies), "")
    sent = request.headers.get(HEADER, "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                form = await request.form()
            except HTTPException:  # e.g. the body is over the size limit: say so (413)
                raise
            except Exception:  # a malformed body is a bad request, not a CSRF pass
                raise CsrfFailed(i18n.gettext("This form could not be read.")) from None
            value = form.get(FIELD, "")
            sent = value if isinstance(value, str) else ""
    if (
        not expected
        or not sent
        or not same(expected, sent)
        or not csrf_token_valid(settings.secret_key, expected, session=request.cookies.get(SESSION_COOKIE, ""))
    ):
        raise CsrfFailed(i18n.gettext("This page has expired for your safety. Please go back, reload and try again."))
