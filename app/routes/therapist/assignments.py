"""Assigning records to a client, changing how often and when, stopping and restarting them."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.core.timeutil import parse_hhmm
from app.models import (
    Assignment,
    AssignmentCreate,
    AssignmentSettings,
    Frequency,
    RecordTemplate,
    Therapist,
)
from app.routes.therapist.clients import _client_page
from app.services import assignment_changes, assignments, clients, record_types, reminders
from app.services import frequency as frequency_rules
from app.services.assignments import default_weekly_day
from app.services.entry_text import tr
from app.web.deps import CurrentTherapist, SessionDep
from app.web.presenters.timewords import when
from app.web.render import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)


ALL_DAYS = [1, 2, 3, 4, 5, 6, 7]


def parse_settings(
    *,
    frequency: str,
    times_per_day: str,
    weekdays: list[str] | None,
    weekly_day: str,
    instructions: str,
    proposed_times: str,
) -> AssignmentSettings:
    """The assign and edit forms' fields as settings; a translated Invalid naming each wrong field."""
    errors: dict[str, str] = {}
    try:
        chosen = frequency_rules.parse(frequency) or Frequency.daily
    except ValueError:
        chosen = Frequency.daily
        errors["frequency"] = i18n.gettext("Choose how often.")
    try:
        per_day = int(times_per_day or 1)
        if not 1 <= per_day <= 12:
            raise ValueError
    except ValueError:
        per_day = 1
        errors["times_per_day"] = i18n.gettext("Enter a number from 2 to 12.")
    days: list[int] = ALL_DAYS
    if chosen is Frequency.weekdays:
        try:
            days = sorted({int(day) for day in (weekdays or [])})
        except ValueError:
            days = []
        if not days or any(day < 1 or day > 7 for day in days):
            errors["weekdays"] = i18n.gettext("Choose at least one day.")
    elif chosen is Frequency.weekly:
        try:
            days = [int(weekly_day)]
            if not 1 <= days[0] <= 7:
                raise ValueError
        except ValueError:
            errors["weekly_day"] = i18n.gettext("Choose the day of the week.")
    times = [item.strip() for item in proposed_times.replace(";", ",").split(",") if item.strip()]
    bad = []
    for item in times:
        try:
            parse_hhmm(item)
        except ValueError:
            bad.append(item)
    if bad:
        errors["proposed_times"] = i18n.gettext("“%(value)s” is not a time of day like 08:30.", value=bad[0][:16])
    elif len(times) > reminders.MAX_TIMES:
        errors["proposed_times"] = i18n.gettext("At most %(count)s reminder times a day.", count=reminders.MAX_TIMES)
    if chosen is Frequency.times_per_day and "times_per_day" not in errors:
        try:
            frequency_rules.check(chosen, times_per_day=per_day)
        except Invalid as error:
            errors.update(error.errors)
    if errors:
        raise Invalid(i18n.gettext("Please check the fields marked below."), errors=errors)
    try:
        return AssignmentSettings(
            frequency=chosen,
            times_per_day=per_day if chosen is Frequency.times_per_day else 1,
            weekdays=days,
            instructions=instructions.strip(),
            proposed_times=times,
        )
    except ValidationError:
        raise Invalid(i18n.gettext("Please check the fields marked below.")) from None


def _title(session: Session, assignment: Assignment) -> str:
    template = session.get(RecordTemplate, assignment.template_id)
    assert template is not None
    version = record_types.current_version(session, template=template)
    return tr(version.title, library=template.is_library)


def _edit_context(session: Session, therapist: Therapist, assignment: Assignment, **extra: Any) -> dict[str, Any]:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=assignment.client_id)
    return {
        "client": client,
        "assignment": assignment,
        "title": _title(session, assignment),
        "current": assignment,
        "weekly_day": assignment.weekdays[0]
        if assignment.frequency is Frequency.weekly and len(assignment.weekdays) == 1
        else default_weekly_day(client),
        "values": {
            "instructions": assignment.instructions,
            "proposed_times": ", ".join(assignment.proposed_times),
        },
        "reminder": reminders.for_assignment(session, assignment_id=assignment.id),
        "history": assignment_changes.described(session, client_id=client.id).get(assignment.id, []),
        "errors": {},
        "when": when,
        **extra,
    }


@router.get("/assignments/{assignment_id}/edit")
def edit_page(request: Request, assignment_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    assignment = assignments.get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    return render(request, "pages/therapist/assignment_edit.html", _edit_context(session, therapist, assignment))


@router.post("/assignments/{assignment_id}/edit")
def save_edit(
    request: Request,
    assignment_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    frequency: Annotated[str, Form(max_length=16)] = "",
    times_per_day: Annotated[str, Form(max_length=3)] = "1",
    weekdays: Annotated[list[str] | None, Form()] = None,
    weekly_day: Annotated[str, Form(max_length=1)] = "",
    instructions: Annotated[str, Form(max_length=2000)] = "",
    proposed_times: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    assignment = assignments.get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    try:
        data = parse_settings(
            frequency=frequency,
            times_per_day=times_per_day,
            weekdays=weekdays,
            weekly_day=weekly_day,
            instructions=instructions,
            proposed_times=proposed_times,
        )
        changed = assignments.change(session, therapist=therapist, assignment_id=assignment.id, data=data)
    except Invalid as error:
        session.rollback()
        assignment = assignments.get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
        typed = SimpleNamespace(
            frequency=frequency if frequency in {f.value for f in Frequency} else assignment.frequency,
            times_per_day=int(times_per_day) if times_per_day.isdigit() else assignment.times_per_day,
            weekdays=[int(day) for day in (weekdays or []) if day.isdigit()],
        )
        context = _edit_context(
            session,
            therapist,
            assignment,
            current=typed,
            values={"instructions": instructions, "proposed_times": proposed_times},
            errors={"form": error.message, **error.errors},
            alert_errors=error.errors,
        )
        if weekly_day.isdigit():
            context["weekly_day"] = int(weekly_day)
        return render(request, "pages/therapist/assignment_edit.html", context, status_code=error.status_code)
    session.commit()
    state = "changed" if changed is not None else "unchanged"
    return redirect(request, f"/t/clients/{assignment.client_id}?{state}={assignment.id}#assignment-{assignment.id}")


@router.get("/assignments/{assignment_id}/end")
def stop_page(request: Request, assignment_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    """ "Stop" asks first (a page of its own, so it works without JavaScript)."""
    assignment = assignments.get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    client = clients.get_for_therapist(session, therapist=therapist, client_id=assignment.client_id)
    if assignment.ended_at is not None:
        return redirect(request, f"/t/clients/{client.id}")
    context = {"client": client, "assignment": assignment, "title": _title(session, assignment)}
    return render(request, "pages/therapist/assignment_stop.html", context)


@router.post("/assignments/{assignment_id}/restart")
def restart(request: Request, assignment_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    """Undo a stop ("Stopped. Undo"): the record comes back with its reminder."""
    assignment = assignments.restart(session, therapist=therapist, assignment_id=assignment_id)
    session.commit()
    return redirect(request, f"/t/clients/{assignment.client_id}?restarted={assignment.id}#assignment-{assignment.id}")


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
    weekly_day: Annotated[str, Form(max_length=1)] = "",
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
        if chosen is Frequency.weekly:
            # Once a week is due on one day: the week's entry may come on any day before it.
            fields["weekdays"] = [int(weekly_day or default_weekly_day(client))]
        data = AssignmentCreate.model_validate(fields)
    except (ValueError, ValidationError):
        # The form again, each wrong field marked, with what was typed.
        errors = _assign_errors(
            session,
            therapist,
            template_id=template_id,
            frequency=frequency,
            times_per_day=times_per_day,
            weekdays=weekdays,
            weekly_day=weekly_day,
            instructions=instructions,
            proposed_times=proposed_times,
        )
        values = {"template_id": template_id, "instructions": instructions, "proposed_times": proposed_times}
        return _client_page(request, session, therapist, client, errors=errors, values=values)
    assignments.assign(session, therapist=therapist, client=client, data=data)
    session.commit()
    return redirect(request, f"/t/clients/{client.id}")


def _assign_errors(session: SessionDep, therapist: Therapist, *, template_id: str, **fields: Any) -> dict[str, str]:
    """Which fields of the assign form are wrong, each with its message."""
    errors: dict[str, str] = {}
    try:
        chosen = uuid.UUID(template_id)
        if not any(
            template.id == chosen for template, _version in record_types.available(session, therapist=therapist)
        ):
            raise ValueError
    except ValueError:
        errors["template_id"] = i18n.gettext("Choose a record type.")
    try:
        parse_settings(**fields)
    except Invalid as error:
        errors.update(error.errors)
    if not errors:
        errors["_"] = i18n.gettext("Check the record type, the frequency, the weekdays and the times (like 08:30).")
    return errors


@router.post("/assignments/{assignment_id}/end")
def end_assignment(
    request: Request, assignment_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    assignment = assignments.end(session, therapist=therapist, assignment_id=assignment_id)
    session.commit()
    return redirect(request, f"/t/clients/{assignment.client_id}")
