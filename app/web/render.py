"""Rendering pages and htmx fragments, and the cookies the app sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from app.core import i18n, security
from app.core.errors import Invalid
from app.services.frequency import WeekdayNames, frequency_label
from app.web.presenters import localdates, timewords
from app.web.staticfiles import static_url

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"

SESSION_COOKIE = "between_session"
CSRF_COOKIE = "between_csrf"
# Over https the CSRF cookie has the __Host- prefix: browsers accept it only Secure, for Path=/
# and without a Domain, so a sibling subdomain cannot plant one. Plain http (development,
# tests) cannot have it, as the prefix requires Secure.
CSRF_COOKIE_HTTPS = "__Host-between_csrf"
LANG_COOKIE = "between_lang"
# On a signed-in client's pages: "never" (no app PIN) or the seconds this device stays
# unlocked if unused. The service worker reads it to keep the PIN lock with no network.
LOCK_HEADER = "Between-Lock-In"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml", "txt"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.translations(i18n.get_locale()).gettext(message),
        lambda singular, plural, n: i18n.translations(i18n.get_locale()).ngettext(singular, plural, n),
        newstyle=True,
        # The same English word may need a shorter translation somewhere (a menu's labels).
        pgettext=lambda context, message: i18n.translations(i18n.get_locale()).pgettext(context, message),
    )
    env.globals["static"] = static_url
    env.globals["tr"] = lambda text: i18n.gettext(text) if text else text
    env.globals["frequency_label"] = frequency_label
    env.globals["weekday_names"] = WeekdayNames()
    # Dates in the person's language and region (app/web/presenters/localdates.py).
    env.globals["local_date"] = localdates.local_date
    env.globals["local_date_time"] = localdates.local_date_time
    env.globals["local_when"] = timewords.local_when
    env.globals["ago"] = timewords.ago
    # How often: the choices of the assign and edit forms, and what reminders do once a record is done.
    from app.services import frequency

    env.globals["frequency_choices"] = frequency.CHOICES
    env.globals["usual_frequency_help"] = frequency.usual_help
    env.globals["reminder_rule"] = frequency.reminder_rule
    env.globals["this_week"] = frequency.this_week
    env.globals["per_week"] = frequency.per_week
    return env


jinja = _environment()


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment(request: Request) -> bool:
    # A boosted request navigates to a page: it gets the whole page.
    return is_htmx(request) and request.headers.get("HX-Boosted") != "true"


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page, or only one of its named blocks for an htmx request."""
    i18n.set_locale(getattr(request.state, "locale", i18n.DEFAULT_LOCALE))
    i18n.set_regional_locale(getattr(request.state, "regional_locale", ""))
    data = {
        "request": request,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "locale": i18n.get_locale(),
        "viewer": getattr(request.state, "viewer", None),
        **(context or {}),
    }
    template = jinja.get_template(template_name)
    if block and wants_fragment(request):
        body = "".join(template.blocks[block](template.new_context(data)))
    else:
        body = template.render(data)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    if status_code >= 400 and is_htmx(request):
        # A form shown again with its errors: the address bar keeps the page it was sent from
        # (a boosted form would otherwise push its action, which a reload cannot GET).
        response.headers["HX-Push-Url"] = "false"
    response.headers["Content-Language"] = i18n.get_locale()
    lock_in = getattr(request.state, "pin_lock_in", None)
    if lock_in is not None:
        response.headers[LOCK_HEADER] = lock_in
    return response


def redirect(request: Request, url: str) -> Response:
    """A redirect htmx follows as a full navigation."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303)


def set_session_cookie(request: Request, response: Response, token: str, *, days: int) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    # The CSRF token is bound to the session: the pages after sign-in carry one for the new session.
    renew_csrf_token(request, response, session=token)


def clear_session_cookie(request: Request, response: Response) -> None:
    settings = request.app.state.settings
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies)
    renew_csrf_token(request, response, session="")


def csrf_cookie_name(*, secure: bool) -> str:
    return CSRF_COOKIE_HTTPS if secure else CSRF_COOKIE


def csrf_set_cookie(token: str, *, secure: bool) -> str:
    """The Set-Cookie value for a CSRF token (HttpOnly: pages carry the token for forms and scripts)."""
    flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{csrf_cookie_name(secure=secure)}={token}; {flags}"


def renew_csrf_token(request: Request, response: Response, *, session: str) -> None:
    """A new CSRF token bound to the session the response sets (or ends), in the cookie and the page."""
    settings = request.app.state.settings
    token = security.csrf_token(settings.secret_key, session=session)
    request.state.csrf_token = token
    response.headers.append("Set-Cookie", csrf_set_cookie(token, secure=settings.secure_cookies))


def set_lang_cookie(request: Request, response: Response, locale: str | None) -> None:
    if locale:
        response.set_cookie(
            LANG_COOKIE,
            locale,
            max_age=365 * 86400,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/",
        )


def download(body: str | bytes, *, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def subscription_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    # Too deep a body is refused before it gets here (app/web/input_checks.py); RecursionError stays
    # caught in case that check is ever bypassed.
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid(i18n.gettext("This push subscription could not be read. Please try again.")) from None
