"""The client's privacy: downloading everything, who looked, deleting the account, signing out everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from app.core import i18n
from app.services import access_log, account_deletion, device_sessions, device_trust, exports
from app.web.deps import CurrentClient, CurrentDevice, SessionDep
from app.web.render import clear_session_cookie, redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("/export")
def export_page(request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice) -> Response:
    summary = exports.client_summary(session, client=client)
    context = {"client": client, "summary": summary, **device_trust.context_for(session, client=client, device=device)}
    return render(request, "pages/client/export.html", context)


@router.get("/export.zip")
def export_zip(request: Request, client: CurrentClient, device: CurrentDevice) -> Response:
    # The download holds every private entry: only a device the client confirmed gets it.
    device_trust.require_confirmed(device)
    engine = request.app.state.engine
    stream = exports.stream_client_archive(engine=engine, client_id=client.id, locale=i18n.get_locale())
    filename = exports.archive_name(prefix="between-my-data")
    return StreamingResponse(
        stream, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/privacy")
def privacy_page(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    log = access_log.access_log(session, client_id=client.id, limit=200)
    devices = device_trust.history(session, client=client)
    return render(
        request, "pages/client/privacy.html", {"client": client, "log": log, "devices": devices}, block="content"
    )


@router.get("/delete-account")
def delete_account_page(
    request: Request, session: SessionDep, client: CurrentClient, device: CurrentDevice
) -> Response:
    summary = exports.client_summary(session, client=client)
    # Deleting the account is the account holder's act, not that of any device signed in to it.
    error = None if device.confirmed_at else device_trust.unconfirmed_message()
    return render(request, "pages/client/delete_account.html", {"client": client, "summary": summary, "error": error})


@router.post("/delete-account")
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


@router.post("/signout-everywhere")
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
