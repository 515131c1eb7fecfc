"""The client's nudge the day before a session, when records since the last one are missing.

When: at 18:00 in the client's time zone on the calendar day before the session's
day there (early evening: late enough to catch up on the day's record, early
enough not to disturb the night). A nudge not sent by 22:00 that day (the
dispatcher was down, or the session was booked later than that) is not sent at
all: it is recorded as missed rather than arriving at night.

What: only when at least one assigned record has a missed day (or week) since the
last session; today's still-open record does not count, nor does a record kept as it
happens (it follows events: no day of it is ever missed). Otherwise it is recorded
as suppressed. The words are warm and discreet: no record names and no clinical
words on a lock screen unless the client opted in (`Client.lock_screen_detail`).
A client who paused their reminders gets no nudge either.

How: claimed with `FOR UPDATE SKIP LOCKED` (one dispatcher on SQLite) and marked
through `Appointment.nudge_sent_at` in the claiming transaction, so a session is
nudged at most once. Sent through the dispatcher's Web Push sender to every device
of the client; by email instead when no device took it and the client opted in to
email. One attempt only: a nudge is a courtesy, and a second try later in the
evening would be worse than none. Each outcome (sent, email, suppressed, missed) is
recorded in the audit log as `nudge.<outcome>`, so delivery health can count them
(`outcomes`); those rows hold ids only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.db import open_session
from app.core.email import Mail
from app.core.i18n import _
from app.dispatch.webpush import Outcome, PushResult, Target
from app.models import Appointment, AuditEvent, Client, PushSubscription
from app.services import appointments, audit
from app.services.adherence import load as adherence

if TYPE_CHECKING:
    from app.dispatch.dispatcher import Dispatcher

log = logging.getLogger("between.dispatch.nudge")

NUDGE_AT = time(18, 0)
WINDOW = timedelta(hours=4)
# The nudge is due at most this long before the session starts (18:00 two calendar days
# before midnight, plus a DST hour): sessions further away are not looked at.
REACH = timedelta(hours=31)
# Without an earlier session, "since the last session" means this far back (as in the brief).
DEFAULT_SPAN = timedelta(days=14)
BATCH = 200
ROUNDS = 50
ACTION_PREFIX = "nudge."


class NudgeOutcome:
    sent = "sent"
    email = "email"
    suppressed = "suppressed"
    missed = "missed"


@dataclass(frozen=True)
class Claimed:
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    therapist_id: uuid.UUID
    starts_at: datetime
    late: bool


@dataclass
class NudgeStats:
    sent: int = 0
    email: int = 0
    suppressed: int = 0
    missed: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def nudge_time(starts_at: datetime, *, timezone: str) -> datetime:
    """18:00 local on the calendar day before the session's local day (UTC)."""
    zone = ZoneInfo(timezone)
    day = starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day, NUDGE_AT, tzinfo=zone).astimezone(UTC)


def _cutoff(now: datetime, timezone: str) -> datetime:
    """Sessions starting before this instant have their nudge time at or before `now`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    # After 18:00 today, tomorrow's sessions are due; before, only today's (already late).
    last_day = local.date() + timedelta(days=1 if local.time() >= NUDGE_AT else 0)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)


def claim(session: Session, *, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Mark and return sessions whose nudge time has come (the caller commits)."""
    live = (
        col(Appointment.nudge_sent_at).is_(None),
        col(Appointment.cancelled_at).is_(None),
        Appointment.starts_at > now,
        Appointment.starts_at <= now + REACH,
        col(Client.therapist_id) == Appointment.therapist_id,
    )
    zones = sorted(
        set(
            session.exec(
                select(Client.timezone)
                .join(Appointment, col(Appointment.client_id) == Client.id)
                .where(*live)
                .distinct()
            ).all()
        )
    )
    if not zones:
        return []
    # One condition per time zone in use: exact in SQL, so a batch holds only due sessions.
    due = or_(*(and_(col(Client.timezone) == zone, col(Appointment.starts_at) < _cutoff(now, zone)) for zone in zones))
    statement = (
        select(Appointment, Client.timezone)
        .join(Client, col(Client.id) == Appointment.client_id)
        .where(*live, due)
        .order_by(col(Appointment.starts_at), col(Appointment.id))
        .limit(limit)
        .with_for_update(of=Appointment, skip_locked=True)  # type: ignore[arg-type]
    )
    out = []
    for appointment, zone in session.exec(statement).all():
        at = nudge_time(appointment.starts_at, timezone=zone)
        late = now >= min(at + WINDOW, appointment.starts_at)
        appointment.nudge_sent_at = now
        session.add(appointment)
        out.append(
            Claimed(appointment.id, appointment.client_id, appointment.therapist_id, appointment.starts_at, late)
        )
    session.flush()
    return out


def missing_records(session: Session, *, client: Client, appointment_id: uuid.UUID, now: datetime) -> list[str]:
    """Titles of the records with a missed occasion since the last session (private entries
    count as done; only timestamps are read, never answers)."""
    appointment = session.get(Appointment, appointment_id)
    previous = appointments.previous_of(session, appointment=appointment) if appointment is not None else None
    since = previous.starts_at if previous is not None and previous.starts_at < now else now - DEFAULT_SPAN
    loaded = adherence.for_client(session, client=client, ended_after=since, entries_since=since)
    titles = []
    for item in loaded.records:
        if item.schedule.as_it_happens:
            continue  # kept as it happens: nothing is expected, so nothing can be missing
        figures = loaded.adherence(item, now=now, since=since, window_start=since, with_days=False)
        rate = figures.since
        if rate is not None and rate.done < rate.expected:
            titles.append(item.title)
    return titles


def texts(*, locale: str, detail: bool, titles: list[str]) -> dict[str, str]:
    """The nudge's words. Discreet unless the client asked for detail on the lock screen."""
    with i18n.using_locale(locale):
        if detail and titles:
            shown = ", ".join(titles[:3])
            body = _(
                "Your therapy session is tomorrow. A moment to catch up on %(records)s?",
                records=shown,
            )
        else:
            body = _("Your next session is tomorrow. A moment to catch up on your records?")
        return {
            "title": "Between",
            "body": body,
            "email": _("Your next session is tomorrow. If you like, take a moment to catch up on your records:"),
        }


@dataclass
class _Plan:
    claimed: Claimed
    outcome: str | None = None  # decided before sending (suppressed / missed)
    locale: str = "en"
    texts: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    email_fallback: bool = False
    devices: list[tuple[uuid.UUID, Target]] = field(default_factory=list)


def _prepare(dispatcher: Dispatcher, now: datetime) -> list[_Plan]:
    with open_session(dispatcher.engine) as session:
        claimed = claim(session, now=now)
        session.commit()
    plans = []
    for item in claimed:
        plan = _Plan(item)
        plans.append(plan)
        if item.late:
            plan.outcome = NudgeOutcome.missed
            continue
        try:
            with open_session(dispatcher.engine) as session:
                client = session.get(Client, item.client_id)
                if client is None or client.reminders_paused:
                    plan.outcome = NudgeOutcome.suppressed
                    continue
                plan.locale = client.locale or dispatcher.settings.default_locale
                with i18n.using_locale(plan.locale):
                    titles = missing_records(session, client=client, appointment_id=item.appointment_id, now=now)
                if not titles:
                    plan.outcome = NudgeOutcome.suppressed
                    continue
                plan.texts = texts(locale=plan.locale, detail=client.lock_screen_detail, titles=titles)
                plan.email, plan.email_fallback = client.email, client.email_fallback
                rows = session.exec(
                    select(PushSubscription).where(
                        PushSubscription.client_id == client.id, col(PushSubscription.expired_at).is_(None)
                    )
                ).all()
                plan.devices = [(row.id, Target(row.endpoint, row.p256dh, row.auth)) for row in rows]
        except Exception:
            log.exception("nudge for session %s could not be prepared", item.appointment_id)
            plan.outcome = NudgeOutcome.missed
    return plans


def payload(plan: _Plan) -> bytes:
    data = {
        "title": plan.texts["title"],
        "body": plan.texts["body"],
        "url": "/c",
        "tag": f"nudge-{plan.claimed.appointment_id}",
        "kind": "nudge",
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


async def _deliver(
    dispatcher: Dispatcher, plan: _Plan, now: datetime
) -> tuple[str, list[tuple[uuid.UUID, PushResult]]]:
    results: list[tuple[uuid.UUID, PushResult]] = []
    if plan.devices:
        body = payload(plan)
        ttl = max(60, int(min(plan.claimed.starts_at - now, WINDOW).total_seconds()))
        sent = await asyncio.gather(
            *(
                dispatcher.sender.send(target, body, ttl=ttl, urgency="normal", topic=plan.claimed.appointment_id.hex)
                for _id, target in plan.devices
            )
        )
        results = [(device_id, result) for (device_id, _t), result in zip(plan.devices, sent, strict=True)]
        if any(result.outcome is Outcome.delivered for _id, result in results):
            return NudgeOutcome.sent, results
    if plan.email_fallback and plan.email:
        link = f"{dispatcher.settings.base_url.rstrip('/')}/c"
        mail = Mail(to=plan.email, subject=plan.texts["title"], text=f"{plan.texts['email']}\n\n{link}\n")
        try:
            await dispatcher.mailer.send_async(mail)
        except Exception as problem:
            log.warning("nudge email for session %s failed: %s", plan.claimed.appointment_id, type(problem).__name__)
            return NudgeOutcome.missed, results
        return NudgeOutcome.email, results
    return NudgeOutcome.missed, results


def _record(dispatcher: Dispatcher, outcomes: list[tuple[Claimed, str]]) -> None:
    with open_session(dispatcher.engine) as session:
        for item, outcome in outcomes:
            audit.record(
                session,
                actor_kind="system",
                actor_id=None,
                action=ACTION_PREFIX + outcome,
                client_id=item.client_id,
                subject_id=item.appointment_id,
            )
        session.commit()


async def run(dispatcher: Dispatcher, *, now: datetime) -> NudgeStats:
    """One nudge pass: claim what is due, decide, send, record."""
    stats = NudgeStats()
    for _round in range(ROUNDS):
        plans = await asyncio.to_thread(_prepare, dispatcher, now)
        if not plans:
            break
        outcomes: list[tuple[Claimed, str]] = []
        device_results: dict[uuid.UUID, list[PushResult]] = defaultdict(list)
        to_send = [plan for plan in plans if plan.outcome is None]
        for plan in plans:
            if plan.outcome is not None:
                outcomes.append((plan.claimed, plan.outcome))
        delivered = await asyncio.gather(*(_deliver(dispatcher, plan, now) for plan in to_send))
        for plan, (outcome, results) in zip(to_send, delivered, strict=True):
            outcomes.append((plan.claimed, outcome))
            for device_id, result in results:
                device_results[device_id].append(result)
        # Device health (delivered, expired 404/410, failing) is kept as for reminders.
        if device_results:
            await asyncio.to_thread(dispatcher.record, [], device_results, now)
        await asyncio.to_thread(_record, dispatcher, outcomes)
        for _claimed, outcome in outcomes:
            stats.count(outcome)
        if len(plans) < BATCH:
            break
    return stats


def outcomes(session: Session, *, client_id: uuid.UUID, since: datetime) -> dict[str, int]:
    """How the client's nudges ended since `since`, by outcome (for delivery health)."""
    rows = session.exec(
        select(AuditEvent.action, func.count())
        .where(
            AuditEvent.client_id == client_id,
            AuditEvent.actor_kind == "system",
            col(AuditEvent.action).startswith(ACTION_PREFIX),
            AuditEvent.at >= since,
        )
        .group_by(col(AuditEvent.action))
    ).all()
    return {action.removeprefix(ACTION_PREFIX): int(count) for action, count in rows}
