"""Delivery outcomes against a fault-injecting loopback push endpoint and a real SMTP peer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher, DispatcherLocked, SingleDispatcherLock
from app.dispatch.vapid import VapidKeys
from app.models import Client, OccurrenceStatus, PushSubscription, Reminder, ReminderOccurrence
from app.services import reminders
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from tests.dispatch.conftest import Sink, client_with_reminder, dispatch, due_now, subscription_json
from tests.dispatch.smtp_peer import Inbox, run_inbox
from tests.factories import make_entry

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)


def _device(session: Session, client: Client, sink: Sink, name: str, settings: Settings) -> PushSubscription:
    subscription = subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"{sink.base}/{name}"), settings=settings
    )
    session.commit()
    return subscription


def _only_occurrence(session: Session) -> ReminderOccurrence:
    session.expire_all()
    [occurrence] = session.exec(select(ReminderOccurrence)).all()
    return occurrence


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    yield from run_inbox()


def test_429_with_retry_after_is_retried_then_sent(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    sink.script["/phone"] = [(429, {"Retry-After": "120"}, 0.0), (201, {}, 0.0)]
    now = due_now(reminder)

    stats = dispatch(dispatcher, now)

    occurrence = _only_occurrence(session)
    assert stats.retrying == 1
    assert occurrence.status is OccurrenceStatus.pending
    assert occurrence.last_error == "http_429"
    assert occurrence.next_attempt_at is not None and occurrence.next_attempt_at >= now + timedelta(seconds=120)
    # Not before the push service said so.
    dispatch(dispatcher, now + timedelta(seconds=60))
    assert sink.hits("/phone") == 1

    dispatch(dispatcher, occurrence.next_attempt_at)

    occurrence = _only_occurrence(session)
    assert occurrence.status is OccurrenceStatus.retried_sent
    assert occurrence.attempts == 2 and sink.hits("/phone") == 2


def test_503_until_the_grace_period_ends_is_missed(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    sink.script["/phone"] = [(503, {}, 0.0)]
    now = due_now(reminder)
    for _round in range(20):
        dispatch(dispatcher, now)
        occurrence = _only_occurrence(session)
        if occurrence.status is not OccurrenceStatus.pending:
            break
        assert occurrence.next_attempt_at is not None
        now = occurrence.next_attempt_at
    assert occurrence.status is OccurrenceStatus.missed
    assert occurrence.last_error == "http_503"
    assert occurrence.attempts >= 2  # retried with backoff, then gave up at the end of the grace period
    assert now <= reminder.next_due_at + timedelta(seconds=dispatch_settings.reminder_grace_seconds)  # type: ignore[operator]


def test_email_fallback_after_the_grace_period(
    session: Session,
    sink: Sink,
    engine: Engine,
    dispatch_settings: Settings,
    vapid_keys: VapidKeys,
    smtp: Inbox,
) -> None:
    settings = smtp.settings(dispatch_settings)
    dispatcher = Dispatcher(engine=engine, settings=settings, keys=vapid_keys)
    client, assignment, reminder = client_with_reminder(session, now=START)
    client.email = "client@example.org"
    session.add(client)
    reminders.update_preferences(session, client=client, email_fallback=True, now=START)
    session.commit()
    _device(session, client, sink, "phone", settings)
    sink.script["/phone"] = [(503, {"Retry-After": "3600"}, 0.0)]  # beyond the grace period

    dispatch(dispatcher, due_now(reminder))

    occurrence = _only_occurrence(session)
    assert occurrence.status is OccurrenceStatus.email
    [mail] = smtp.messages
    assert mail["To"] == "client@example.org"
    assert mail["Subject"] == "Between"
    text = mail.get_payload()
    assert f"/c/record/{assignment.id}" in text and "Mood" not in text


def test_no_device_and_email_opt_in_sends_email_at_once(
    session: Session, engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys, smtp: Inbox
) -> None:
    settings = smtp.settings(dispatch_settings)
    client, _a, reminder = client_with_reminder(session, now=START)
    client.email = "owl@example.org"
    client.email_fallback = True
    session.add(client)
    session.commit()

    dispatch(Dispatcher(engine=engine, settings=settings, keys=vapid_keys), due_now(reminder))

    assert _only_occurrence(session).status is OccurrenceStatus.email
    assert len(smtp.messages) == 1


def test_slow_answer_is_waited_for_and_timeout_is_retried(
    session: Session, sink: Sink, engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys
) -> None:
    settings = dispatch_settings.model_copy(update={"push_timeout_seconds": 0.5})
    dispatcher = Dispatcher(engine=engine, settings=settings, keys=vapid_keys)
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "slow", settings)
    sink.script["/slow"] = [(201, {}, 0.2)]
    dispatch(dispatcher, due_now(reminder))
    assert _only_occurrence(session).status is OccurrenceStatus.sent

    other, _b, late = client_with_reminder(session, now=START)
    _device(session, other, sink, "stuck", settings)
    sink.script["/stuck"] = [(201, {}, 3.0)]
    dispatch(dispatcher, due_now(late))
    session.expire_all()
    occurrence = session.exec(select(ReminderOccurrence).where(ReminderOccurrence.reminder_id == late.id)).one()
    assert occurrence.status is OccurrenceStatus.pending
    assert occurrence.last_error == "timeout"


def test_one_device_gone_another_delivered(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    old = _device(session, client, sink, "old", dispatch_settings)
    new = _device(session, client, sink, "new", dispatch_settings)
    sink.script["/old"] = [(404, {}, 0.0)]

    dispatch(dispatcher, due_now(reminder))

    assert _only_occurrence(session).status is OccurrenceStatus.sent
    session.refresh(old)
    session.refresh(new)
    assert old.expired_at is not None and new.expired_at is None and new.last_success_at is not None
    health = reminder_health.delivery_health(session, client=client)
    assert health.push_ready and len(health.devices) == 1 and len(health.expired) == 1


def test_done_today_is_suppressed_not_sent(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, assignment, reminder = client_with_reminder(session, times=("21:00",), now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 4, 12, 0, tzinfo=UTC))

    dispatch(dispatcher, due_now(reminder))

    assert _only_occurrence(session).status is OccurrenceStatus.suppressed
    assert sink.hits("/phone") == 0


def test_night_owl_day_boundary_decides_what_done_today_means(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, assignment, _reminder = client_with_reminder(session, times=("01:00",), now=START)
    reminders.update_preferences(session, client=client, day_boundary="03:00", now=START)
    session.commit()
    _device(session, client, sink, "phone", dispatch_settings)
    reminder = session.exec(select(Reminder)).one()
    # With the day ending at 03:00, Monday's 01:00 reminder fires at 01:00 on Tuesday.
    assert reminder.next_due_at == datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 4, 22, 0, tzinfo=UTC))

    dispatch(dispatcher, due_now(reminder))  # Monday's record was logged at 22:00 on Monday
    assert _only_occurrence(session).status is OccurrenceStatus.suppressed

    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 5, 6, 1, 0, tzinfo=UTC)
    dispatch(dispatcher, due_now(reminder))  # Tuesday's record is not done
    session.expire_all()
    statuses = [o.status for o in session.exec(select(ReminderOccurrence).order_by(ReminderOccurrence.due_at))]
    assert statuses == [OccurrenceStatus.suppressed, OccurrenceStatus.sent]


def test_due_while_down_is_sent_late_within_grace_or_recorded_missed(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, times=("08:00", "12:00", "16:00"), now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    # The dispatcher comes back at 16:10: 08:00 and 12:00 are past the 30-minute grace period.
    dispatch(dispatcher, datetime(2026, 5, 4, 16, 10, tzinfo=UTC))
    session.expire_all()
    rows = session.exec(select(ReminderOccurrence).order_by(ReminderOccurrence.due_at)).all()
    assert [(o.due_at.hour, o.status, o.last_error) for o in rows] == [
        (8, OccurrenceStatus.missed, "late"),
        (12, OccurrenceStatus.missed, "late"),
        (16, OccurrenceStatus.sent, None),
    ]
    assert sink.hits("/phone") == 1
    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 5, 5, 8, 0, tzinfo=UTC)


def test_a_round_run_twice_records_and_sends_once(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    now = due_now(reminder)
    dispatch(dispatcher, now)
    # Someone puts next_due_at back (a stale replica): the unique key still holds.
    session.refresh(reminder)
    session.exec(select(Reminder)).one()
    reminder.next_due_at = now - timedelta(seconds=5)
    session.add(reminder)
    session.commit()
    dispatch(dispatcher, now)
    session.expire_all()
    assert len(session.exec(select(ReminderOccurrence)).all()) == 1
    assert sink.hits("/phone") == 1


def test_an_instant_already_recorded_is_not_sent_again(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    """Occurrences to send are recorded already claimed; one the unique (reminder, due_at)
    key skipped (the reminder was moved back onto an instant already handled) is not sent."""
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    now = due_now(reminder)
    first = dispatch(dispatcher, now)
    recorded = _only_occurrence(session)
    session.refresh(reminder)
    reminder.next_due_at = recorded.due_at
    session.add(reminder)
    session.commit()
    again = dispatch(dispatcher, now + timedelta(seconds=30))
    assert (first.sent, again.recorded, again.sent) == (1, 1, 0)
    assert _only_occurrence(session).status is OccurrenceStatus.sent
    assert sink.hits("/phone") == 1
    session.refresh(reminder)
    assert reminder.next_due_at is not None and reminder.next_due_at > recorded.due_at


def test_a_client_who_moves_zone_is_reminded_at_the_new_local_time(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, timezone="Europe/Berlin", now=START)
    assert reminder.next_due_at == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    reminders.update_preferences(session, client=client, timezone="America/New_York", now=START)
    session.commit()
    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 5, 4, 13, 0, tzinfo=UTC)

    # A zone changed elsewhere without rescheduling: the stale instant is recognised, not sent.
    client.timezone = "Asia/Kolkata"
    session.add(client)
    session.commit()
    _device(session, client, sink, "phone", dispatch_settings)
    dispatch(dispatcher, datetime(2026, 5, 4, 13, 0, 5, tzinfo=UTC))
    session.expire_all()
    assert session.exec(select(ReminderOccurrence)).all() == []
    reminder = session.exec(select(Reminder)).one()
    assert reminder.next_due_at == datetime(2026, 5, 5, 3, 30, tzinfo=UTC)  # 09:00 in Kolkata


def test_snooze_fires_once_more(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    _device(session, client, sink, "phone", dispatch_settings)
    now = due_now(reminder)
    dispatch(dispatcher, now)
    reminders.snooze(session, client=client, reminder_id=reminder.id, minutes=15, now=now)
    session.commit()
    session.refresh(reminder)
    assert reminder.next_due_at == now + timedelta(minutes=15)
    dispatch(dispatcher, now + timedelta(minutes=15, seconds=1))
    session.expire_all()
    kinds = [o.kind for o in session.exec(select(ReminderOccurrence).order_by(ReminderOccurrence.due_at))]
    assert [str(kind) for kind in kinds] == ["scheduled", "snooze"]
    assert sink.hits("/phone") == 2


def test_second_dispatcher_on_sqlite_refuses_to_start(tmp_path: Path) -> None:
    first = SingleDispatcherLock(tmp_path / "dispatcher.lock")
    first.acquire()
    with pytest.raises(DispatcherLocked, match="only one dispatcher may run"):
        SingleDispatcherLock(tmp_path / "dispatcher.lock").acquire()
    first.release()
    again = SingleDispatcherLock(tmp_path / "dispatcher.lock")
    again.acquire()
    again.release()
