"""Delivery health: what reached the client lately, per device, as the client and therapist see it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, or_
from sqlmodel import Session, col, select

from app.core.days import local_day
from app.core.i18n import _
from app.core.querying import among_ids
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
from app.services import frequency as frequency_rules

# A device's last success this close after a reminder was sent is that reminder's.
_SAME_SEND = timedelta(minutes=1)

DELIVERED = (OccurrenceStatus.sent, OccurrenceStatus.retried_sent)

# Why a reminder went out by email although a device took it: every device was silent.
SILENT = "silent"
# The reminders the silent rule looks back on are at most this old (keeps its query bounded).
_SILENT_LOOKBACK = timedelta(days=60)


class DeviceSigns(Protocol):
    """What the silent rule reads of a device: a PushSubscription, or a row of its columns."""

    created_at: datetime
    expired_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_seen_at: datetime | None
    last_open_at: datetime | None


def last_sign_of_life(device: DeviceSigns) -> datetime:
    """When this device last showed that reminders appear on it: one seen on it (a tap), Between
    opened on it from one, or the moment reminders were turned on there."""
    signs = [_aware(at) for at in (device.created_at, device.last_seen_at, device.last_open_at)]
    return max(at for at in signs if at is not None)


def is_silent(device: DeviceSigns, *, sends: Sequence[datetime], now: datetime, reminders: int, days: int) -> bool:
    """The silent-device rule, the only place it is written: the push service accepted each of
    the client's last `reminders` reminders for this device, and the device showed no sign of
    life for `days` days, so the reminders most likely never appear there (notifications turned
    off in the phone's settings, a battery saver, an app the system put to sleep). Nothing the
    client did wrong: the fix is to set the device up again. `sends` are when the client's
    latest reminders went out through push, newest first (`last_sends`)."""
    if device.expired_at is not None or len(sends) < reminders:
        return False
    latest = [_aware(at) or now for at in sends[:reminders]]
    alive = last_sign_of_life(device)
    if alive > now - timedelta(days=days) or latest[-1] <= alive:
        return False
    success, failure = _aware(device.last_success_at), _aware(device.last_failure_at)
    # It took the newest of them, and none since the oldest failed on it.
    took_latest = success is not None and success >= latest[0] - _SAME_SEND
    return took_latest and (failure is None or failure < latest[-1])


def last_sends(
    db: Session | Connection, *, client_ids: Collection[uuid.UUID], count: int, now: datetime
) -> dict[uuid.UUID, list[datetime]]:
    """When each client's last `count` reminders went out through push, newest first: one query
    for any number of clients (a window per client), looking back at most 60 days."""
    if not client_ids:
        return {}
    bind = db.get_bind() if isinstance(db, Session) else db
    occ = ReminderOccurrence.__table__.c  # type: ignore[attr-defined]
    pushed = or_(col(occ.status).in_(DELIVERED), and_(occ.status == OccurrenceStatus.email, occ.last_error == SILENT))
    ranked = (
        select(
            occ.client_id,
            occ.sent_at,
            func.row_number().over(partition_by=occ.client_id, order_by=occ.sent_at.desc()).label("n"),
        )
        .where(
            among_ids(occ.client_id, client_ids, postgresql=bind.dialect.name == "postgresql"),
            col(occ.sent_at).is_not(None),
            occ.sent_at >= now - _SILENT_LOOKBACK,
            pushed,
        )
        .subquery()
    )
    out: dict[uuid.UUID, list[datetime]] = {client_id: [] for client_id in client_ids}
    rows = db.execute(select(ranked.c.client_id, ranked.c.sent_at).where(ranked.c.n <= count).order_by(ranked.c.n))
    for client_id, sent_at in rows:
        at = _aware(sent_at)
        if at is not None:
            out.setdefault(client_id, []).append(at)
    return out


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
    # Devices that take reminders but show no sign of them arriving (`is_silent`).
    silent: list[PushSubscription] = field(default_factory=list)
    silent_after_reminders: int = 5  # the rule's figures, for the words that explain it
    silent_after_days: int = 3

    @property
    def all_silent(self) -> bool:
        """Every device with reminders on is silent: the email fallback is used, if opted in."""
        return bool(self.devices) and len(self.silent) == len(self.devices)

    @property
    def quiet_done(self) -> int:
        """Stayed quiet because the record was already done that day (a weekly record: that
        week; kept as it happens: something was written)."""
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


def delivery_health(
    session: Session,
    *,
    client: Client,
    now: datetime | None = None,
    days: int = 7,
    silent_after_reminders: int = 5,
    silent_after_days: int = 3,
) -> DeliveryHealth:
    """`silent_after_*`: the settings of the same names."""
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
    live = [s for s in subscriptions if s.expired_at is None]
    sends = last_sends(session, client_ids=[client.id], count=silent_after_reminders, now=now) if live else {}
    return DeliveryHealth(
        devices=live,
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
        silent_after_reminders=silent_after_reminders,
        silent_after_days=silent_after_days,
        silent=[
            device
            for device in live
            if is_silent(
                device,
                sends=sends.get(client.id, []),
                now=now,
                reminders=silent_after_reminders,
                days=silent_after_days,
            )
        ],
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
