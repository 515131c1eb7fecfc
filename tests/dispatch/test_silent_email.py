"""Email for a client whose every device is silent (services/reminders/health.py:is_silent),
when they opted in to email reminders: the push still goes out, and the email with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.models import Client, OccurrenceStatus, Reminder, ReminderOccurrence
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from tests.dispatch.conftest import Sink, client_with_reminder, dispatch, due_now, subscription_json
from tests.dispatch.smtp_peer import Inbox, run_inbox
from tests.factories import make_silent

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from run_inbox()


def _silent_client(session: Session, sink: Sink, settings: Settings, *, opened_days_ago: float | None) -> Reminder:
    """A client who opted in to email, with one phone whose push service took the last five
    reminders (one a day), opened `opened_days_ago` (None: not since it was set up, 9 days ago)."""
    client, _assignment, reminder = client_with_reminder(session, now=START - 9 * DAY)
    client.email = "client@example.org"
    client.email_fallback = True
    phone = subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"{sink.base}/phone"), settings=settings
    )
    assert reminder.next_due_at is not None
    due = reminder.next_due_at
    make_silent(session, phone=phone, reminder=reminder, at=due)
    if opened_days_ago is not None:
        phone.last_open_at = due - opened_days_ago * DAY
    session.add_all([client, phone])
    session.commit()
    return reminder


def _dispatcher(engine: Engine, settings: Settings, keys: VapidKeys, inbox: Inbox) -> Dispatcher:
    return Dispatcher(engine=engine, settings=inbox.settings(settings), keys=keys)


def _this_one(session: Session, reminder: Reminder, now: datetime) -> ReminderOccurrence:
    session.expire_all()
    newest = session.exec(
        select(ReminderOccurrence)
        .where(ReminderOccurrence.reminder_id == reminder.id)
        .order_by(ReminderOccurrence.due_at.desc())  # type: ignore[attr-defined]
    ).first()
    assert newest is not None and newest.due_at > now - DAY / 2
    return newest


def test_every_device_silent_sends_the_email_as_well(
    session: Session,
    sink: Sink,
    engine: Engine,
    dispatch_settings: Settings,
    vapid_keys: VapidKeys,
    inbox: Inbox,
) -> None:
    reminder = _silent_client(session, sink, dispatch_settings, opened_days_ago=None)
    now = due_now(reminder)

    dispatch(_dispatcher(engine, dispatch_settings, vapid_keys, inbox), now)

    occurrence = _this_one(session, reminder, now)
    assert sink.hits("/phone") == 1  # the phone still gets it: it may come back to life
    assert occurrence.status is OccurrenceStatus.email
    assert occurrence.last_error == reminder_health.SILENT
    [mail] = inbox.messages
    assert mail["To"] == "client@example.org"
    assert f"/c/record/{reminder.assignment_id}" in mail.get_payload()
    # The emailed one still counts as taken by the push service: the phone stays silent.
    client = session.get(Client, reminder.client_id)
    assert client is not None
    health = reminder_health.delivery_health(session, client=client, now=now + timedelta(minutes=1))
    assert health.all_silent


def test_a_phone_opened_yesterday_is_not_silent_and_no_email_goes_out(
    session: Session,
    sink: Sink,
    engine: Engine,
    dispatch_settings: Settings,
    vapid_keys: VapidKeys,
    inbox: Inbox,
) -> None:
    reminder = _silent_client(session, sink, dispatch_settings, opened_days_ago=1)
    now = due_now(reminder)

    dispatch(_dispatcher(engine, dispatch_settings, vapid_keys, inbox), now)

    occurrence = _this_one(session, reminder, now)
    assert sink.hits("/phone") == 1
    assert occurrence.status is OccurrenceStatus.sent
    assert inbox.messages == []


def test_silent_without_the_email_opt_in_is_sent_by_push_only(
    session: Session,
    sink: Sink,
    engine: Engine,
    dispatch_settings: Settings,
    vapid_keys: VapidKeys,
    inbox: Inbox,
) -> None:
    reminder = _silent_client(session, sink, dispatch_settings, opened_days_ago=None)
    client = session.get(Client, reminder.client_id)
    assert client is not None
    client.email_fallback = False
    session.add(client)
    session.commit()
    now = due_now(reminder)

    dispatch(_dispatcher(engine, dispatch_settings, vapid_keys, inbox), now)

    assert _this_one(session, reminder, now).status is OccurrenceStatus.sent
    assert inbox.messages == []
