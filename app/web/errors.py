"""Turning errors into clear answers in the person's language: JSON for the API, pages otherwise."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core import i18n
from app.core.errors import ServiceError, TooManyAttempts
from app.models import SessionKind
from app.web.csrf import CsrfFailed
from app.web.deps import Locked, NotSignedIn
from app.web.render import is_htmx, redirect, render

log = logging.getLogger("between.errors")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def problem(
    request: Request,
    status: int,
    message: str,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, object] = {"detail": message}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=status, headers=headers)
    if is_htmx(request):
        # Swap an inline alert into the page's message area instead of the target.
        response = render(
            request,
            "_alert.html",
            {"message": message, "errors": errors or {}},
            status_code=status,
            headers=headers,
        )
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render(
        request,
        "pages/error.html",
        {"status": status, "message": message, "errors": errors or {}},
        status_code=status,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        return problem(request, exc.status_code, exc.message, errors=exc.errors, headers=headers)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if wants_json(request):
            return problem(request, 401, i18n.gettext("Please sign in."))
        target = "/signin" if exc.kind == SessionKind.therapist else "/join"
        return redirect(request, target)

    @app.exception_handler(Locked)
    async def _locked(request: Request, exc: Locked) -> Response:
        if wants_json(request):
            return problem(request, 423, i18n.gettext("Between is locked on this device. Unlock it with your PIN."))
        return redirect(request, "/c/unlock")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return problem(request, 403, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, str] = {}
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "form")]
            errors[".".join(location) or "request"] = _explain(error)
        return problem(request, 422, i18n.gettext("Some of what was sent is not valid."), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: i18n.gettext("This page does not exist."),
            405: i18n.gettext("This action is not allowed here."),
        }
        message = messages.get(exc.status_code) or (
            exc.detail if isinstance(exc.detail, str) else i18n.gettext("Something is wrong with this request.")
        )
        return problem(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _data_refused(request: Request, exc: DataError) -> Response:
        # The catch-all for input the checks before it missed: the database refused a value
        # (PostgreSQL: a NUL in text, a number out of range, ...). The request's session rolls
        # back as it closes, so nothing of the request is stored. No parameters are logged.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem(
            request, 422, i18n.gettext("Some of what was sent cannot be saved. Please check it and try again.")
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: DBAPIError) -> Response:
        log.warning("database unavailable: %s", type(exc.orig).__name__, exc_info=exc)
        return problem(
            request,
            503,
            i18n.gettext("Between is briefly unavailable. Nothing you saved is lost; please try again in a minute."),
            headers={"Retry-After": "30"},
        )


def _explain(error: dict) -> str:  # type: ignore[type-arg]
    kind = str(error.get("type", ""))
    if kind == "missing":
        return i18n.gettext("This is required.")
    if kind.startswith("uuid"):
        return i18n.gettext("This is not a valid id.")
    if kind.startswith(("datetime", "date", "time")):
        return i18n.gettext("This is not a valid date and time.")
    if kind.startswith(("string_too_long", "too_long")):
        return i18n.gettext("This is too long.")
    if kind.startswith(("int", "float", "greater", "less")):
        return i18n.gettext("This is not a valid number.")
    if kind in ("enum", "literal_error"):
        return i18n.gettext("This is not one of the allowed values.")
    if kind.startswith(("json", "model_type", "dict_type")):
        return i18n.gettext("This could not be read.")
    return i18n.gettext("This is not valid.")
