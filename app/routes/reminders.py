"""Reminders: the client's settings page, their devices' push subscriptions, snoozing from a
notification, and a test notification.

Three routers, because three kinds of caller:
- `router` (/c/reminders...): the client's pages, signed in with the session cookie;
- `api_router` (/api/v1/push/...): the JSON API push.js calls from the page;
- `push_router` (/push/...): called by the service worker, which has no CSRF token (the
  cookie is HttpOnly); each of these carries its own proof instead (see app/web/csrf.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Forbidden, Invalid, NotFound
from app.dispatch.vapid import VapidError, VapidKeys
from app.models import Client, PushSubscription, SessionKind
from app.routes.api import ERRORS
from app.services import frequency as frequency_rules
from app.services import reminders
from app.services.reminders import settings as reminder_settings
from app.web.deps import CurrentClient, DeviceDep, SessionDep, SettingsDep
from app.web.errors import wants_json
from app.web.render import is_htmx, jinja, redirect, render

router = APIRouter(prefix="/c/reminders", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/push", tags=["push"])
push_router = APIRouter(prefix="/push", include_in_schema=False)

# Time fields a record's reminder has besides its list of times.
_TIME_FIELDS = ("quiet_start", "quiet_end", "random_start", "random_end")
_MAX_SLOTS = reminders.MAX_TIMES
_SAMPLING_FIELDS = ("random_start", "random_end", "random_count", "random_min_gap_minutes")


def vapid_keys(request: Request) -> VapidKeys | None:
    """The deployment's VAPID keys, loaded once per app; None when push is not configured."""
    state = request.app.state
    if not hasattr(state, "vapid_keys"):
        try:
            state.vapid_keys = VapidKeys.load(state.settings)
        except VapidError:
            state.vapid_keys = None
    return state.vapid_keys  # type: ignore[no-any-return]


# --- what the page shows -----------------------------------------------------------------------


def _next_label(moment: datetime) -> str:
    """ "Tue 08:30": the weekday in the client's language, the time on a 24-hour clock."""
    names: dict[int, str] = dict(jinja.globals["weekday_names"])  # type: ignore[call-overload]
    return f"{names[moment.isoweekday()]} {moment.strftime('%H:%M')}"


def failure_reason(code: str | None) -> str:
    """A machine code of the dispatcher ("http_503") in plain words."""
    code = code or ""
    if code == "late":
        return i18n.gettext("it was due while the reminder service was not running")
    if code == "no_device":
        return i18n.gettext("no device had notifications turned on")
    if code in ("http_404", "http_410"):
        return i18n.gettext("the device no longer accepts notifications")
    if code in ("timeout", "network", "http_429") or code.startswith("http_5"):
        return i18n.gettext("the push service did not answer in time")
    if code == "email_failed":
        return i18n.gettext("the email could not be sent")
    return i18n.gettext("it could not be delivered")


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
    for item in reminders.quiet_reminders(session, client=client):
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
    test_outcome: reminder_settings.SendOutcome | None = None,
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
        "health": reminders.delivery_health(session, client=client),
        "quiet": _quiet_lines(session, client),
        "for_client": True,
        "failure_reason": failure_reason,
        "test_outcome": test_outcome,
        "vapid_public_key": keys.public_key if keys else "",
        # The stored zone is the default one nobody chose: let the browser fill in its own.
        "detect_zone": client.timezone_set_at is None and form is None,
    }
    return render(request, "pages/client/reminders.html", context, status_code=status_code, block=block)


# --- the client's settings page ----------------------------------------------------------------


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
    results = await reminder_settings.send_test(
        engine=request.app.state.engine, settings=settings, keys=keys, client=client
    )
    session.expire_all()
    outcome = reminder_settings.SendOutcome.of(results)
    return _page(request, session, client, test_outcome=outcome, block="health")


@router.post("/devices/{subscription_id}/remove")
def remove_device(request: Request, subscription_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    reminders.remove_subscription(session, client=client, subscription_id=subscription_id)
    session.commit()
    if is_htmx(request):
        return _page(request, session, client, block="health")
    return redirect(request, "/c/reminders")


# --- the JSON API push.js uses ------------------------------------------------------------------


class DevicePublic(BaseModel):
    id: uuid.UUID
    device: str
    created_at: datetime
    last_success_at: datetime | None
    expired: bool


def _device(subscription: PushSubscription) -> DevicePublic:
    return DevicePublic(
        id=subscription.id,
        device=subscription.user_agent,
        created_at=subscription.created_at,
        last_success_at=subscription.last_success_at,
        expired=subscription.expired_at is not None,
    )


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    # Too deep a body is refused before it gets here (app/web/input_checks.py); RecursionError stays
    # caught in case that check is ever bypassed.
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid(i18n.gettext("This push subscription could not be read. Please try again.")) from None


@api_router.post(
    "/subscriptions",
    response_model=DevicePublic,
    status_code=201,
    responses=ERRORS,
    summary="Register this browser's push subscription (PushSubscription.toJSON())",
)
async def add_subscription(request: Request, session: SessionDep, settings: SettingsDep, client: CurrentClient) -> Any:
    data = await _json_body(request)
    # In a worker thread: checking the endpoint looks its host up (app/services/push_endpoints.py).
    subscription = await run_in_threadpool(
        reminders.add_subscription,
        session,
        client=client,
        data=data,
        user_agent=request.headers.get("user-agent", ""),
        settings=settings,
    )
    session.commit()
    return _device(subscription)


@api_router.get("/subscriptions", response_model=list[DevicePublic], responses=ERRORS, summary="My devices")
def list_subscriptions(session: SessionDep, client: CurrentClient) -> Any:
    health = reminders.delivery_health(session, client=client)
    return [_device(subscription) for subscription in health.devices + health.expired]


@api_router.delete(
    "/subscriptions/{subscription_id}", status_code=204, responses=ERRORS, summary="Stop reminders on one device"
)
def delete_subscription(subscription_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    reminders.remove_subscription(session, client=client, subscription_id=subscription_id)
    session.commit()
    return Response(status_code=204)


# --- called by the service worker -----------------------------------------------------------------


@push_router.get("/public-key")
def public_key(request: Request) -> Response:
    keys = vapid_keys(request)
    if keys is None:
        raise NotFound(i18n.gettext("Notifications are not set up on this server yet."))
    return JSONResponse({"publicKey": keys.public_key}, headers={"Cache-Control": "no-cache"})


async def _fields(request: Request) -> dict[str, str]:
    """Snooze comes as JSON from the service worker and as a form from the record page."""
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise Invalid(i18n.gettext("This snooze link is not valid."))
        return {key: str(value)[:200] for key, value in data.items() if isinstance(value, str | int)}
    form = await request.form()
    return {key: str(value)[:200] for key, value in form.items() if isinstance(value, str)}


@push_router.post("/snooze")
async def snooze(request: Request, session: SessionDep, settings: SettingsDep, device: DeviceDep) -> Response:
    """Remind once more later. The signed token names the client and the reminder; no cookie
    is needed, but a browser signed in as someone else may not use it."""
    fields = await _fields(request)
    client_id, reminder_id = reminders.read_snooze_token(secret=settings.secret_key, token=fields.get("token", ""))
    if device is not None and device.kind == SessionKind.client and device.client_id != client_id:
        raise Forbidden(i18n.gettext("This reminder belongs to someone else."))
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(i18n.gettext("No such reminder."))
    try:
        minutes = int(fields.get("minutes", "30"))
    except ValueError:
        minutes = 0
    reminder = reminders.snooze(session, client=client, reminder_id=reminder_id, minutes=minutes)
    session.commit()
    if wants_json(request):
        assert reminder.snoozed_until is not None
        return JSONResponse({"snoozed_until": reminder.snoozed_until.isoformat(), "minutes": minutes})
    return redirect(request, f"/c?snoozed={minutes}")


@push_router.post("/subscription-change")
async def subscription_change(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The browser replaced a subscription (`pushsubscriptionchange`). The old endpoint, a secret
    only that browser and this server know, proves which client the new one belongs to."""
    data = await _json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("old_endpoint"), str):
        raise Invalid(i18n.gettext("This push subscription could not be read. Please try again."))
    old = session.exec(select(PushSubscription).where(PushSubscription.endpoint == data["old_endpoint"])).first()
    client = session.get(Client, old.client_id) if old is not None else None
    if old is None or client is None:
        raise NotFound(i18n.gettext("No such device."))
    subscription = await run_in_threadpool(
        reminders.add_subscription,
        session,
        client=client,
        data=data.get("subscription"),
        user_agent=request.headers.get("user-agent", ""),
        settings=settings,
    )
    if old.id != subscription.id:
        session.delete(old)
    session.commit()
    return JSONResponse({"id": str(subscription.id)}, status_code=201)
