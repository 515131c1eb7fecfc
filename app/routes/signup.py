"""Open sign-up for therapists, and the emailed link that confirms the address.

Every valid sign-up answers with the same "check your email" page, whether or not
the address has an account (app/services/signups.py says what each one is sent).
The email goes out after the answer, so how long sending takes says nothing either.
Without an SMTP host in development, the confirmation link is printed to the
server's console (stderr), so `make run` stays usable.

The link opens a page with one button: opening a link does not use it, because mail
scanners and link previews open links too.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.responses import Response

from app.core import i18n
from app.core.email import Mail, Mailer
from app.core.errors import ServiceError, TooManyAttempts
from app.core.settings import Settings
from app.models import SessionKind, TherapistCreate
from app.services import ratelimit, signups
from app.web.deps import SessionDep, SettingsDep
from app.web.render import render
from app.web.signing_in import remote_address, start_session

router = APIRouter(include_in_schema=False)
log = logging.getLogger("between.signup")


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
    except ValidationError as error:
        return render(request, "pages/signup.html", {"values": values, "errors": _form_errors(error)}, status_code=422)
    # Counted before the password is hashed: a flood of sign-ups costs no argon2 work.
    wait = _address_limit(session, settings, request)
    if wait:
        return _too_many(request, "pages/signup.html", {"values": values, "errors": {}}, wait)
    try:
        message = signups.request_account(
            session,
            data=data,
            locale=i18n.get_locale(),
            hours=settings.verification_hours,
            may_email=_may_email(session, settings, data.email),
        )
    except TooManyAttempts as error:  # Busy: no password slot came free in time
        session.rollback()
        return _too_many(request, "pages/signup.html", {"values": values, "errors": {}}, error.retry_after, error)
    session.commit()
    return _sent(request, settings, email=data.email, message=message)


@router.post("/signup/resend")
def resend(
    request: Request, session: SessionDep, settings: SettingsDep, email: Annotated[str, Form(max_length=254)] = ""
) -> Response:
    """A new link for an account waiting for confirmation. Offered on the sign-in page once
    the password matched; answers the same for any address."""
    wait = _address_limit(session, settings, request)
    if wait:
        return _too_many(request, "pages/signin.html", {"values": {"email": email}, "error": None}, wait)
    address = email.strip().lower()[:254]
    message = None
    if _may_email(session, settings, address):
        message = signups.resend(session, email=address, hours=settings.verification_hours)
    session.commit()
    return _sent(request, settings, email=address, message=message)


@router.get("/signup/verify/{token}")
def verify_page(request: Request, session: SessionDep, token: str) -> Response:
    if not signups.is_usable(session, token=token):
        return render(request, "pages/signup_verify.html", {"token": None, "error": _gone()}, status_code=410)
    return render(request, "pages/signup_verify.html", {"token": token[:200], "error": None})


@router.post("/signup/verify")
def verify(
    request: Request, session: SessionDep, settings: SettingsDep, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    try:
        therapist = signups.confirm(session, token=token)
    except ServiceError as error:
        session.rollback()
        return render(
            request, "pages/signup_verify.html", {"token": None, "error": error.message}, status_code=error.status_code
        )
    return start_session(
        request, session, settings, kind=SessionKind.therapist, who=therapist.id, locale=therapist.locale, to="/t"
    )


def _address_limit(session, settings: Settings, request: Request) -> int | None:  # type: ignore[no-untyped-def]
    return ratelimit.hit(
        session,
        key=f"signup:ip:{remote_address(request)}",
        limit=settings.signup_max_attempts,
        window_seconds=settings.signup_window_seconds,
    )


def _may_email(session, settings: Settings, email: str) -> bool:  # type: ignore[no-untyped-def]
    # However many addresses ask, one mailbox gets only a few of these per window.
    wait = ratelimit.hit(
        session,
        key=f"signup:mail:{email}",
        limit=settings.signup_mail_max,
        window_seconds=settings.signup_window_seconds,
    )
    return wait is None


def _sent(request: Request, settings: Settings, *, email: str, message: signups.SignupMail | None) -> Response:
    response = render(request, "pages/signup_sent.html", {"email": email, "hours": settings.verification_hours})
    if message is not None:
        mail = signups.mail(
            message,
            base_url=settings.base_url,
            hours=settings.verification_hours,
            default_locale=settings.default_locale,
        )
        link = signups.link(settings.base_url, message.token) if message.token else None
        response.background = BackgroundTask(_deliver, settings, mail, link)
    return response


def _deliver(settings: Settings, mail: Mail, link: str | None) -> None:
    mailer = Mailer(settings)
    if not mailer.configured and settings.is_development:
        if link is not None:
            print(f"Between: no SMTP host set; to confirm {mail.to}, open {link}", file=sys.stderr, flush=True)
        return
    try:
        mailer.send(mail)
    except Exception as error:  # the answer is already sent: only the log can tell
        # No address or link in the log: the account holder's, not the operator's.
        log.warning("a sign-up email could not be sent: %s", type(error).__name__)


def _too_many(  # type: ignore[no-untyped-def]
    request: Request, page: str, context: dict, wait: int, error: TooManyAttempts | None = None
) -> Response:
    """The page again with why it cannot go on: 429 over a limit, 503 (Busy) when the
    server had no password slot free in time; both with Retry-After."""
    message = (
        error.message
        if error is not None
        else i18n.gettext("Too many attempts. Please wait %(minutes)s minutes and try again.", minutes=-(-wait // 60))
    )
    return render(
        request,
        page,
        {**context, "error": message},
        status_code=error.status_code if error is not None else 429,
        headers={"Retry-After": str(wait)},
    )


def _gone() -> str:
    return i18n.gettext(
        "This link does not work any more: it may have expired or been used already. Sign in to get a new one."
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
