"""The client's reminders: times per record, quiet hours, pausing, devices and a test notification."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.dispatch import probe
from app.models import Client
from app.services import frequency as frequency_rules
from app.services import reminders
from app.services.reminders import health as reminder_health
from app.services.reminders import settings as reminder_settings
from app.services.reminders import subscriptions
from app.web.deps import CurrentClient, SessionDep, SettingsDep, get_settings_dep, vapid_keys
from app.web.presenters.delivery import failure_reason
from app.web.render import is_htmx, jinja, redirect, render

router = APIRouter(prefix="/c/reminders", include_in_schema=False)


# Time fields a record's reminder has besides its list of times.
_TIME_FIELDS = ("quiet_start", "quiet_end", "random_start", "random_end")


_MAX_SLOTS = reminders.MAX_TIMES


_SAMPLING_FIELDS = ("random_start", "random_end", "random_count", "random_min_gap_minutes")


def _next_label(moment: datetime) -> str:
    """ "Tue 08:30": the weekday in the client's language, the time on a 24-hour clock."""
    names: dict[int, str] = dict(jinja.globals["weekday_names"])  # type: ignore[call-overload]
    return f"{names[moment.isoweekday()]} {moment.strftime('%H:%M')}"


def _record_rows(
    session: SessionDep, client: Client, form: FormData | None, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Each record's reminder as form values: what was posted (after a 422), else what is stored,
    else the therapist's proposal."""
    rows = []
    for row in reminders.overview(session, client=client):
        assignment_id = row.assignment.id
        reminder = row.reminder
        prefix = f"r-{assignment_id}-"
        if form is not None:
            times = [str(value) for value in form.getlist(prefix + "times")]
            weekdays = {str(value) for value in form.getlist(prefix + "weekdays")}
            values = {name: str(form.get(prefix + name, "")) for name in _TIME_FIELDS}
            values["random_count"] = str(form.get(prefix + "random_count", "0"))
            values["random_min_gap_minutes"] = str(form.get(prefix + "random_min_gap_minutes", "30"))
            paused = form.get(prefix + "paused") == "1"
            proposed = False
        elif reminder is not None:
            times = list(reminder.times)
            weekdays = {str(day) for day in reminder.weekdays}
            values = {name: _hhmm(getattr(reminder, name)) for name in _TIME_FIELDS}
            values["random_count"] = str(reminder.random_count)
            values["random_min_gap_minutes"] = str(reminder.random_min_gap_minutes)
            paused = reminder.paused
            proposed = False
        else:
            times = list(row.assignment.proposed_times)
            weekdays = {str(day) for day in (row.assignment.weekdays or range(1, 8))}
            values = dict.fromkeys(_TIME_FIELDS, "")
            values["random_count"] = "0"
            values["random_min_gap_minutes"] = "30"
            paused = False
            proposed = bool(times)
        filled = [value for value in times if value.strip()]
        slots = (filled + [""] * 2)[: max(2, min(_MAX_SLOTS, len(filled) + 1))]
        own_errors = {
            key.split(":", 1)[1]: message for key, message in errors.items() if key.startswith(f"{assignment_id}:")
        }
        rows.append(
            {
                "id": assignment_id,
                "prefix": prefix,
                "title": row.title,
                "slots": slots,
                "weekdays": weekdays,
                "values": values,
                "paused": paused,
                "proposed": proposed,
                "therapist_times": list(row.assignment.proposed_times),
                # What a reminder does once the record is done, in plain words.
                "rule": frequency_rules.reminder_rule(row.assignment, title=row.title, times=filled),
                "next": [_next_label(moment) for moment in row.next_times],
                "errors": own_errors,
                "sampling_open": values["random_count"] not in ("", "0")
                or any(name in own_errors for name in _SAMPLING_FIELDS),
                "quiet_open": bool(values["quiet_start"] or values["quiet_end"])
                or "quiet_start" in own_errors
                or "quiet_end" in own_errors,
            }
        )
    return rows


def _quiet_lines(session: SessionDep, client: Client) -> list[tuple[str, str]]:
    """Reminders that stayed quiet lately, as (record, why) in the client's words."""
    names: dict[int, str] = dict(jinja.globals["weekday_names"])  # type: ignore[call-overload]
    lines = []
    for item in reminder_health.quiet_reminders(session, client=client):
        moment = item.due_local
        day = f"{names[moment.isoweekday()]} {moment.day}"
        why = frequency_rules.quiet_sentence(item.reason, time=moment.strftime("%H:%M"), day=day, today=item.today)
        lines.append((item.title, why))
    return lines


def _hhmm(value: Any) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def _page(
    request: Request,
    session: SessionDep,
    client: Client,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    test_outcome: probe.SendOutcome | None = None,
    block: str | None = None,
) -> Response:
    errors = errors or {}
    keys = vapid_keys(request)
    if form is not None:
        prefs = {
            "timezone": str(form.get("timezone", "")),
            "day_boundary": str(form.get("day_boundary", "")),
            "email": str(form.get("email", "")),
            "email_fallback": form.get("email_fallback") == "1",
            "lock_screen_detail": form.get("lock_screen_detail") == "1",
        }
    else:
        prefs = {
            "timezone": client.timezone,
            "day_boundary": client.day_boundary.strftime("%H:%M"),
            "email": client.email or "",
            "email_fallback": client.email_fallback,
            "lock_screen_detail": client.lock_screen_detail,
        }
    context = {
        "client": client,
        "prefs": prefs,
        "records": _record_rows(session, client, form, errors),
        "errors": errors,
        "health": reminder_health.delivery_health(
            session,
            client=client,
            silent_after_reminders=get_settings_dep(request).silent_after_reminders,
            silent_after_days=get_settings_dep(request).silent_after_days,
        ),
        "quiet": _quiet_lines(session, client),
        "for_client": True,
        "failure_reason": failure_reason,
        "test_outcome": test_outcome,
        "vapid_public_key": keys.public_key if keys else "",
        # The stored zone is the default one nobody chose: let the browser fill in its own.
        "detect_zone": client.timezone_set_at is None and form is None,
    }
    return render(request, "pages/client/reminders.html", context, status_code=status_code, block=block)


@router.get("")
def reminders_page(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    return _page(request, session, client)


def _reminder_input(form: FormData, prefix: str) -> reminders.ReminderInput:
    return reminders.ReminderInput(
        times=[str(value)[:16] for value in form.getlist(prefix + "times")][: _MAX_SLOTS * 2],
        weekdays=[str(value)[:16] for value in form.getlist(prefix + "weekdays")][:14],
        quiet_start=str(form.get(prefix + "quiet_start", ""))[:16],
        quiet_end=str(form.get(prefix + "quiet_end", ""))[:16],
        random_start=str(form.get(prefix + "random_start", ""))[:16],
        random_end=str(form.get(prefix + "random_end", ""))[:16],
        random_count=str(form.get(prefix + "random_count", "0"))[:8],
        random_min_gap_minutes=str(form.get(prefix + "random_min_gap_minutes", "30"))[:8],
        paused=form.get(prefix + "paused") == "1",
    )


@router.post("")
async def save_reminders(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    form = await request.form()
    records = {}
    for row in reminders.overview(session, client=client):
        # Only the records this form showed: one assigned meanwhile keeps its proposal.
        if form.get(f"r-{row.assignment.id}-shown") == "1":
            records[row.assignment.id] = _reminder_input(form, f"r-{row.assignment.id}-")
    preferences = reminder_settings.Preferences(
        timezone=str(form.get("timezone", client.timezone))[:64],
        day_boundary=str(form.get("day_boundary", "00:00"))[:16],
        email=str(form.get("email", ""))[:300],
        email_fallback=form.get("email_fallback") == "1",
        lock_screen_detail=form.get("lock_screen_detail") == "1",
    )
    try:
        reminder_settings.save(session, client=client, preferences=preferences, records=records)
    except Invalid as error:
        session.rollback()
        return _page(request, session, client, form=form, errors=error.errors or {"_": error.message}, status_code=422)
    session.commit()
    return redirect(request, "/c/reminders?saved=1")


@router.post("/pause")
async def pause_reminders(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    form = await request.form()
    reminders.pause_all(session, client=client, paused=form.get("paused") == "1")
    session.commit()
    return redirect(request, "/c/reminders")


@router.get("/health")
def health_fragment(request: Request, session: SessionDep, client: CurrentClient) -> Response:
    """The delivery health card alone (push.js refreshes it after a device is added)."""
    return _page(request, session, client, block="health")


@router.post("/test")
async def send_test_notification(
    request: Request, session: SessionDep, settings: SettingsDep, client: CurrentClient
) -> Response:
    keys = vapid_keys(request)
    if keys is None:
        raise Invalid(i18n.gettext("Notifications are not set up on this server yet."))
    results = await probe.send_test(engine=request.app.state.engine, settings=settings, keys=keys, client=client)
    session.expire_all()
    outcome = probe.SendOutcome.of(results)
    return _page(request, session, client, test_outcome=outcome, block="health")


@router.post("/devices/{subscription_id}/remove")
def remove_device(request: Request, subscription_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    subscriptions.remove_subscription(session, client=client, subscription_id=subscription_id)
    session.commit()
    if is_htmx(request):
        return _page(request, session, client, block="health")
    return redirect(request, "/c/reminders")
