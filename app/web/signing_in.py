"""Starting a signed-in session, for every way in: a therapist's password (routes/auth.py),
a confirmed sign-up (routes/signup.py) and a client's invitation (routes/auth.py)."""

from __future__ import annotations

import uuid

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from app.core.settings import Settings
from app.models import SessionKind
from app.services import device_sessions, device_trust
from app.services.invites import Redeemed
from app.web.render import SESSION_COOKIE, redirect, set_lang_cookie, set_session_cookie


def remote_address(request: Request) -> str:
    """The peer's address, as the per-address rate limits count it."""
    return request.client.host if request.client else "unknown"


def device_label(request: Request) -> str:
    """A device's name in the lists of signed-in devices: its platform, not its whole user agent."""
    agent = request.headers.get("user-agent", "")
    for name in ("iPhone", "iPad", "Android", "Windows", "Macintosh", "Linux"):
        if name in agent:
            return name
    return agent[:40] or "Browser"


def start_session(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    kind: SessionKind,
    who: uuid.UUID,
    locale: str | None,
    to: str,
    redeemed: Redeemed | None = None,
) -> Response:
    """Sign this browser in as `who` and go to `to`. A client's session needs the invitation it
    was `redeemed` with (device trust decides whether the device starts confirmed)."""
    # A fresh session id at every sign-in: a planted cookie is never promoted.
    old_token = request.cookies.get(SESSION_COOKIE)
    old = device_sessions.resolve(session, token=old_token) if old_token else None
    if old is not None:
        device_sessions.revoke(session, device=old)
    if kind == SessionKind.therapist:
        _device, token = device_sessions.start(
            session, kind=kind, therapist_id=who, days=settings.therapist_session_days, label=device_label(request)
        )
        days = settings.therapist_session_days
    else:
        if redeemed is None:
            raise ValueError("a client's session starts from a redeemed invitation")
        device, token = device_sessions.start(
            session, kind=kind, client_id=who, days=settings.client_session_days, label=device_label(request)
        )
        device_trust.admit(session, client=redeemed.client, invite=redeemed.invite, device=device, previous=old)
        days = settings.client_session_days
    session.commit()
    response = redirect(request, to)
    set_session_cookie(request, response, token, days=days)
    set_lang_cookie(request, response, locale)
    return response
