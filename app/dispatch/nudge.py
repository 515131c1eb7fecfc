"""The day before a session: "Anything you want to bring tomorrow?", once per session.

One notification the day before each session, which opens the client's page for it
(`/c/agenda`: entries to discuss, a note for the session, a due questionnaire). It
replaced an evening nudge sent only when records were missing: one message the day
before is enough, and the page still shows what there is time to catch up on.

When: `services.day_before.send_at`, the session's local time the day before in the
client's zone, moved to the end of their quiet hours if it falls in them. A
notification not sent within four hours of that (the dispatcher was down, or the
session was booked later than that) is not sent at all: it is recorded as missed. A
session its quiet hours cover until it starts, or a client who paused reminders, gets
none (recorded as suppressed).

What: warm and discreet words, no record names and no clinical words on a lock screen
unless the client opted in (`Client.lock_screen_detail`): then the records with a
missed day since the last session are named too.

How: the sessions whose time has come are found per time zone in SQL and to the minute
in Python (quiet hours are the client's), then claimed with `FOR UPDATE SKIP LOCKED`
(one dispatcher on SQLite) and marked through `Appointment.nudge_sent_at` in the
claiming transaction, so a session is asked about at most once however many
dispatchers run. Sent through the dispatcher's Web Push sender to every device of the
client; by email instead when no device took it and the client opted in to email. One
attempt only: it is a courtesy. Each outcome (sent, email, suppressed, missed) is
recorded in the audit log as `nudge.<outcome>`, so delivery health can count them
(`outcomes`); those rows hold ids only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.db import open_session
from app.core.email import Mail
from app.core.i18n import _
from app.dispatch import payload as push_message
from app.dispatch.webpush import Outcome, PushResult, Target
from app.models import Appointment, AuditEvent, Client, PushSubscription
from app.services import audit, day_before
from app.services.reminders.schedule import resolve_local

if TYPE_CHECKING:
    from app.dispatch.dispatcher import Dispatcher

log = logging.getLogger("between.dispatch.nudge")

WINDOW = timedelta(hours=4)
# Sessions further away than this have not reached their time (a day, a DST hour, and
# quiet hours only ever move it later).
REACH = timedelta(hours=25, minutes=1)
BATCH = 200
ROUNDS = 50
ACTION_PREFIX = "nudge."
PAGE = "/c/agenda"


class NudgeOutcome:
    sent = "sent"
    email = "email"
    suppressed = "suppressed"
    missed = "missed"


@dataclass(frozen=True)
class ClaimedNudge:
    appointment_id: uuid.UUID
    client_id: uuid.UUID
    therapist_id: uuid.UUID
    starts_at: datetime
    late: bool
    # Quiet hours last until the session starts: nothing is sent.
    quiet: bool = False


@dataclass
class NudgeStats:
    sent: int = 0
    email: int = 0
    suppressed: int = 0
    missed: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def _cutoff(now: datetime, timezone: str) -> datetime:
    """Sessions starting after this instant are asked about later than `now` in this zone
    (their local time the day before is still ahead), whatever the quiet hours."""
    zone = ZoneInfo(timezone)
    tomorrow = now.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    # A DST hour of slack: the exact time is checked in Python.
    return resolve_local(tomorrow, zone) + timedelta(hours=1)


def claim(session: Session, *, now: datetime, limit: int = BATCH) -> list[ClaimedNudge]:
    """Mark and return sessions whose day-before time has come (the caller commits)."""
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
    # One condition per time zone in use, so only sessions near their time are read.
    near = or_(
        *(and_(col(Client.timezone) == zone, col(Appointment.starts_at) <= _cutoff(now, zone)) for zone in zones)
    )
    candidates = session.exec(
        select(Appointment.id, Appointment.client_id, Appointment.starts_at, Client.timezone)
        .join(Client, col(Client.id) == Appointment.client_id)
        .where(*live, near)
        .order_by(col(Appointment.starts_at), col(Appointment.id))
    ).all()
    if not candidates:
        return []
    quiet = day_before.quiet_hours(session, client_ids=sorted({row[1] for row in candidates}))
    due: dict[uuid.UUID, datetime | None] = {}
    for appointment_id, client_id, starts_at, zone in candidates:
        at = day_before.send_at(starts_at, timezone=zone, quiet=quiet.get(client_id, []))
        if at is None or at <= now:
            due[appointment_id] = at
        if len(due) >= 4 * limit:
            break
    if not due:
        return []
    # ClaimedNudge under a row lock, rechecked: a session another dispatcher took is skipped.
    statement = (
        select(Appointment)
        .where(col(Appointment.id).in_(list(due)), *live[:3])
        .order_by(col(Appointment.starts_at), col(Appointment.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    out = []
    for appointment in session.exec(statement).all():
        at = due[appointment.id]
        late = at is not None and now >= min(at + WINDOW, appointment.starts_at)
        appointment.nudge_sent_at = now
        session.add(appointment)
        out.append(
            ClaimedNudge(
                appointment.id,
                appointment.client_id,
                appointment.therapist_id,
                appointment.starts_at,
                late,
                quiet=at is None,
            )
        )
    session.flush()
    return out


def texts(*, locale: str, detail: bool, titles: list[str], tomorrow: bool = True) -> dict[str, str]:
    """The words. Discreet unless the client asked for detail on the lock screen; "today"
    when quiet hours or a late booking put the question on the session's own day."""
    with i18n.using_locale(locale):
        if detail:
            if tomorrow:
                body = _("Your therapy session is tomorrow. Anything you want to bring?")
            else:
                body = _("Your therapy session is today. Anything you want to bring?")
            if titles:
                body += " " + _("And if you like, a moment for %(records)s.", records=", ".join(titles[:3]))
        elif tomorrow:
            body = _("Anything you want to bring tomorrow?")
        else:
            body = _("Anything you want to bring today?")
        return {
            "title": "Between",
            "body": body,
            "email": _("Your next session is coming up. If you like, pick what you want to talk about and add a note:"),
        }


@dataclass
class _Plan:
    claimed: ClaimedNudge
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
                if client is None or client.reminders_paused or item.quiet:
                    plan.outcome = NudgeOutcome.suppressed
                    continue
                plan.locale = client.locale or dispatcher.settings.default_locale
                titles = []
                if client.lock_screen_detail:
                    # Record names only on a lock screen the client opened to them.
                    with i18n.using_locale(plan.locale):
                        titles = day_before.missing_records(
                            session, client=client, appointment_id=item.appointment_id, now=now
                        )
                zone = ZoneInfo(client.timezone)
                tomorrow = item.starts_at.astimezone(zone).date() > now.astimezone(zone).date()
                plan.texts = texts(
                    locale=plan.locale, detail=client.lock_screen_detail, titles=titles, tomorrow=tomorrow
                )
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


def payload(plan: _Plan, *, base_url: str) -> bytes:
    return push_message.nudge(
        base_url=base_url, texts=plan.texts, lang=plan.locale, appointment_id=plan.claimed.appointment_id, page=PAGE
    )


async def _deliver(
    dispatcher: Dispatcher, plan: _Plan, now: datetime
) -> tuple[str, list[tuple[uuid.UUID, PushResult]]]:
    results: list[tuple[uuid.UUID, PushResult]] = []
    if plan.devices:
        body = payload(plan, base_url=dispatcher.settings.base_url)
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
        link = f"{dispatcher.settings.base_url.rstrip('/')}{PAGE}"
        mail = Mail(to=plan.email, subject=plan.texts["title"], text=f"{plan.texts['email']}\n\n{link}\n")
        try:
            await dispatcher.mailer.send_async(mail)
        except Exception as problem:
            log.warning("nudge email for session %s failed: %s", plan.claimed.appointment_id, type(problem).__name__)
            return NudgeOutcome.missed, results
        return NudgeOutcome.email, results
    return NudgeOutcome.missed, results


def _record(dispatcher: Dispatcher, outcomes: list[tuple[ClaimedNudge, str]]) -> None:
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
        outcomes: list[tuple[ClaimedNudge, str]] = []
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
            await asyncio.to_thread(dispatcher.ledger.record, [], device_results, now)
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
