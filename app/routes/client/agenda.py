"""The day before a session: what the client wants to bring (the page the notification opens)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Gone, Invalid
from app.models import AgendaUpdate
from app.models.session_agenda import NOTE_MAX
from app.services import day_before
from app.web.deps import CurrentClient, SessionDep
from app.web.render import redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


def _ids(form: FormData, name: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(str(value)) for value in form.getlist(name)]
    except ValueError:
        raise Invalid(i18n.gettext("This form could not be read. Please reload the page.")) from None


def _page(request: Request, context: dict[str, Any], *, status_code: int = 200) -> Response:
    return render(request, "pages/client/agenda.html", context, block="content", status_code=status_code)


@router.get("/agenda")
def agenda_page(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    data = day_before.page(session, client=client)
    context = {"client": client, "data": data, "note_max": NOTE_MAX, "errors": {}}
    return _page(request, context)


@router.post("/agenda")
async def agenda_save(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    form = await request.form()
    raw = str(form.get("appointment", "") or "")
    try:
        appointment_id = uuid.UUID(raw) if raw else None
    except ValueError:
        raise Invalid(i18n.gettext("This form could not be read. Please reload the page.")) from None
    picks, shown = _ids(form, "pick"), _ids(form, "shown")
    note = str(form.get("note", "") or "")
    update = AgendaUpdate(
        appointment_id=appointment_id, picks=picks, note=note, note_private=form.get("note_private") == "1"
    )
    try:
        day_before.save(session, client=client, data=update, considered=shown)
    except (Invalid, Gone) as error:
        session.rollback()
        # Shown again as written, with the picks as ticked: nothing typed is lost (a session
        # moved meanwhile: the page now names the next one, the note still there).
        data = day_before.page(session, client=client)
        data.note, data.note_private, data.picked = note, update.note_private, set(picks)
        context = {"client": client, "data": data, "note_max": NOTE_MAX, "errors": error.errors or {"_": error.message}}
        return _page(request, context, status_code=error.status_code)
    session.commit()
    return redirect(request, "/c/agenda?saved=1")
