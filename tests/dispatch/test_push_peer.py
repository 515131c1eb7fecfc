"""Against a real push service peer (npm web-push-testing): it checks the VAPID JWT and
decrypts the aes128gcm payload, so what we read back is what a browser would show."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.models import OccurrenceStatus, ReminderOccurrence
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from tests import aio
from tests.dispatch.conftest import PushPeer, client_with_reminder, dispatch, due_now

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)


def _subscribe(session: Session, peer: PushPeer, keys: VapidKeys, client, settings: Settings):  # type: ignore[no-untyped-def]
    data = peer.subscribe(keys.public_key)
    subscription = subscriptions.add_subscription(
        session,
        client=client,
        data={"endpoint": data["endpoint"], "keys": data["keys"]},
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1",
        settings=settings,
    )
    session.commit()
    return subscription, data["clientHash"]


def _occurrences(session: Session) -> list[ReminderOccurrence]:
    session.expire_all()
    return list(session.exec(select(ReminderOccurrence)))


def test_reminder_reaches_the_push_service_decrypted_and_vapid_accepted(
    session: Session,
    engine: Engine,
    push_peer: PushPeer,
    vapid_keys: VapidKeys,
    dispatch_settings: Settings,
) -> None:
    dispatcher = Dispatcher(engine=engine, settings=dispatch_settings, keys=vapid_keys)
    client, assignment, reminder = client_with_reminder(session, times=("08:30", "21:00"), now=START)
    subscription, client_hash = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)

    stats = dispatch(dispatcher, due_now(reminder))

    assert stats.sent == 1
    [message] = push_peer.messages(client_hash)
    payload = json.loads(message)
    notification = payload["notification"]
    assert notification["title"] == "Between"
    assert notification["body"] == "A moment to check in?"
    assert notification["navigate"].startswith(f"{dispatch_settings.base_url}/c/record/{assignment.id}?occurrence=")
    assert payload["reminder"] == str(reminder.id)
    assert notification["tag"] == f"reminder-{reminder.id}"
    assert notification["actions"][0] == {"action": "log", "title": "Log now", "navigate": notification["navigate"]}
    # Discreet by default: the record's name is nowhere in what a lock screen could show.
    assert "Mood" not in message
    [occurrence] = _occurrences(session)
    assert occurrence.status is OccurrenceStatus.sent
    assert occurrence.due_at == datetime(2026, 5, 4, 8, 30, tzinfo=UTC)
    session.refresh(subscription)
    assert subscription.last_success_at is not None
    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 5, 4, 21, 0, tzinfo=UTC)


def test_expired_subscription_is_pruned_after_410(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _assignment, reminder = client_with_reminder(session, now=START)
    subscription, client_hash = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)
    push_peer.expire(client_hash)

    dispatch(dispatcher, due_now(reminder))

    session.refresh(subscription)
    assert subscription.expired_at is not None
    assert subscription.last_error == "http_410"
    assert subscriptions.active_subscriptions(session, client_id=client.id) == []
    [occurrence] = _occurrences(session)
    assert occurrence.status is OccurrenceStatus.missed  # no other device, no email fallback
    health = reminder_health.delivery_health(session, client=client)
    assert not health.push_ready and len(health.expired) == 1


def test_opt_in_names_the_record_in_the_clients_language(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _assignment, reminder = client_with_reminder(session, now=START)
    client.lock_screen_detail = True
    session.add(client)
    session.commit()
    _subscription, client_hash = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)

    dispatch(dispatcher, due_now(reminder))

    [message] = push_peer.messages(client_hash)
    assert json.loads(message)["notification"]["body"] == "Mood check: a moment to check in?"


def test_test_notification_reaches_every_device(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _assignment, _reminder = client_with_reminder(session, now=START)
    _one, first = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)
    _two, second = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)

    async def test_round():  # type: ignore[no-untyped-def]
        try:
            return await dispatcher.send_test(client=client)
        finally:
            await dispatcher.aclose()

    results = aio.run(test_round())

    assert len(results) == 2
    assert len(push_peer.messages(first)) == 1 and len(push_peer.messages(second)) == 1
    session.expire_all()
    assert reminder_health.delivery_health(session, client=client).last_delivered_at is not None
