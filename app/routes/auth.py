"""Signing in: therapists with email and password, client phones with an invite."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from app import i18n
from app.deps import DeviceDep, SessionDep, SettingsDep
from app.models import SessionKind, TherapistCreate
from app.services import accounts, audit, device_sessions, invites, ratelimit
from app.services.errors import ServiceError, TooManyAttempts
from app.web import SESSION_COOKIE, clear_session_cookie, redirect, render, set_lang_cookie, set_session_cookie

router = APIRouter(include_in_schema=False)


def _remote(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _device_label(request: Request) -> str:
    agent = request.headers.get("user-agent", "")
    for name in ("iPhone", "iPad", "Android", "Windows", "Macintosh", "Linux"):
        if name in agent:
            return name
    return agent[:40] or "Browser"


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return render(request, "pages/signup.html", {"values": {}, "errors": {}})


@router.post("/signup")
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"email": email, "display_name": display_name}
    try:
        data = TherapistCreate(email=email, display_name=display_name, password=password)
        therapist = accounts.create_therapist(session, data=data)
    except ValidationError as error:
        return render(request, "pages/signup.html", {"values": values, "errors": _form_errors(error)}, status_code=422)
    except ServiceError as error:
        return render(
            request,
            "pages/signup.html",
            {"values": values, "errors": {"email": error.message}},
            status_code=error.status_code,
        )
    therapist.locale = i18n.get_locale()
    return _start(
        request, session, settings, kind=SessionKind.therapist, who=therapist.id, locale=therapist.locale, to="/t"
    )


def _form_errors(error: ValidationError) -> dict[str, str]:
    messages = {
        "email": i18n.gettext("Enter an email address like name@example.org."),
        "display_name": i18n.gettext("Enter your name."),
        "password": i18n.gettext("Choose a password of at least 10 characters."),
    }
    found = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item.get("loc") else ""
        found[field] = messages.get(field, i18n.gettext("This is not valid."))
    return found


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
        session.commit()
        return render(
            request,
            "pages/signin.html",
            {"values": values, "error": error.message},
            status_code=429,
            headers={"Retry-After": str(error.retry_after)},
        )
    if therapist is None:
        session.commit()  # keep the failure count
        return render(
            request,
            "pages/signin.html",
            {"values": values, "error": i18n.gettext("That email and password do not match.")},
            status_code=400,
        )
    return _start(
        request, session, settings, kind=SessionKind.therapist, who=therapist.id, locale=therapist.locale, to="/t"
    )


def _start(request, session, settings, *, kind, who, locale, to) -> Response:  # type: ignore[no-untyped-def]
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
        _device, token = device_sessions.start(
            session, kind=kind, client_id=who, days=settings.client_session_days, label=_device_label(request)
        )
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
        client = invites.redeem(session, token=token or None, code=code or None)
    except ServiceError as error:
        session.rollback()
        return render(
            request, "pages/join.html", {"token": None, "error": error.message}, status_code=error.status_code
        )
    audit.record(session, actor_kind="client", actor_id=client.id, action="device.joined", client_id=client.id)
    return _start(request, session, settings, kind=SessionKind.client, who=client.id, locale=client.locale, to="/c")
