"""The client's reminder settings page as one decision: every field is checked before
anything is stored, so a mistake anywhere leaves all settings as they were.

The reminder engine (`app.services.reminders`) validates one reminder at a time; this
module checks the client-wide fields and every record's reminder together, then applies
them through the same services the rest of the app uses.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session

from app.core.errors import Invalid
from app.core.i18n import _
from app.core.timeutil import parse_hhmm, valid_timezone
from app.models import Client
from app.services import clients, reminders

# Deliberately loose: the address only has to reach a mail server; the client can see it.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LATEST_BOUNDARY = time(6, 0)


@dataclass
class Preferences:
    timezone: str
    day_boundary: str
    email: str
    email_fallback: bool
    lock_screen_detail: bool


def record_key(assignment_id: uuid.UUID, name: str) -> str:
    """The error key of one field of one record's reminder (`<assignment id>:<field>`)."""
    return f"{assignment_id}:{name}"


def _check_preferences(prefs: Preferences, errors: dict[str, str]) -> time | None:
    try:
        valid_timezone(prefs.timezone.strip())
    except ValueError:
        errors["timezone"] = _("Unknown time zone. Use a name like Europe/Madrid or America/New_York.")
    boundary: time | None = None
    raw = prefs.day_boundary.strip()
    try:
        boundary = parse_hhmm(raw or "00:00")
    except ValueError:
        errors["day_boundary"] = _("“%(value)s” is not a time of day like 08:30.", value=raw[:16])
    if boundary is not None and boundary > LATEST_BOUNDARY:
        errors["day_boundary"] = _("Your day can end at the latest at 06:00.")
        boundary = None
    email = prefs.email.strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        errors["email"] = _("This does not look like an email address.")
    if prefs.email_fallback and not email:
        errors["email"] = _("Add your email address to get reminders by email.")
    return boundary


def save(
    session: Session,
    *,
    client: Client,
    preferences: Preferences,
    records: Mapping[uuid.UUID, reminders.ReminderInput],
    now: datetime | None = None,
) -> None:
    """Check everything, then store it; raises Invalid with one message per field otherwise."""
    errors: dict[str, str] = {}
    boundary = _check_preferences(preferences, errors)
    for assignment_id, data in records.items():
        try:
            reminders.validate(data, boundary=boundary or client.day_boundary)
        except Invalid as problem:
            for name, message in problem.errors.items():
                errors[record_key(assignment_id, name)] = message
    if errors:
        raise Invalid(_("Some settings need another look."), errors=errors)

    zone = preferences.timezone.strip()
    if zone != client.timezone:
        clients.update_preferences(session, client=client, timezone=zone, now=now)
    client.email = preferences.email.strip() or None
    reminders.update_preferences(
        session,
        client=client,
        day_boundary=boundary,
        email_fallback=preferences.email_fallback,
        lock_screen_detail=preferences.lock_screen_detail,
        now=now,
    )
    for assignment_id, data in records.items():
        existing = reminders.for_assignment(session, assignment_id=assignment_id)
        # A record the client never set a reminder for, left empty, gets no reminder row.
        if existing is None and not _asks_for_anything(data):
            continue
        reminders.save(session, client=client, assignment_id=assignment_id, data=data, now=now)


def _asks_for_anything(data: reminders.ReminderInput) -> bool:
    times = [value for value in data.times if str(value).strip()]
    return bool(times) or str(data.random_count).strip() not in ("", "0")
