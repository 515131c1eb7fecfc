"""The client's settings: language, devices, confirming a new device."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid, NotFound, TooManyAttempts
from app.services import (
    clients,
    device_sessions,
    device_trust,
)
from app.web.deps import CurrentClient, CurrentDevice, SessionDep, SettingsDep
from app.web.render import redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice) -> Response:
    devices = device_trust.history(session, client=client)
    return render(
        request,
        "pages/client/settings.html",
        {
            "client": client,
            "devices": devices,
            "this_device": device,
            **device_trust.context_for(session, client=client, device=device, devices=devices),
        },
    )


@router.post("/settings")
async def save_settings(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    form = await request.form()
    clients.update_preferences(session, client=client, timezone=str(form.get("timezone", client.timezone))[:64])
    session.commit()
    return redirect(request, "/c/settings")


@router.post("/devices/{device_id}/revoke")
def revoke_device(
    request: Request, device_id: uuid.UUID, session: SessionDep, client: CurrentClient, this_device: CurrentDevice
) -> Response:
    device = next((d for d in device_sessions.active(session, client_id=client.id) if d.id == device_id), None)
    if device is None:
        raise NotFound(i18n.gettext("No such device."))
    if device.id != this_device.id:
        # Signing other devices out is the account holder's act: an unconfirmed device
        # could otherwise lock the client out of their own phone.
        device_trust.require_confirmed(this_device)
    device_trust.revoke(session, client=client, device=device, by="client", actor_id=client.id)
    session.commit()
    if device.id == this_device.id:
        return redirect(request, "/")
    return redirect(request, "/c/settings")


@router.post("/devices/{device_id}/confirm")
def confirm_device(
    request: Request, device_id: uuid.UUID, session: SessionDep, client: CurrentClient, this_device: CurrentDevice
) -> Response:
    """On a confirmed device: "this new device is mine", so it may show private entries."""
    device_trust.confirm_from(session, client=client, confirming=this_device, device_id=device_id)
    session.commit()
    return redirect(request, "/c/settings")


@router.post("/device/confirm-pin")
async def confirm_with_pin(
    request: Request, session: SessionDep, settings: SettingsDep, client: CurrentClient, this_device: CurrentDevice
) -> Response:
    """On a new device: the client's PIN shows that the phone is in their hands."""
    form = await request.form()
    pin = str(form.get("pin", ""))[:20]
    try:
        confirmed = device_trust.confirm_with_pin(
            session,
            client=client,
            device=this_device,
            pin=pin,
            max_attempts=settings.pin_max_attempts,
            window_seconds=settings.pin_window_seconds,
        )
    except TooManyAttempts as error:
        session.commit()
        raise error from None
    session.commit()
    if not confirmed:
        raise Invalid(i18n.gettext("That PIN is not right."), errors={"pin": i18n.gettext("That PIN is not right.")})
    return redirect(request, "/c/settings")
