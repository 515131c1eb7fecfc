"""What the service worker asks for: the public key, snoozing from a notification, the "seen"
beacon, a changed subscription."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Forbidden, Invalid, NotFound
from app.models import Client, PushSubscription, SessionKind
from app.services import reminders
from app.web.deps import DeviceDep, SessionDep, SettingsDep, vapid_keys
from app.web.errors import wants_json
from app.web.render import redirect, subscription_body

router = APIRouter(prefix="/push", include_in_schema=False)


@router.get("/public-key")
def public_key(request: Request) -> Response:
    keys = vapid_keys(request)
    if keys is None:
        raise NotFound(i18n.gettext("Notifications are not set up on this server yet."))
    return JSONResponse({"publicKey": keys.public_key}, headers={"Cache-Control": "no-cache"})


async def _fields(request: Request) -> dict[str, str]:
    """Snooze comes as JSON from the service worker and as a form from the record page."""
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await subscription_body(request)
        if not isinstance(data, dict):
            raise Invalid(i18n.gettext("This snooze link is not valid."))
        return {key: str(value)[:200] for key, value in data.items() if isinstance(value, str | int)}
    form = await request.form()
    return {key: str(value)[:200] for key, value in form.items() if isinstance(value, str)}


@router.post("/snooze")
async def snooze(request: Request, session: SessionDep, settings: SettingsDep, device: DeviceDep) -> Response:
    """Remind once more later. The signed token names the client and the reminder; no cookie
    is needed, but a browser signed in as someone else may not use it."""
    fields = await _fields(request)
    client_id, reminder_id = reminders.read_snooze_token(secret=settings.secret_key, token=fields.get("token", ""))
    if device is not None and device.kind == SessionKind.client and device.client_id != client_id:
        raise Forbidden(i18n.gettext("This reminder belongs to someone else."))
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(i18n.gettext("No such reminder."))
    try:
        minutes = int(fields.get("minutes", "30"))
    except ValueError:
        minutes = 0
    reminder = reminders.snooze(session, client=client, reminder_id=reminder_id, minutes=minutes)
    session.commit()
    if wants_json(request):
        assert reminder.snoozed_until is not None
        return JSONResponse({"snoozed_until": reminder.snoozed_until.isoformat(), "minutes": minutes})
    return redirect(request, f"/c?snoozed={minutes}")


@router.post("/seen")
async def seen(request: Request, session: SessionDep, settings: SettingsDep, device: DeviceDep) -> Response:
    """The service worker's beacon: the client tapped a reminder or one of its buttons. The
    reminder's signed token (the snooze token) proves whose it is, as for snoozing; the body
    holds the occurrence and this browser's push endpoint, never anything the client wrote."""
    data = await subscription_body(request)
    if not isinstance(data, dict):
        raise Invalid(i18n.gettext("This reminder could not be read."))
    token, occurrence, endpoint = (data.get(key) for key in ("token", "occurrence", "endpoint"))
    if not isinstance(token, str) or not isinstance(occurrence, str) or not isinstance(endpoint, str | None):
        raise Invalid(i18n.gettext("This reminder could not be read."))
    try:
        occurrence_id = uuid.UUID(occurrence[:64])
    except ValueError:
        raise Invalid(i18n.gettext("This reminder could not be read.")) from None
    client_id, reminder_id = reminders.read_snooze_token(secret=settings.secret_key, token=token[:200])
    if device is not None and device.kind == SessionKind.client and device.client_id != client_id:
        raise Forbidden(i18n.gettext("This reminder belongs to someone else."))
    reminders.mark_seen(
        session, client_id=client_id, reminder_id=reminder_id, occurrence_id=occurrence_id, endpoint=endpoint or ""
    )
    session.commit()
    return Response(status_code=204)


@router.post("/subscription-change")
async def subscription_change(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The browser replaced a subscription (`pushsubscriptionchange`). The old endpoint, a secret
    only that browser and this server know, proves which client the new one belongs to."""
    data = await subscription_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("old_endpoint"), str):
        raise Invalid(i18n.gettext("This push subscription could not be read. Please try again."))
    old = session.exec(select(PushSubscription).where(PushSubscription.endpoint == data["old_endpoint"])).first()
    client = session.get(Client, old.client_id) if old is not None else None
    if old is None or client is None:
        raise NotFound(i18n.gettext("No such device."))
    subscription = await run_in_threadpool(
        reminders.add_subscription,
        session,
        client=client,
        data=data.get("subscription"),
        user_agent=request.headers.get("user-agent", ""),
        settings=settings,
    )
    if old.id != subscription.id:
        session.delete(old)
    session.commit()
    return JSONResponse({"id": str(subscription.id)}, status_code=201)
