"""The client's first minute after joining, and their phone's time zone.

- /c/welcome: what Between is, what the therapist sees and never sees, the phone's time
  zone, the reminder times the therapist proposed (kept or changed), notifications, and the
  first record. One page: reading costs no taps, and "Try it now" saves whatever was changed
  and opens the first record. Skippable: Today is a link away and nothing here is required.
- /c/zone/phone and /c/zone: js/zone.js reports the phone's zone whenever Between opens;
  when it differs from the client's, the client is asked (see app/services/phone_zone.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.services import phone_zone, reminders
from app.web.deps import CurrentClient, SessionDep, vapid_keys
from app.web.render import redirect, render, wants_fragment

router = APIRouter(prefix="/c", include_in_schema=False)


# --- the first minute --------------------------------------------------------------------------


def _times(row: reminders.ReminderRow) -> list[str]:
    if row.reminder is not None:
        return list(row.reminder.times)
    return list(row.assignment.proposed_times)


def _welcome(
    request: Request,
    session: SessionDep,
    client: Any,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = reminders.overview(session, client=client)
    records = []
    for row in rows:
        prefix = f"r-{row.assignment.id}-"
        times = [str(v) for v in form.getlist(prefix + "times")] if form is not None else _times(row)
        records.append(
            {
                "id": row.assignment.id,
                "prefix": prefix,
                "title": row.title,
                "times": times or [""],
                "error": (errors or {}).get(str(row.assignment.id)),
            }
        )
    keys = vapid_keys(request)
    context = {
        "client": client,
        "records": records,
        "first": rows[0] if rows else None,
        "zone_known": phone_zone.known(client),
        "place": phone_zone.place_name(client.timezone),
        "zone_value": str(form.get("timezone", "")) if form is not None else "",
        "errors": errors or {},
        "vapid_public_key": keys.public_key if keys else "",
    }
    return render(request, "pages/client/welcome.html", context, status_code=status_code)


@router.get("/welcome")
def welcome_page(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    return _welcome(request, session, client)


@router.post("/welcome")
async def finish_welcome(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    """Keep or change the proposed reminder times (and, without JavaScript, say the time zone);
    then open the first record, or Today."""
    form = await request.form()
    errors: dict[str, str] = {}
    zone = str(form.get("timezone", "")).strip()[:64]
    if zone and not phone_zone.known(client):
        try:
            phone_zone.follow(session, client=client, zone=zone)
        except Invalid as error:
            errors["timezone"] = error.errors.get("timezone", error.message)
    for row in reminders.overview(session, client=client):
        prefix = f"r-{row.assignment.id}-"
        if form.get(prefix + "shown") != "1":
            continue  # assigned after the page was shown: its proposal stays as it is
        wanted = [str(value)[:16] for value in form.getlist(prefix + "times")][: reminders.MAX_TIMES]
        if sorted(t.strip() for t in wanted if t.strip()) == sorted(_times(row)):
            continue  # accepted as proposed (or as already set): nothing to store
        current = row.reminder
        data = reminders.ReminderInput(
            times=wanted,
            weekdays=list(current.weekdays) if current else list(row.assignment.weekdays or range(1, 8)),
            quiet_start=current.quiet_start if current else None,
            quiet_end=current.quiet_end if current else None,
            random_start=current.random_start if current else None,
            random_end=current.random_end if current else None,
            random_count=current.random_count if current else 0,
            random_min_gap_minutes=current.random_min_gap_minutes if current else 30,
            paused=current.paused if current else False,
        )
        try:
            reminders.save(session, client=client, assignment_id=row.assignment.id, data=data)
        except Invalid as error:
            errors[str(row.assignment.id)] = error.errors.get("times", error.message)
    if errors:
        session.rollback()
        return _welcome(request, session, client, form=form, errors=errors, status_code=422)
    session.commit()
    target = "/c"
    if form.get("next") == "record":
        try:
            first = uuid.UUID(str(form.get("first", "")))
        except ValueError:
            first = None
        if first is not None and any(row.assignment.id == first for row in reminders.overview(session, client=client)):
            target = f"/c/record/{first}"
    return redirect(request, target)


# --- the phone's time zone ---------------------------------------------------------------------


@router.post("/zone/phone")
async def phone_says(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    """js/zone.js, whenever Between opens on a phone whose zone is not the client's: take it if
    the client's zone is still unknown, or answer with the question to ask (204: nothing to ask)."""
    form = await request.form()
    zone = str(form.get("timezone", ""))[:64]
    seen = phone_zone.seen(session, client=client, zone=zone)
    session.commit()
    if seen is not phone_zone.Seen.ask:
        return Response(status_code=204)
    context = _question_context(client, zone, str(form.get("next", "")))
    # The header tells js/zone.js this is the question, not some other page (the PIN page).
    return render(request, "_zone_question.html", context, headers={"Between-Zone": "ask"})


def _question_context(client: Any, zone: str, next_path: str) -> dict[str, Any]:
    return {
        "zone": zone,
        "place": phone_zone.place_name(zone),
        "current_place": phone_zone.place_name(client.timezone),
        "next": _local_path(next_path),
    }


def _local_path(value: str) -> str:
    # Only this app's own client pages: never a redirect to another site.
    if value.startswith("/c") and not value.startswith("//") and "\\" not in value:
        return value[:300]
    return "/c"


@router.post("/zone")
async def answer_zone(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    """The client's answer: "Yes" moves every reminder to the phone's zone, "Not now" keeps
    them where they are and is remembered for that zone for a few days."""
    form = await request.form()
    zone = str(form.get("timezone", ""))[:64]
    answer = str(form.get("answer", ""))
    if answer == "follow":
        phone_zone.follow(session, client=client, zone=zone)
        message = i18n.gettext(
            "Done. Your reminders now follow %(place)s time.", place=phone_zone.place_name(client.timezone)
        )
    elif answer == "later":
        phone_zone.not_now(session, client=client, zone=zone)
        message = i18n.gettext(
            "All right. Your reminders stay on %(place)s time. We will not ask again about this for a few days.",
            place=phone_zone.place_name(client.timezone),
        )
    else:
        raise Invalid(i18n.gettext("Choose whether your reminders should follow your phone."))
    session.commit()
    if wants_fragment(request):
        return render(request, "_zone_answered.html", {"message": message})
    return redirect(request, _local_path(str(form.get("next", ""))))
