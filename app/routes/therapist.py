"""The therapist's pages: clients, invites, assignments, reading entries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from app import i18n
from app.deps import CurrentTherapist, SessionDep, SettingsDep
from app.models import AssignmentCreate, Frequency
from app.routes.reminders import failure_reason
from app.services import (
    assignments,
    audit,
    clients,
    device_sessions,
    device_trust,
    entries,
    invites,
    reminders,
    templates,
)
from app.services import frequency as frequency_rules
from app.services.errors import Invalid, NotFound
from app.services.timeutil import valid_timezone
from app.views import entry_views
from app.web import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)


# The caseload's last view (cards or table), remembered in this browser.
CASELOAD_VIEW_COOKIE = "between_caseload_view"
# The therapist's own time zone, as their browser says (caseload.js sets it): today's
# sessions and the caseload's times are in it. Without it, each time is in its own zone.
ZONE_COOKIE = "between_tz"


def _browser_zone(request: Request) -> str | None:
    name = request.cookies.get(ZONE_COOKIE, "")
    try:
        return valid_timezone(name) if name else None
    except ValueError:
        return None


@router.get("")
def clients_page(
    request: Request,
    session: SessionDep,
    therapist: CurrentTherapist,
    view: Annotated[str | None, Query(max_length=10)] = None,
    q: Annotated[str, Query(max_length=120)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    from app import caseload_view
    from app.services import caseload
    from app.services.account_deletion import departures

    chosen = caseload_view.parse_view(view)
    remembered = request.cookies.get(CASELOAD_VIEW_COOKIE)
    shown = chosen or (caseload_view.View.table if remembered == "table" else caseload_view.View.cards)
    order = caseload_view.parse_sort(sort)
    zone = _browser_zone(request)
    built = caseload.build(session, therapist=therapist)
    rows = caseload_view.caseload_rows(built, zone=zone)
    found = caseload_view.search(rows, q)
    if shown is caseload_view.View.table:
        found = caseload_view.sort(found, order)
    context = {
        "rows": found,
        "total": len(rows),
        "view": shown,
        "query": q,
        "order": order,
        "columns": caseload_view.columns(order),
        "today": caseload_view.today_views(caseload.todays_sessions(built, zone=zone), zone=zone),
        "zone": zone,
        "departures": departures(session, therapist_id=therapist.id),
    }
    response = render(request, "pages/t_caseload.html", context, block="content")
    if chosen is not None:
        response.set_cookie(
            CASELOAD_VIEW_COOKIE,
            chosen.value,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/t",
        )
    return response


@router.get("/clients/new")
def new_client_page(request: Request, therapist: CurrentTherapist) -> Response:
    return render(request, "pages/t_client_new.html", {"errors": {}, "values": {}})


@router.post("/clients")
def create_client(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    therapist: CurrentTherapist,
    display_name: Annotated[str, Form(max_length=120)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    try:
        client = clients.create(session, therapist=therapist, display_name=display_name, timezone=timezone or "UTC")
    except Invalid as error:
        return render(
            request,
            "pages/t_client_new.html",
            {"errors": {"display_name": error.message}, "values": {"display_name": display_name}},
            status_code=422,
        )
    issued = invites.issue(session, therapist=therapist, client=client, hours=settings.invite_hours)
    session.commit()
    return _invite_page(request, client, issued, settings.base_url)


def _invite_page(request: Request, client, issued, base_url: str) -> Response:  # type: ignore[no-untyped-def]
    return render(
        request,
        "pages/t_invite.html",
        {
            "client": client,
            "link": f"{base_url.rstrip('/')}/invite/{issued.token}",
            "code": issued.code,
            "expires_at": issued.invite.expires_at,
        },
    )


@router.post("/clients/{client_id}/invite")
def reinvite(
    request: Request, client_id: uuid.UUID, session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    issued = invites.issue(session, therapist=therapist, client=client, hours=settings.invite_hours)
    session.commit()
    return _invite_page(request, client, issued, settings.base_url)


@router.get("/clients/{client_id}")
def client_page(request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    rows = entries.list_for_therapist(session, therapist=therapist, client=client)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="entries.read", client_id=client.id)
    session.commit()
    context = {
        "client": client,
        "entries": entry_views(session, rows),
        "assignments": assignments.active_for_client(session, client_id=client.id),
        "library": templates.available(session, therapist=therapist),
        "devices": device_sessions.active(session, client_id=client.id),
        "frequencies": list(Frequency),
        "errors": {},
        "health": reminders.delivery_health(session, client=client),
        "for_client": False,
        "failure_reason": failure_reason,
    }
    return render(request, "pages/t_client.html", context, block="content")


@router.post("/clients/{client_id}/assignments")
def assign(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    template_id: Annotated[str, Form(max_length=40)] = "",
    instructions: Annotated[str, Form(max_length=2000)] = "",
    frequency: Annotated[str, Form(max_length=16)] = "",
    times_per_day: Annotated[str, Form(max_length=3)] = "1",
    weekdays: Annotated[list[str] | None, Form()] = None,
    proposed_times: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    try:
        fields = {
            "template_id": uuid.UUID(template_id),
            "instructions": instructions,
            "times_per_day": int(times_per_day or 1),
            "weekdays": [int(day) for day in (weekdays or ["1", "2", "3", "4", "5", "6", "7"])],
            "proposed_times": [item for item in proposed_times.replace(";", ",").split(",") if item.strip()],
        }
        # Not chosen: the record type's usual frequency ("when it happens" for event records).
        chosen = frequency_rules.parse(frequency)
        if chosen is not None:
            fields["frequency"] = chosen
        data = AssignmentCreate.model_validate(fields)
    except (ValueError, ValidationError):
        raise Invalid(
            i18n.gettext("Check the record type, the frequency, the weekdays and the times (like 08:30).")
        ) from None
    assignments.assign(session, therapist=therapist, client=client, data=data)
    session.commit()
    return redirect(request, f"/t/clients/{client.id}")


@router.post("/assignments/{assignment_id}/end")
def end_assignment(
    request: Request, assignment_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    assignment = assignments.end(session, therapist=therapist, assignment_id=assignment_id)
    session.commit()
    return redirect(request, f"/t/clients/{assignment.client_id}")


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


@router.post("/signout-everywhere")
def signout_everywhere(request: Request, session: SessionDep, therapist: CurrentTherapist) -> Response:
    device_sessions.revoke_all(session, therapist_id=therapist.id)
    session.commit()
    return redirect(request, "/signin")
