"""A client's sessions (appointments): the list, scheduling, moving, cancelling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.models import Appointment, Repeat
from app.services import appointments, clients
from app.web.deps import CurrentTherapist, SessionDep
from app.web.presenters import charts
from app.web.render import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)


# A repeating session shows its next few dates; the rest wait behind "more dates".
SERIES_SHOWN = 4


@dataclass(frozen=True)
class SessionGroup:
    """A repeating session once, with its coming occurrences; or a single session."""

    items: list[Appointment]
    title: str  # "Every week, Tuesday at 17:00"; "" for a single session

    @property
    def repeats(self) -> bool:
        return bool(self.title)

    @property
    def first(self) -> Appointment:
        return self.items[0]

    @property
    def shown(self) -> list[Appointment]:
        return self.items[:SERIES_SHOWN]

    @property
    def more(self) -> list[Appointment]:
        return self.items[SERIES_SHOWN:]


_REPEAT_TITLES = {
    Repeat.weekly: i18n.N_("Every week, %(weekday)s at %(time)s"),
    Repeat.biweekly: i18n.N_("Every two weeks, %(weekday)s at %(time)s"),
}


def session_groups(upcoming: list[Appointment]) -> list[SessionGroup]:
    """Coming sessions with each series once, in the order of their next date."""
    series: dict[uuid.UUID, list[Appointment]] = {}
    order: list[uuid.UUID | Appointment] = []
    for item in upcoming:
        if item.series_id is None or Repeat(item.repeat) is Repeat.none:
            order.append(item)
        elif item.series_id in series:
            series[item.series_id].append(item)
        else:
            series[item.series_id] = [item]
            order.append(item.series_id)
    groups = []
    for entry in order:
        if isinstance(entry, Appointment):
            groups.append(SessionGroup(items=[entry], title=""))
            continue
        items = series[entry]
        if len(items) == 1:
            groups.append(SessionGroup(items=items, title=""))
            continue
        first = items[0]
        local = first.starts_at.astimezone(ZoneInfo(first.timezone))
        title = i18n.gettext(
            _REPEAT_TITLES[Repeat(first.repeat)],
            weekday=format_datetime(local, "EEEE", locale=i18n.get_locale()),
            time=f"{local.hour:02d}:{local.minute:02d}",
        )
        groups.append(SessionGroup(items=items, title=title))
    return groups


def _sessions_context(session: SessionDep, client_id: uuid.UUID, therapist: Any) -> dict[str, Any]:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    upcoming = appointments.upcoming_for_client(session, client_id=client.id, limit=30)
    return {
        "client": client,
        "upcoming": upcoming,
        "groups": session_groups(upcoming),
        "recent": appointments.recent_for_client(session, client_id=client.id, limit=10),
        "repeats": list(Repeat),
        "errors": {},
        "values": {"timezone": client.timezone, "duration_minutes": "50", "repeat": "none"},
        **charts.page_helpers(),
    }


@router.get("/clients/{client_id}/sessions")
def sessions_page(request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    context = _sessions_context(session, client_id, therapist)
    return render(request, "pages/therapist/sessions.html", context, block="content")


def _parse_start(day: str, at: str, zone: str) -> datetime:
    errors = {}
    try:
        parsed_day = date.fromisoformat(day.strip())
    except ValueError:
        errors["date"] = i18n.gettext("Pick a date.")
    try:
        parsed_time = time.fromisoformat(at.strip())
    except ValueError:
        errors["time"] = i18n.gettext("Pick a time like 09:30.")
    if errors:
        raise Invalid(i18n.gettext("Please check the date and time."), errors=errors)
    return appointments.local_start(parsed_day, parsed_time, timezone=zone.strip())


def _duration(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid(
            i18n.gettext("A session lasts between 5 minutes and 8 hours."),
            errors={"duration_minutes": i18n.gettext("Between 5 and 480 minutes.")},
        ) from None


@router.post("/clients/{client_id}/sessions")
def schedule_session(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    day: Annotated[str, Form(alias="date", max_length=10)] = "",
    at: Annotated[str, Form(alias="time", max_length=8)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    duration_minutes: Annotated[str, Form(max_length=4)] = "50",
    repeat: Annotated[str, Form(max_length=16)] = "none",
) -> Response:
    context = _sessions_context(session, client_id, therapist)
    try:
        starts_at = _parse_start(day, at, timezone)
        appointments.schedule(
            session,
            therapist=therapist,
            client_id=client_id,
            starts_at=starts_at,
            timezone=timezone.strip(),
            duration_minutes=_duration(duration_minutes),
            repeat=repeat,
        )
    except Invalid as error:
        session.rollback()
        context["errors"] = {"form": error.message, **error.errors}
        context["values"] = {
            "date": day,
            "time": at,
            "timezone": timezone,
            "duration_minutes": duration_minutes,
            "repeat": repeat,
        }
        return render(request, "pages/therapist/sessions.html", context, status_code=422)
    session.commit()
    return redirect(request, f"/t/clients/{client_id}/sessions")


@router.post("/sessions/{appointment_id}/move")
def move_session(
    request: Request,
    appointment_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    day: Annotated[str, Form(alias="date", max_length=10)] = "",
    at: Annotated[str, Form(alias="time", max_length=8)] = "",
) -> Response:
    appointment: Appointment = appointments.get_for_therapist(
        session, therapist=therapist, appointment_id=appointment_id
    )
    starts_at = _parse_start(day, at, appointment.timezone)
    appointments.move(session, therapist=therapist, appointment_id=appointment_id, starts_at=starts_at)
    session.commit()
    return redirect(request, f"/t/clients/{appointment.client_id}/sessions")


@router.post("/sessions/{appointment_id}/cancel")
def cancel_session(
    request: Request,
    appointment_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    following: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    cancelled = appointments.cancel(
        session,
        therapist=therapist,
        appointment_id=appointment_id,
        following=following in ("1", "true", "on", "yes"),
    )
    session.commit()
    return redirect(request, f"/t/clients/{cancelled[0].client_id}/sessions")
