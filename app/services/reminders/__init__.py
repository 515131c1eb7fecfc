"""Reminder settings, owned by the client: each reminder's schedule, validation, snoozing.

Beside them: `snooze_links` (the signed snooze capability in a notification), `subscriptions`
(the client's devices), `seen` (the client's sign that a reminder reached them), `health`
(delivery health, as the client and the therapist see it), `schedule` (pure functions over
times) and `settings` (the settings page as one decision)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.core.timeutil import parse_hhmm, valid_timezone
from app.models import (
    Assignment,
    Client,
    RecordTemplate,
    Reminder,
)
from app.models.types import utcnow
from app.services import assignment_lookup
from app.services.reminders import schedule as sched

MAX_TIMES = 12
SNOOZE_MINUTES = (15, 30, 60)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- the schedule of one reminder -------------------------------------------------------------


def schedule_for(reminder: Reminder, client: Client) -> sched.ReminderTimes:
    return sched.ReminderTimes(
        timezone=client.timezone,
        times=tuple(sorted({parse_hhmm(value) for value in reminder.times})),
        weekdays=frozenset(reminder.weekdays),
        day_boundary=client.day_boundary,
        quiet_start=reminder.quiet_start,
        quiet_end=reminder.quiet_end,
        random_start=reminder.random_start,
        random_end=reminder.random_end,
        random_count=reminder.random_count,
        random_min_gap_minutes=reminder.random_min_gap_minutes,
        seed=str(reminder.id),
    )


def compute_next_due(reminder: Reminder, client: Client, *, now: datetime) -> datetime | None:
    if reminder.paused or client.reminders_paused:
        return None
    due = sched.next_due(schedule_for(reminder, client), now)
    candidates = [due.at] if due else []
    if reminder.snoozed_until is not None and reminder.snoozed_until > now:
        candidates.append(reminder.snoozed_until)
    return min(candidates) if candidates else None


def reschedule(reminder: Reminder, client: Client, *, now: datetime | None = None) -> Reminder:
    reminder.next_due_at = compute_next_due(reminder, client, now=now or utcnow())
    reminder.updated_at = utcnow()
    return reminder


def reschedule_client(session: Session, *, client: Client, now: datetime | None = None) -> None:
    """Recompute every reminder of a client (after a change of zone, day boundary or pause)."""
    now = now or utcnow()
    for reminder in session.exec(select(Reminder).where(Reminder.client_id == client.id)):
        session.add(reschedule(reminder, client, now=now))


def next_local_times(
    reminder: Reminder, client: Client, *, now: datetime | None = None, limit: int = 5
) -> list[datetime]:
    """The next due instants as the client's local times (for their settings page)."""
    if reminder.paused or client.reminders_paused:
        return []
    zone = ZoneInfo(client.timezone)
    dues = sched.upcoming(schedule_for(reminder, client), now or utcnow(), limit=limit)
    return [due.at.astimezone(zone) for due in dues]


# --- validation --------------------------------------------------------------------------------


def _time(value: str | time | None, *, field_name: str, errors: dict[str, str]) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    try:
        return parse_hhmm(str(value))
    except ValueError:
        errors[field_name] = _("“%(value)s” is not a time of day like 08:30.", value=str(value)[:16])
        return None


def parse_times(values: Iterable[str | time], errors: dict[str, str]) -> list[str]:
    parsed: set[str] = set()
    for value in values:
        if isinstance(value, str) and not value.strip():
            continue
        at = _time(value, field_name="times", errors=errors)
        if at is not None:
            parsed.add(at.strftime("%H:%M"))
    if len(parsed) > MAX_TIMES:
        errors["times"] = _("At most %(count)s reminder times a day.", count=MAX_TIMES)
    return sorted(parsed)


def parse_weekdays(values: Iterable[int | str], errors: dict[str, str]) -> list[int]:
    days: set[int] = set()
    for value in values:
        text = str(value).strip().lower()
        # ASCII digits only: "²" or "①" pass isdigit() but not int().
        if text.isascii() and text.isdigit() and 1 <= int(text) <= 7:
            days.add(int(text))
        elif text[:3] in WEEKDAY_NAMES and text:
            days.add(WEEKDAY_NAMES.index(text[:3]) + 1)
        else:
            errors["weekdays"] = _("“%(value)s” is not a day of the week.", value=text[:16])
            return []
    if not days:
        errors["weekdays"] = _("Choose at least one day.")
    return sorted(days)


@dataclass
class ReminderInput:
    times: Sequence[str | time] = ()
    weekdays: Sequence[int | str] = (1, 2, 3, 4, 5, 6, 7)
    quiet_start: str | time | None = None
    quiet_end: str | time | None = None
    random_start: str | time | None = None
    random_end: str | time | None = None
    random_count: int | str = 0
    random_min_gap_minutes: int | str = 30
    paused: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _int(value: int | str, *, low: int, high: int, field_name: str, errors: dict[str, str]) -> int:
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        errors[field_name] = _("Enter a whole number.")
        return low
    if not low <= number <= high:
        errors[field_name] = _("Enter a number from %(low)s to %(high)s.", low=low, high=high)
    return number


def validate(data: ReminderInput, *, boundary: time) -> dict[str, Any]:
    """Checked, normalised reminder fields; raises Invalid listing every problem."""
    errors: dict[str, str] = {}
    times = parse_times(data.times, errors)
    weekdays = parse_weekdays(data.weekdays, errors)
    quiet_start = _time(data.quiet_start, field_name="quiet_start", errors=errors)
    quiet_end = _time(data.quiet_end, field_name="quiet_end", errors=errors)
    if (quiet_start is None) != (quiet_end is None) and "quiet_start" not in errors and "quiet_end" not in errors:
        errors["quiet_end"] = _("Give both the start and the end of quiet hours.")
    elif quiet_start is not None and quiet_start == quiet_end:
        errors["quiet_end"] = _("Quiet hours must end at a different time than they start.")
    random_start = _time(data.random_start, field_name="random_start", errors=errors)
    random_end = _time(data.random_end, field_name="random_end", errors=errors)
    count = _int(data.random_count, low=0, high=12, field_name="random_count", errors=errors)
    gap = _int(
        data.random_min_gap_minutes,
        low=0,
        high=720,
        field_name="random_min_gap_minutes",
        errors=errors,
    )
    if count and "random_start" not in errors and "random_end" not in errors:
        if random_start is None or random_end is None:
            errors["random_end"] = _("Give both the start and the end of the window for random prompts.")
        elif sched.window_minutes(random_start, random_end, boundary) <= 0:
            errors["random_end"] = _("The window must end after it starts.")
        elif sched.window_minutes(random_start, random_end, boundary) < (count - 1) * gap:
            errors["random_count"] = _("That many prompts do not fit in the window with that gap.")
    if errors:
        raise Invalid(next(iter(errors.values())), errors=errors)
    return {
        "times": times,
        "weekdays": weekdays,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "random_start": random_start if count else None,
        "random_end": random_end if count else None,
        "random_count": count,
        "random_min_gap_minutes": gap,
        "paused": bool(data.paused),
    }


# --- reminder settings -------------------------------------------------------------------------


def for_assignment(session: Session, *, assignment_id: uuid.UUID) -> Reminder | None:
    return session.exec(select(Reminder).where(Reminder.assignment_id == assignment_id)).first()


def save(
    session: Session,
    *,
    client: Client,
    assignment_id: uuid.UUID,
    data: ReminderInput,
    now: datetime | None = None,
) -> Reminder:
    """Create or change the client's reminder for one of their assignments."""
    assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=assignment_id)
    if assignment.ended_at is not None:
        raise Invalid(_("This record is no longer assigned."))
    fields = validate(data, boundary=client.day_boundary)
    reminder = for_assignment(session, assignment_id=assignment.id)
    created = reminder is None
    if reminder is None:
        reminder = Reminder(client_id=client.id, assignment_id=assignment.id)
    if (
        created
        or sorted(fields["times"]) != sorted(reminder.times)
        or sorted(fields["weekdays"]) != sorted(reminder.weekdays)
    ):
        # The client's own choice from now on: the therapist's later proposals no longer replace it.
        reminder.chosen_at = now or utcnow()
    for key, value in fields.items():
        setattr(reminder, key, value)
    reminder.snoozed_until = None
    session.add(reschedule(reminder, client, now=now))
    session.flush()
    return reminder


def propose(session: Session, *, assignment: Assignment, now: datetime | None = None) -> Reminder | None:
    """Turn the therapist's proposed times into the client's reminder, unless the client has one."""
    if not assignment.proposed_times or for_assignment(session, assignment_id=assignment.id):
        return None
    client = session.get(Client, assignment.client_id)
    if client is None:
        return None
    reminder = Reminder(
        client_id=client.id,
        assignment_id=assignment.id,
        times=list(assignment.proposed_times),
        weekdays=list(assignment.weekdays) or [1, 2, 3, 4, 5, 6, 7],
    )
    session.add(reschedule(reminder, client, now=now))
    session.flush()
    return reminder


def follow_proposal(session: Session, *, assignment: Assignment, now: datetime | None = None) -> Reminder | None:
    """After the therapist changed a record: a reminder still as proposed takes the new proposed
    times and days; one the client chose stays theirs (they are told what was proposed)."""
    reminder = for_assignment(session, assignment_id=assignment.id)
    if reminder is None:
        return propose(session, assignment=assignment, now=now)
    if reminder.chosen_at is not None:
        return reminder
    client = session.get(Client, assignment.client_id)
    if client is None:
        return reminder
    reminder.times = list(assignment.proposed_times)
    reminder.weekdays = list(assignment.weekdays) or [1, 2, 3, 4, 5, 6, 7]
    session.add(reschedule(reminder, client, now=now))
    return reminder


def update_preferences(
    session: Session,
    *,
    client: Client,
    timezone: str | None = None,
    day_boundary: str | time | None = None,
    email_fallback: bool | None = None,
    lock_screen_detail: bool | None = None,
    now: datetime | None = None,
) -> Client:
    """The client's reminder-wide settings; every reminder is rescheduled in the new zone."""
    errors: dict[str, str] = {}
    if timezone is not None:
        try:
            client.timezone = valid_timezone(timezone.strip())
        except ValueError:
            errors["timezone"] = _("Unknown time zone.")
    if day_boundary is not None:
        boundary = _time(day_boundary, field_name="day_boundary", errors=errors)
        if boundary is not None:
            if boundary > time(6, 0):
                errors["day_boundary"] = _("Your day can end at the latest at 06:00.")
            else:
                client.day_boundary = boundary
    if email_fallback is not None:
        if email_fallback and not client.email:
            errors["email_fallback"] = _("Add an email address first.")
        else:
            client.email_fallback = email_fallback
    if lock_screen_detail is not None:
        client.lock_screen_detail = lock_screen_detail
    if errors:
        session.expire(client)
        raise Invalid(next(iter(errors.values())), errors=errors)
    session.add(client)
    reschedule_client(session, client=client, now=now)
    return client


def pause_all(session: Session, *, client: Client, paused: bool = True, now: datetime | None = None) -> Client:
    client.reminders_paused = paused
    session.add(client)
    reschedule_client(session, client=client, now=now)
    return client


def snooze(
    session: Session,
    *,
    client: Client,
    reminder_id: uuid.UUID,
    minutes: int,
    now: datetime | None = None,
) -> Reminder:
    """Remind once more in 15, 30 or 60 minutes. Only the client's own reminders."""
    if minutes not in SNOOZE_MINUTES:
        raise Invalid(_("Snooze for 15, 30 or 60 minutes."))
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.client_id != client.id:
        raise NotFound(_("No such reminder."))
    now = now or utcnow()
    reminder.snoozed_until = (now + timedelta(minutes=minutes)).replace(microsecond=0)
    session.add(reschedule(reminder, client, now=now))
    return reminder


@dataclass(frozen=True)
class ReminderRow:
    assignment: Assignment
    title: str
    reminder: Reminder | None
    next_times: list[datetime]


def overview(session: Session, *, client: Client, now: datetime | None = None) -> list[ReminderRow]:
    """Each active assignment of the client with its reminder (if any) and next local times."""
    now = now or utcnow()
    rows = []
    for assignment, version in assignment_lookup.active_for_client(session, client_id=client.id):
        reminder = for_assignment(session, assignment_id=assignment.id)
        template = session.get(RecordTemplate, assignment.template_id)
        library = template is not None and template.is_library
        title = _(version.title) if library and version.title else version.title
        next_times = next_local_times(reminder, client, now=now) if reminder else []
        rows.append(ReminderRow(assignment, title, reminder, next_times))
    return rows
