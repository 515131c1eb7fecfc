"""A client's patterns as their therapist may see them (shared entries only), and the switches
that take sections off the client's "My patterns" page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.services import clients, patterns
from app.web.deps import CurrentTherapist, SessionDep
from app.web.presenters import charts
from app.web.presenters import patterns as pattern_view
from app.web.render import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)


@router.get("/clients/{client_id}/patterns")
def patterns_page(request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    data = patterns.for_therapist(session, therapist=therapist, client=client)
    context = {
        "client": client,
        "cards": pattern_view.cards(data, prefix="client"),
        "weeks": patterns.WINDOW.days // 7,
        "off": patterns.switched_off(client),
        **charts.page_helpers(),
    }
    return render(request, "pages/therapist/patterns.html", context, block="content")


@router.post("/clients/{client_id}/patterns")
def switch_sections(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    on: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The sections left on; every other one is switched off for this client."""
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    on = on or []
    known = {section.value for section in patterns.Section}
    if len(on) > len(known) or set(on) - known:
        raise Invalid(i18n.gettext("Choose from the listed sections."))
    off = {section for section in patterns.Section if section.value not in on}
    patterns.set_switched_off(session, therapist=therapist, client=client, off=off)
    session.commit()
    # A query of its own, so that the page loads again (a change of #fragment alone would not).
    return redirect(request, f"/t/clients/{client.id}?patterns=saved#patterns-heading")
