"""Reminder settings (owned by the client), push subscriptions and delivery health."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.days import local_day
from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.core.push_rules import InvalidSubscriptionKeys, check_keys
from app.core.settings import Settings
from app.core.timeutil import parse_hhmm, valid_timezone
from app.models import (
    Assignment,
    Client,
    OccurrenceStatus,
    PushSubscription,
    RecordTemplate,
    Reminder,
    ReminderOccurrence,
    TemplateVersion,
)
from app.models.types import utcnow
from app.services import assignment_lookup, push_endpoints
from app.services import frequency as frequency_rules
from app.services.reminders import schedule as sched

MAX_TIMES = 12
SNOOZE_MINUTES = (15, 30, 60)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DELIVERED = (OccurrenceStatus.sent, OccurrenceStatus.retried_sent)


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


# --- snooze links in notifications --------------------------------------------------------------


def snooze_token(*, secret: str, client_id: uuid.UUID, reminder_id: uuid.UUID, expires: datetime) -> str:
    """A signed capability to snooze one reminder of one client (carried in the push payload)."""
    body = client_id.bytes + reminder_id.bytes + struct.pack(">I", int(expires.timestamp()))
    mac = hmac.new(_snooze_key(secret), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def read_snooze_token(*, secret: str, token: str, now: datetime | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 52:
        raise NotFound(_("This snooze link is not valid."))
    body, mac = raw[:36], raw[36:]
    if not hmac.compare_digest(mac, hmac.new(_snooze_key(secret), body, hashlib.sha256).digest()[:16]):
        raise NotFound(_("This snooze link is not valid."))
    (expires,) = struct.unpack(">I", body[32:])
    if expires < (now or utcnow()).timestamp():
        raise NotFound(_("This snooze link has expired."))
    return uuid.UUID(bytes=body[:16]), uuid.UUID(bytes=body[16:32])


def _snooze_key(secret: str) -> bytes:
    return hashlib.sha256(b"between-snooze:" + secret.encode()).digest()


# --- push subscriptions ------------------------------------------------------------------------


def device_label(user_agent: str) -> str:
    """A short, human label for a browser ("Safari on iPhone"), not the whole UA string."""
    ua = user_agent or ""
    if "iPhone" in ua or "iPad" in ua:
        device = "iPhone" if "iPhone" in ua else "iPad"
    elif "Android" in ua:
        device = "Android"
    elif "Mac OS X" in ua or "Macintosh" in ua:
        device = "Mac"
    elif "Windows" in ua:
        device = "Windows"
    elif "Linux" in ua:
        device = "Linux"
    else:
        device = ""
    for marker, name in (
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ):
        if marker in ua:
            browser = name
            break
    else:
        browser = ""
    label = " / ".join(part for part in (browser, device) if part)
    return label[:120]


_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def add_subscription(
    session: Session, *, client: Client, data: Any, user_agent: str = "", settings: Settings
) -> PushSubscription:
    """Store (or refresh) this device's subscription. Rejects malformed ones, and endpoints the
    push endpoint rules refuse (plain http, hosts that are or resolve to addresses that are not
    public, hosts off the allow-list): see app/services/push_endpoints.py. The host is looked up
    here, so call this from a worker thread, not the event loop."""
    invalid = Invalid(_("This push subscription could not be read. Please try again."))
    if not isinstance(data, dict):
        raise invalid
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict) or len(endpoint) > 2048:
        raise invalid
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str) or len(p256dh) > 128 or len(auth) > 64:
        raise invalid
    if not _B64URL.match(p256dh) or not _B64URL.match(auth):
        raise invalid
    try:
        check_keys(p256dh, auth)
    except InvalidSubscriptionKeys:
        raise invalid from None
    try:
        push_endpoints.EndpointRules.from_settings(settings).check_for_storing(endpoint)
    except push_endpoints.RefusedEndpoint as refused:
        raise _refused(refused.reason, invalid) from None
    subscription = session.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    if subscription is None:
        subscription = PushSubscription(client_id=client.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
    # The same browser may have been used by someone else before: it is this client's now.
    subscription.client_id = client.id
    subscription.p256dh = p256dh
    subscription.auth = auth
    subscription.user_agent = device_label(user_agent)
    subscription.expired_at = None
    subscription.failures = 0
    subscription.last_error = None
    session.add(subscription)
    session.flush()
    return subscription


def _refused(reason: str, invalid: Invalid) -> Invalid:
    if reason in (push_endpoints.INSECURE, push_endpoints.UNRESOLVED):
        return Invalid(_("Push notifications need a secure (https) push service."))
    if reason == push_endpoints.NOT_ALLOWED:
        return Invalid(
            _(
                "Reminders can only be sent through the push service of a common browser "
                "(Chrome, Firefox, Safari or Edge). Please try one of those."
            )
        )
    if reason == push_endpoints.ADDRESS:
        return Invalid(_("This push service is not on the public internet, so reminders cannot be sent through it."))
    return invalid


def remove_subscription(
    session: Session,
    *,
    client: Client,
    subscription_id: uuid.UUID | None = None,
    endpoint: str | None = None,
) -> None:
    statement = select(PushSubscription).where(PushSubscription.client_id == client.id)
    if subscription_id is not None:
        statement = statement.where(PushSubscription.id == subscription_id)
    elif endpoint is not None:
        statement = statement.where(PushSubscription.endpoint == endpoint)
    else:
        raise Invalid(_("Which device?"))
    subscription = session.exec(statement).first()
    if subscription is None:
        raise NotFound(_("No such device."))
    session.delete(subscription)


def active_subscriptions(session: Session, *, client_id: uuid.UUID) -> list[PushSubscription]:
    statement = (
        select(PushSubscription)
        .where(PushSubscription.client_id == client_id, col(PushSubscription.expired_at).is_(None))
        .order_by(col(PushSubscription.created_at))
    )
    return list(session.exec(statement))


# --- seen: the client's sign that a reminder reached them --------------------------------------


def mark_seen(
    session: Session,
    *,
    client_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    reminder_id: uuid.UUID | None = None,
    endpoint: str = "",
    now: datetime | None = None,
) -> ReminderOccurrence:
    """Note that the client saw this reminder: a tap on its notification or one of its buttons
    (the service worker's beacon names the device by its push endpoint, which only that
    browser and this server know), or the page it opens. The first sign sets `seen_at`; each
    beacon counts for its device. Only the client's own occurrence, of the reminder named
    when one is (the beacon's token names it)."""
    now = now or utcnow()
    occurrence = session.get(ReminderOccurrence, occurrence_id)
    if (
        occurrence is None
        or occurrence.client_id != client_id
        or (reminder_id is not None and occurrence.reminder_id != reminder_id)
    ):
        raise NotFound(_("No such reminder."))
    if occurrence.seen_at is None:
        occurrence.seen_at = now
        session.add(occurrence)
    if endpoint:
        device = session.exec(
            select(PushSubscription).where(
                PushSubscription.endpoint == endpoint[:2048], PushSubscription.client_id == client_id
            )
        ).first()
        if device is not None:
            device.seen_count += 1
            device.last_seen_at = now
            session.add(device)
    session.flush()
    return occurrence


def seen_from_link(session: Session, *, client: Client, occurrence: str | None) -> bool:
    """The page a reminder opens carries its occurrence (`?occurrence=`): opening it counts as
    seen. Anything else there (a mangled or someone else's id) is ignored: the page still opens."""
    if not occurrence:
        return False
    try:
        occurrence_id = uuid.UUID(occurrence[:64])
    except ValueError:
        return False
    try:
        mark_seen(session, client_id=client.id, occurrence_id=occurrence_id)
    except NotFound:
        return False
    return True


# --- delivery health ---------------------------------------------------------------------------


# A device's last success this close after a reminder was sent is that reminder's.
_SAME_SEND = timedelta(minutes=1)


@dataclass(frozen=True)
class DeliveryHealth:
    devices: list[PushSubscription]
    expired: list[PushSubscription]
    last_delivered_at: datetime | None  # the last notification any device took: reminder, test or nudge
    recent: dict[str, int]  # reminders by outcome over the last `days` days
    recent_failures: list[ReminderOccurrence]
    reminders: int
    paused: bool
    email_fallback: bool
    last_reminder_at: datetime | None = None  # the last reminder a device took
    timezone: str = "UTC"  # the client's: the zone these times are told in
    days: int = 7
    # Reminders that stayed quiet (not failures), by why: `frequency.QUIET_*`.
    quiet: dict[str, int] = field(default_factory=dict)
    # Reminders of the last `days` days the client showed they saw (a tap, or the page opened).
    seen: int = 0

    @property
    def quiet_done(self) -> int:
        """Stayed quiet because the record was already done that day (or, kept as it happens,
        something was written)."""
        return sum(n for reason, n in self.quiet.items() if reason != frequency_rules.QUIET_NOT_DUE)

    @property
    def quiet_not_due(self) -> int:
        """Stayed quiet because the record is not set for that day."""
        return self.quiet.get(frequency_rules.QUIET_NOT_DUE, 0)

    @property
    def last_other_at(self) -> datetime | None:
        """A later notification that was not a reminder (a test, a note before a session)."""
        last = self.last_delivered_at
        if last is None or (self.last_reminder_at is not None and last <= self.last_reminder_at + _SAME_SEND):
            return None
        return last

    @property
    def push_ready(self) -> bool:
        return bool(self.devices)

    @property
    def failing_devices(self) -> list[PushSubscription]:
        return [device for device in self.devices if device.failures]


def delivery_health(session: Session, *, client: Client, now: datetime | None = None, days: int = 7) -> DeliveryHealth:
    now = now or utcnow()
    since = now - timedelta(days=days)
    subscriptions = list(
        session.exec(
            select(PushSubscription)
            .where(PushSubscription.client_id == client.id)
            .order_by(col(PushSubscription.created_at))
        )
    )
    last_reminder = _aware(
        session.exec(
            select(func.max(ReminderOccurrence.sent_at)).where(
                ReminderOccurrence.client_id == client.id, col(ReminderOccurrence.status).in_(DELIVERED)
            )
        ).one()
    )
    last_delivered = last_reminder
    last_push = max((s.last_success_at for s in subscriptions if s.last_success_at), default=None)
    if last_push and (last_delivered is None or last_push > last_delivered):
        last_delivered = last_push
    # Counted by when each was sent (when it was due, for those never sent): the last reminder
    # delivered, when it is within the window, is always among those counted.
    counts = dict(
        session.exec(
            select(ReminderOccurrence.status, func.count())
            .where(
                ReminderOccurrence.client_id == client.id,
                func.coalesce(ReminderOccurrence.sent_at, ReminderOccurrence.due_at) >= since,
            )
            .group_by(col(ReminderOccurrence.status))
        ).all()
    )
    failures = list(
        session.exec(
            select(ReminderOccurrence)
            .where(
                ReminderOccurrence.client_id == client.id,
                ReminderOccurrence.due_at >= since,
                col(ReminderOccurrence.status).in_((OccurrenceStatus.missed, OccurrenceStatus.email)),
            )
            .order_by(col(ReminderOccurrence.due_at).desc())
            .limit(5)
        )
    )
    reminders = session.exec(select(func.count()).select_from(Reminder).where(Reminder.client_id == client.id)).one()
    seen = session.exec(
        select(func.count())
        .select_from(ReminderOccurrence)
        .where(
            ReminderOccurrence.client_id == client.id,
            col(ReminderOccurrence.seen_at).is_not(None),
            func.coalesce(ReminderOccurrence.sent_at, ReminderOccurrence.due_at) >= since,
        )
    ).one()
    return DeliveryHealth(
        devices=[s for s in subscriptions if s.expired_at is None],
        expired=[s for s in subscriptions if s.expired_at is not None],
        last_delivered_at=last_delivered,
        recent={str(status): int(n) for status, n in counts.items()},
        recent_failures=failures,
        reminders=int(reminders),
        paused=client.reminders_paused,
        email_fallback=client.email_fallback,
        last_reminder_at=last_reminder,
        timezone=client.timezone,
        days=days,
        quiet=_quiet_counts(session, client=client, since=since),
        seen=int(seen),
    )


def _quiet_counts(session: Session, *, client: Client, since: datetime) -> dict[str, int]:
    """Reminders that stayed quiet since `since`, by reason (older ones, without one, as done)."""
    rows = session.exec(
        select(ReminderOccurrence.last_error, func.count())
        .where(
            ReminderOccurrence.client_id == client.id,
            ReminderOccurrence.status == OccurrenceStatus.suppressed,
            ReminderOccurrence.due_at >= since,
        )
        .group_by(col(ReminderOccurrence.last_error))
    ).all()
    out: dict[str, int] = {}
    for reason, count in rows:
        key = reason or frequency_rules.QUIET_DONE
        out[key] = out.get(key, 0) + int(count)
    return out


@dataclass(frozen=True)
class QuietReminder:
    """A reminder that stayed quiet, as the client's reminder page tells it."""

    title: str
    due_local: datetime  # in the client's zone
    reason: str | None  # `frequency.QUIET_*` (None: recorded before reasons were kept)
    today: bool


def quiet_reminders(
    session: Session, *, client: Client, now: datetime | None = None, days: int = 7, limit: int = 10
) -> list[QuietReminder]:
    """The client's reminders that stayed quiet lately, newest first, with why: nothing is
    kept quiet without the client being able to see it."""
    now = now or utcnow()
    statement = (
        select(ReminderOccurrence.due_at, ReminderOccurrence.last_error, TemplateVersion.title, RecordTemplate)
        .join(Reminder, col(Reminder.id) == ReminderOccurrence.reminder_id)
        .join(Assignment, col(Assignment.id) == Reminder.assignment_id)
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(
            ReminderOccurrence.client_id == client.id,
            ReminderOccurrence.status == OccurrenceStatus.suppressed,
            ReminderOccurrence.due_at >= now - timedelta(days=days),
        )
        .order_by(col(ReminderOccurrence.due_at).desc())
        .limit(limit)
    )
    zone = ZoneInfo(client.timezone)
    today = local_day(now, timezone=client.timezone, boundary=client.day_boundary)
    out = []
    for due, reason, title, template in session.exec(statement):
        out.append(
            QuietReminder(
                title=_(title) if template.is_library and title else title,
                due_local=due.astimezone(zone),
                reason=reason,
                today=local_day(due, timezone=client.timezone, boundary=client.day_boundary) == today,
            )
        )
    return out


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's instant: SQLite hands back naive text or datetimes, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
