"""Pages anyone may see: the start page and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core.errors import Invalid
from app.core.i18n import SUPPORTED_LOCALES
from app.models import Client, SessionKind, Therapist
from app.web.deps import DeviceDep, SessionDep
from app.web.render import redirect, render, set_lang_cookie

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, device: DeviceDep) -> Response:
    if device is not None:
        return redirect(request, "/t" if device.kind == SessionKind.therapist else "/c")
    return render(request, "pages/home.html")


@router.post("/language")
def set_language(
    request: Request,
    session: SessionDep,
    device: DeviceDep,
    locale: Annotated[str, Form(max_length=10)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=300)] = "/",
) -> Response:
    if locale not in SUPPORTED_LOCALES:
        raise Invalid("Unknown language.")
    if device is not None:
        who = (
            session.get(Therapist, device.therapist_id)
            if device.therapist_id
            else session.get(Client, device.client_id)
        )
        if who is not None:
            who.locale = locale
            session.add(who)
            session.commit()
    # Only local paths: never an open redirect.
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    response = redirect(request, target)
    set_lang_cookie(request, response, locale)
    return response
