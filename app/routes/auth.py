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
from app.services import accounts, device_sessions, invites, phone_zone, ratelimit
from app.web.deps import DeviceDep, SessionDep, SettingsDep
from app.web.render import clear_session_cookie, redirect, render
from app.web.signing_in import remote_address, start_session

router = APIRouter(include_in_schema=False)


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
            remote=remote_address(request),
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
    return start_session(
        request, session, settings, kind=SessionKind.therapist, who=therapist.id, locale=therapist.locale, to="/t"
    )


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
        key=f"invite:ip:{remote_address(request)}",
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
    return start_session(
        request,
        session,
        settings,
        kind=SessionKind.client,
        who=client.id,
        locale=client.locale,
        to="/c/welcome" if first_device else "/c",
        redeemed=redeemed,
    )
