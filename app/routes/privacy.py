"""Data rights and privacy: exports, account deletion, the access log, the app PIN, sign out everywhere."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid, TooManyAttempts
from app.services import account_deletion, audit, clients, device_sessions, device_trust, exports, fhir, pins
from app.web.deps import CurrentClient, CurrentDevice, CurrentTherapist, SessionDep, SettingsDep
from app.web.render import clear_session_cookie, redirect, render

client_router = APIRouter(prefix="/c", include_in_schema=False)
therapist_router = APIRouter(prefix="/t", include_in_schema=False)


def _download(body: str | bytes, *, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------------------
# The client's own data


@client_router.get("/export")
def export_page(request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice) -> Response:
    summary = exports.client_summary(session, client=client)
    context = {"client": client, "summary": summary, **device_trust.context_for(session, client=client, device=device)}
    return render(request, "pages/client/export.html", context)


@client_router.get("/export.zip")
def export_zip(request: Request, client: CurrentClient, device: CurrentDevice) -> Response:
    # The download holds every private entry: only a device the client confirmed gets it.
    device_trust.require_confirmed(device)
    engine = request.app.state.engine
    stream = exports.stream_client_archive(engine=engine, client_id=client.id, locale=i18n.get_locale())
    filename = exports.archive_name(prefix="between-my-data")
    return StreamingResponse(
        stream, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@client_router.get("/privacy")
def privacy_page(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    log = exports.access_log(session, client_id=client.id, limit=200)
    devices = device_trust.history(session, client=client)
    return render(
        request, "pages/client/privacy.html", {"client": client, "log": log, "devices": devices}, block="content"
    )


@client_router.get("/delete-account")
def delete_account_page(
    request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice
) -> Response:
    summary = exports.client_summary(session, client=client)
    # Deleting the account is the account holder's act, not that of any device signed in to it.
    error = None if device.confirmed_at else device_trust.unconfirmed_message()
    return render(request, "pages/client/delete_account.html", {"client": client, "summary": summary, "error": error})


@client_router.post("/delete-account")
def delete_account(
    request: Request,
    session: SessionDep,
    client: CurrentClient,
    device: CurrentDevice,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    device_trust.require_confirmed(device)
    if confirm != "yes":
        summary = exports.client_summary(session, client=client)
        message = i18n.gettext("To delete your account, tick the box to confirm. Nothing has been deleted.")
        return render(
            request,
            "pages/client/delete_account.html",
            {"client": client, "summary": summary, "error": message},
            status_code=422,
        )
    account_deletion.delete_client(session, client=client)
    session.commit()
    request.state.viewer = None
    response = render(request, "pages/goodbye.html")
    clear_session_cookie(request, response)
    return response


@client_router.post("/signout-everywhere")
def client_signout_everywhere(
    request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice
) -> Response:
    device_trust.require_confirmed(device)
    for each in device_sessions.active(session, client_id=client.id):
        device_trust.revoke(session, client=client, device=each, by="client", actor_id=client.id)
    session.commit()
    response = redirect(request, "/join")
    clear_session_cookie(request, response)
    return response


@client_router.get("/pin")
def pin_page(request: Request, client: CurrentClient, settings: SettingsDep) -> Response:
    return render(
        request, "pages/client/pin.html", {"client": client, "errors": {}, "idle_hours": settings.pin_idle_hours}
    )


@client_router.post("/pin")
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


@client_router.post("/pin/clear")
def clear_pin(request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice) -> Response:
    device_trust.require_confirmed(device)
    pins.clear_pin(session, client=client)
    session.commit()
    return redirect(request, "/c/settings")


@client_router.get("/unlock")
def unlock_page(request: Request, client: CurrentClient) -> Response:
    if not client.pin_hash:
        return redirect(request, "/c")
    return render(request, "pages/client/unlock.html", {"error": None})


@client_router.post("/unlock")
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


# ---------------------------------------------------------------------------
# The therapist's exports: shared records only, every one audited


@therapist_router.get("/clients/{client_id}/export")
def therapist_export_page(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    return render(request, "pages/therapist/export.html", {"client": client}, block="content")


def _audited(session, therapist, client, action: str) -> None:  # type: ignore[no-untyped-def]
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action=action, client_id=client.id)


@therapist_router.get("/clients/{client_id}/export.csv")
def therapist_export_csv(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    body = exports.therapist_csv(session, therapist=therapist, client=client)
    _audited(session, therapist, client, "export.csv")
    session.commit()
    filename = exports.therapist_file_name(client=client, what="shared-records", extension="csv")
    return _download(body, media_type="text/csv; charset=utf-8", filename=filename)


@therapist_router.get("/clients/{client_id}/report")
def therapist_report(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    report = exports.report(session, therapist=therapist, client=client)
    _audited(session, therapist, client, "export.report")
    session.commit()
    return render(request, "pages/therapist/report.html", {"report": report})


@therapist_router.get("/clients/{client_id}/export.fhir.json")
def therapist_export_fhir(
    request: Request, client_id: uuid.UUID, session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    bundle = fhir.bundle(session, therapist=therapist, client=client, base_url=settings.base_url)
    _audited(session, therapist, client, "export.fhir")
    session.commit()
    body = json.dumps(bundle, ensure_ascii=False, indent=1)
    filename = exports.therapist_file_name(client=client, what="shared-records", extension="fhir.json")
    return _download(body, media_type=fhir.MEDIA_TYPE, filename=filename)
