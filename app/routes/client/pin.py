"""The client's PIN: setting, clearing, and unlocking the app with it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid, TooManyAttempts
from app.services import device_trust, pins
from app.web.deps import CurrentClient, CurrentDevice, SessionDep, SettingsDep
from app.web.render import redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("/pin")
def pin_page(request: Request, client: CurrentClient, settings: SettingsDep) -> Response:
    return render(
        request, "pages/client/pin.html", {"client": client, "errors": {}, "idle_hours": settings.pin_idle_hours}
    )


@router.post("/pin")
def set_pin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: CurrentClient,
    device: CurrentDevice,
    pin: Annotated[str, Form(max_length=20)] = "",
    confirm: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    # A PIN set on an unconfirmed device would confirm that device: the account holder's act.
    device_trust.require_confirmed(device)
    try:
        pins.set_pin(session, client=client, device=device, pin=pin, confirm=confirm)
    except Invalid as error:
        session.rollback()
        errors = error.errors or {"pin": error.message}
        return render(
            request,
            "pages/client/pin.html",
            {"client": client, "errors": errors, "idle_hours": settings.pin_idle_hours},
            status_code=422,
        )
    session.commit()
    return redirect(request, "/c/settings")


@router.post("/pin/clear")
def clear_pin(request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice) -> Response:
    device_trust.require_confirmed(device)
    pins.clear_pin(session, client=client)
    session.commit()
    return redirect(request, "/c/settings")


@router.get("/unlock")
def unlock_page(request: Request, client: CurrentClient) -> Response:
    if not client.pin_hash:
        return redirect(request, "/c")
    return render(request, "pages/client/unlock.html", {"error": None})


@router.post("/unlock")
def unlock(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: CurrentClient,
    device: CurrentDevice,
    pin: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if not client.pin_hash:
        return redirect(request, "/c")
    try:
        opened = pins.unlock(
            session,
            client=client,
            device=device,
            pin=pin,
            max_attempts=settings.pin_max_attempts,
            window_seconds=settings.pin_window_seconds,
        )
    except TooManyAttempts:
        # The lockout must still count the try that caused it.
        session.commit()
        raise
    if opened:
        # The PIN is the client's proof: a device unlocked with it is confirmed too.
        device_trust.confirmed_by_pin(session, client=client, device=device)
    session.commit()
    if opened:
        return redirect(request, "/c")
    return render(
        request,
        "pages/client/unlock.html",
        {"error": i18n.gettext("That PIN did not match. Please try again.")},
        status_code=400,
    )
