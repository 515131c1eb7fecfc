"""The therapist's home: the caseload, as cards or a table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from app.core.timeutil import valid_timezone
from app.web.deps import CurrentTherapist, SessionDep, get_settings_dep
from app.web.render import render

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
    from app.services import caseload
    from app.services.account_deletion import departures
    from app.web.presenters import caseload as caseload_view

    chosen = caseload_view.parse_view(view)
    remembered = request.cookies.get(CASELOAD_VIEW_COOKIE)
    shown = chosen or (caseload_view.View.table if remembered == "table" else caseload_view.View.cards)
    order = caseload_view.parse_sort(sort)
    zone = _browser_zone(request)
    built = caseload.build(
        session,
        therapist=therapist,
        silent_after_reminders=get_settings_dep(request).silent_after_reminders,
        silent_after_days=get_settings_dep(request).silent_after_days,
    )
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
    response = render(request, "pages/therapist/caseload.html", context, block="content")
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


@router.get("/clients")
def clients_list(therapist: CurrentTherapist) -> Response:
    # Where the address bar points after creating a client without JavaScript: the caseload.
    return RedirectResponse("/t", status_code=303)
