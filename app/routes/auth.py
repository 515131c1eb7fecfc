"""Signing in: therapists with email and password, client phones with an invite.

Open sign-up and the confirmation of a therapist's email are in signup.py."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid, ServiceError, TooManyAttempts
from app.models import SessionKind
from app.services import accounts, device_sessions, device_trust, invites, phone_zone, ratelimit
from app.web.deps import DeviceDep, SessionDep, SettingsDep
from app.web.render import SESSION_COOKIE, clear_session_cookie, redirect, render, set_lang_cookie, set_session_cookie

router = APIRouter(include_in_schema=False)


def _remote(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _device_label(request: Request) -> str:
    agent = request.headers.get("user-agent", "")
    for name in ("iPhone", "iPad", "Android", "Windows", "Macintosh", "Linux"):
        if name in agent:
            return name
    return agent[:40] or "Browser"


@router.get("/signin")
def signin_page(request: Request) -> Response:
    return render(request, "pages/signin.html", {"values": {}, "error": None})


@router.post("/signin")
def signin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"email": email}
    try:
        therapist = accounts.authenticate(
            session,
            email=email,
            password=password,
            remote=_remote(request),
            max_attempts=settings.signin_max_attempts,
            window_seconds=settings.signin_window_seconds,
        )
    except TooManyAttempts as error:
        # 429 over the limit, 503 (Busy) when no password check came free in time.
        return render(
            request,
            "pages/signin.html",
            {"values": values, "error": error.message},
            status_code=error.status_code,
            headers={"Retry-After": str(error.retry_after)},
        )
    except accounts.NotVerified as error:
        # Only after the password matched: this says nothing to someone guessing.
        return render(
            request,
            "pages/signin.html",
            {"values": values, "error": error.message, "resend": email},
            status_code=error.status_code,
        )
    if therapist is None:
        return render(
            request,
            "pages/signin.html",
            {"values": values, "error": i18n.gettext("That email and password do not match.")},
            status_code=400,
        )
    return _start(
        request, session, settings, kind=SessionKind.therapist, who=therapist.id, locale=therapist.locale, to="/t"
    )


def _start(request, session, settings, *, kind, who, locale, to, redeemed=None) -> Response:  # type: ignore[no-untyped-def]
    # A fresh session id at every sign-in: a planted cookie is never promoted.
    old_token = request.cookies.get(SESSION_COOKIE)
    old = device_sessions.resolve(session, token=old_token) if old_token else None
    if old is not None:
        device_sessions.revoke(session, device=old)
    if kind == SessionKind.therapist:
        _device, token = device_sessions.start(
            session, kind=kind, therapist_id=who, days=settings.therapist_session_days, label=_device_label(request)
        )
        days = settings.therapist_session_days
    else:
        device, token = device_sessions.start(
            session, kind=kind, client_id=who, days=settings.client_session_days, label=_device_label(request)
        )
        device_trust.admit(session, client=redeemed.client, invite=redeemed.invite, device=device, previous=old)
        days = settings.client_session_days
    session.commit()
    response = redirect(request, to)
    set_session_cookie(request, response, token, days=days)
    set_lang_cookie(request, response, locale)
    return response


@router.post("/signout")
def signout(request: Request, session: SessionDep, device: DeviceDep) -> Response:
    if device is not None:
        device_sessions.revoke(session, device=device)
        session.commit()
    response = redirect(request, "/")
    clear_session_cookie(request, response)
    return response


@router.get("/invite/{token}")
def invite_link(request: Request, token: str) -> Response:
    # Opening the link does not use the invite: link previews in chat apps fetch it too.
    return render(request, "pages/join.html", {"token": token[:200], "error": None})


@router.get("/join")
def join_page(request: Request) -> Response:
    return render(request, "pages/join.html", {"token": None, "error": None})


@router.post("/join")
def join(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    wait = ratelimit.hit(
        session,
        key=f"invite:ip:{_remote(request)}",
        limit=settings.invite_max_attempts,
        window_seconds=settings.invite_window_seconds,
    )
    session.commit()
    if wait:
        message = i18n.gettext(
            "Too many attempts. Please wait %(minutes)s minutes and try again.", minutes=max(1, wait // 60)
        )
        return render(
            request,
            "pages/join.html",
            {"token": token or None, "error": message},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        redeemed = invites.redeem(session, token=token or None, code=code or None)
    except ServiceError as error:
        session.rollback()
        return render(
            request, "pages/join.html", {"token": None, "error": error.message}, status_code=error.status_code
        )
    client = redeemed.client
    # The phone's own time zone, filled in by js/app.js. Without JavaScript (or with a zone
    # this server does not know) the field is empty and the welcome page asks instead.
    if timezone:
        with contextlib.suppress(Invalid):
            phone_zone.seen(session, client=client, zone=timezone)
    # The account's first phone starts with the first minute (what Between is, reminders,
    # a first record); a later device goes straight to Today.
    first_device = not device_sessions.active(session, client_id=client.id)
    return _start(
        request,
        session,
        settings,
        kind=SessionKind.client,
        who=client.id,
        locale=client.locale,
        to="/c/welcome" if first_device else "/c",
        redeemed=redeemed,
    )
