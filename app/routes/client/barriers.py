"""Barrier check-ins ("Not today, because…"): the client's pages."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.models import BarrierCreate, RecordTemplate, Visibility
from app.models.barrier import NOTE_MAX, Reason
from app.services import assignment_lookup, barriers, record_types
from app.services.entry_text import is_library_version, tr
from app.services.reminders import seen as reminder_seen
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.presenters.barriers import QUIET_COOKIE, checkin_form, day_words
from app.web.render import redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


def _context(session, client, assignment_id: uuid.UUID, day: date, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=assignment_id)
    template = session.get(RecordTemplate, assignment.template_id)
    assert template is not None
    version = record_types.current_version(session, template=template)
    today = barriers.today_of(session, client=client)
    title = tr(version.title, library=is_library_version(session, version))
    form = checkin_form(title, day, today)
    if "checkin_id" in extra:  # shown again after a mistake: the same check-in, the same id
        form["checkin_id"] = extra.pop("checkin_id")
    return {
        "client": client,
        "assignment": assignment,
        "title": title,
        "day": day,
        "checkin": form,
        "day_words": form["day_words"],
        "note_max": NOTE_MAX,
        "note": "",
        "voice_note": "",
        "visibility": Visibility.shared.value,
        "errors": {},
        **extra,
    }


@router.get("/barriers/new")
def checkin_page(
    request: Request,
    session: SessionDep,
    client: CurrentClient,
    assignment_id: Annotated[uuid.UUID | None, Query(alias="assignment")] = None,
    day: date | None = None,
    occurrence: str = "",
) -> Response:
    """One tap on a reason saves it; a note and who sees it are optional, below. Without a
    record named, the recently missed ones to choose from. Opened from a reminder's "Not
    today" (with its occurrence), the client saw that reminder."""
    if reminder_seen.seen_from_link(session, client=client, occurrence=occurrence):
        session.commit()
    if assignment_id is None:
        open_ones, _answered_today = barriers.unanswered(session, client=client)
        choices = [(item, day_words(item.day, item.today)) for item in open_ones]
        return render(request, "pages/client/barrier_pick.html", {"client": client, "choices": choices})
    today = barriers.today_of(session, client=client)
    day = day or today
    barriers.check_day(session, client=client, assignment_id=assignment_id, day=day, now=None)
    context = _context(session, client, assignment_id, day)
    return render(request, "pages/client/barrier.html", context)


def _form_data(form: FormData) -> BarrierCreate:
    unreadable = Invalid(i18n.gettext("This form could not be read. Please reload the page."))
    try:
        checkin_id = uuid.UUID(str(form.get("id", "")))
        assignment_id = uuid.UUID(str(form.get("assignment", "")))
        day = date.fromisoformat(str(form.get("day", "")))
    except ValueError:
        raise unreadable from None
    try:
        raw_voice = str(form.get("voice_note", "") or "").strip()
        voice_note_id = uuid.UUID(raw_voice) if raw_voice else None
    except ValueError:
        message = i18n.gettext("This voice note could not be found. Please record it again.")
        raise Invalid(message, errors={"voice_note_id": message}) from None
    did_it = form.get("did_it") == "1"
    raw_reason = str(form.get("reason", "") or "")
    try:
        reason = Reason(raw_reason) if raw_reason and not did_it else None
        visibility = Visibility(str(form.get("visibility", "shared") or "shared"))
    except ValueError:
        raise Invalid(
            i18n.gettext("Choose what got in the way."), errors={"reason": i18n.gettext("Choose one.")}
        ) from None
    return BarrierCreate(
        id=checkin_id,
        assignment_id=assignment_id,
        day=day,
        reason=reason,
        did_it_unrecorded=did_it,
        note=str(form.get("note", "") or ""),
        visibility=visibility,
        voice_note_id=voice_note_id,
    )


@router.post("/barriers")
async def checkin_submit(
    request: Request, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    form = await request.form()
    data = _form_data(form)
    try:
        barriers.record(session, client=client, data=data, device_id=access.device_id)
    except Invalid as error:
        session.rollback()
        if "day" in error.errors or "assignment_id" in error.errors:
            raise
        context = _context(
            session,
            client,
            data.assignment_id,
            data.day,
            checkin_id=data.id,
            note=data.note,
            # A recording the check-in could not take is not offered again: the client records anew.
            voice_note="" if "voice_note_id" in error.errors else str(data.voice_note_id or ""),
            visibility=data.visibility.value,
            errors=error.errors or {"_": error.message},
            error=error.message,
        )
        return render(request, "pages/client/barrier.html", context, status_code=422)
    session.commit()
    return redirect(request, "/c?told=1")


@router.post("/barriers/not-now")
def not_now(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    """Today's question is put away until tomorrow (on this device)."""
    today = barriers.today_of(session, client=client)
    response = redirect(request, "/c")
    response.set_cookie(
        QUIET_COOKIE,
        today.isoformat(),
        max_age=2 * 86400,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    return response
