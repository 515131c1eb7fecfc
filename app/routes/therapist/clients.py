"""A therapist's clients: adding one, the invitation, the client page, devices, unlinking."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid, NotFound
from app.models import Client, Frequency, Invite, Therapist
from app.models.types import utcnow
from app.services import (
    assignment_changes,
    assignment_lookup,
    assignments,
    clients,
    device_sessions,
    device_trust,
    entries,
    invites,
    patterns,
    record_types,
)
from app.services.assignments import default_weekly_day
from app.services.entry_text import entry_views
from app.services.reminders import health as reminder_health
from app.web import entry_filters
from app.web.deps import CurrentDevice, CurrentTherapist, SessionDep, SettingsDep, get_settings_dep
from app.web.presenters import invite_handoff
from app.web.presenters.delivery import failure_reason
from app.web.presenters.invite_handoff import qr_svg as invite_qr_svg
from app.web.presenters.patterns import section_title
from app.web.presenters.timewords import when
from app.web.render import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)


@router.get("/clients/new")
def new_client_page(request: Request, therapist: CurrentTherapist) -> Response:
    return render(request, "pages/therapist/client_new.html", {"errors": {}, "values": {}})


@router.post("/clients")
def create_client(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    therapist: CurrentTherapist,
    device: CurrentDevice,
    display_name: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    # No time zone here: the client's comes from their own phone (app/services/phone_zone.py).
    try:
        client = clients.create(session, therapist=therapist, display_name=display_name)
    except Invalid as error:
        return render(
            request,
            "pages/therapist/client_new.html",
            {"errors": {"display_name": error.message}, "values": {"display_name": display_name}},
            status_code=422,
        )
    issued = invites.issue(session, therapist=therapist, client=client, hours=settings.invite_hours)
    session.commit()
    return _hand_over(request, settings, device, client, issued)


def _hand_over(request: Request, settings, device, client, issued) -> Response:  # type: ignore[no-untyped-def]
    """Redirect after POST to the invitation's page, handing it the fresh link and code in a
    sealed, short-lived cookie for this device only (see app/web/presenters/invite_handoff.py)."""
    sealed = invite_handoff.seal(
        settings.secret_key,
        device_id=device.id,
        client_id=client.id,
        invite_id=issued.invite.id,
        token=issued.token,
        code=issued.code,
    )
    response = redirect(request, invite_handoff.path_for(client.id))
    invite_handoff.give(request, response, value=sealed, client_id=client.id)
    return response


@router.get("/clients/{client_id}/invite")
def invite_page(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    therapist: CurrentTherapist,
    device: CurrentDevice,
) -> Response:
    """The invitation just made, with its QR code, while it is pending and only on the device
    that made it; otherwise what became of it, and a button for a new one."""
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    handoff = invite_handoff.unseal(
        settings.secret_key, request.cookies.get(invite_handoff.COOKIE, ""), device_id=device.id, client_id=client.id
    )
    invite = session.get(Invite, handoff.invite_id) if handoff else None
    state = "gone"
    if invite is not None and invite.client_id == client.id:
        if invite.used_at is not None:
            state = "joined"
        elif invite.revoked_at is None and invite.expires_at > utcnow():
            state = "pending"
    context: dict[str, object] = {"client": client, "state": state}
    if state == "pending" and handoff is not None and invite is not None:
        link = f"{settings.base_url.rstrip('/')}/invite/{handoff.token}"
        context.update(
            link=link,
            code=handoff.code,
            expires_at=invite.expires_at,
            qr_svg=invite_qr_svg(link),
            join_url=f"{settings.base_url.rstrip('/')}/join",
        )
    response = render(request, "pages/therapist/invite.html", context)
    response.headers["Cache-Control"] = "no-store"
    if state != "pending" and handoff is not None:
        invite_handoff.take_back(request, response, client_id=client.id)
    return response


@router.post("/clients/{client_id}/invite")
def reinvite(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    therapist: CurrentTherapist,
    device: CurrentDevice,
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    issued = invites.issue(session, therapist=therapist, client=client, hours=settings.invite_hours)
    session.commit()
    return _hand_over(request, settings, device, client, issued)


@router.get("/clients/{client_id}")
def client_page(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    record_type: Annotated[str, Query(alias="type", max_length=40)] = "",
    from_day: Annotated[str, Query(alias="from", max_length=10)] = "",
    to_day: Annotated[str, Query(alias="to", max_length=10)] = "",
    page: Annotated[str, Query(max_length=6)] = "1",
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    return _client_page(
        request, session, therapist, client, record_type=record_type, from_day=from_day, to_day=to_day, page=page
    )


def _client_page(
    request: Request,
    session: SessionDep,
    therapist: Therapist,
    client: Client,
    *,
    record_type: str = "",
    from_day: str = "",
    to_day: str = "",
    page: str = "1",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The client's page; after a failed assign, with the form's errors and what was typed (422)."""
    # Entries a page at a time, of one record type and/or a range of the client's days.
    shown = entry_filters.parse(client, record_type=record_type, from_day=from_day, to_day=to_day, page=page)
    found = entries.page_for_therapist(
        session,
        therapist=therapist,
        client=client,
        template_id=shown.template_id,
        start=shown.start,
        end=shown.end,
        offset=shown.offset,
        limit=entry_filters.PAGE_SIZE,
    )
    session.commit()
    context = {
        "client": client,
        "entries": entry_views(session, found.entries),
        "found": found,
        "shown": shown,
        "record_types": assignments.record_types_given(session, client_id=client.id),
        "reminders_chosen": assignment_changes.reminders_by_assignment(session, client_id=client.id),
        "changes": assignment_changes.described(session, client_id=client.id),
        "stopped": assignments.recently_stopped(session, client_id=client.id),
        "weekly_day": default_weekly_day(client),
        "when": when,
        "assignments": assignment_lookup.active_for_client(session, client_id=client.id),
        "library": record_types.available(session, therapist=therapist),
        "devices": device_sessions.active(session, client_id=client.id),
        "frequencies": list(Frequency),
        "errors": errors or {},
        "values": values or {},
        "health": reminder_health.delivery_health(
            session,
            client=client,
            silent_after_reminders=get_settings_dep(request).silent_after_reminders,
            silent_after_days=get_settings_dep(request).silent_after_days,
        ),
        "for_client": False,
        "failure_reason": failure_reason,
        "pattern_sections": [(section.value, section_title(section)) for section in patterns.Section],
        "patterns_off": {section.value for section in patterns.switched_off(client)},
        "patterns_saved": request.query_params.get("patterns") == "saved",
    }
    status_code = 422 if shown.errors or errors else 200
    return render(request, "pages/therapist/client.html", context, block="content", status_code=status_code)


@router.post("/clients/{client_id}/devices/{device_id}/revoke")
def revoke_client_device(
    request: Request, client_id: uuid.UUID, device_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    device = next((d for d in device_sessions.active(session, client_id=client.id) if d.id == device_id), None)
    if device is None:
        raise NotFound(i18n.gettext("No such device."))
    # Signed out, not erased: the client still sees the device, and that their therapist ended it.
    device_trust.revoke(session, client=client, device=device, by="therapist", actor_id=therapist.id)
    session.commit()
    return redirect(request, f"/t/clients/{client.id}")


@router.post("/clients/{client_id}/unlink")
def unlink_client(request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    """End the link: the client keeps their records and their phone; this therapist no longer sees them."""
    clients.unlink(session, therapist=therapist, client_id=client_id)
    session.commit()
    return redirect(request, "/t")
