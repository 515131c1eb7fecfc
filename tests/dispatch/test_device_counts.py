"""Per device, what was sent to it and what its push service accepted (delivery health)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.models import PushSubscription
from app.services.reminders import subscriptions
from tests.dispatch.conftest import Sink, client_with_reminder, dispatch, due_now, subscription_json

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)


def test_each_device_counts_its_sends_and_what_its_push_service_accepted(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _assignment, reminder = client_with_reminder(session, times=("08:30", "21:00"), now=START)
    devices: dict[str, PushSubscription] = {}
    for name in ("phone", "tablet", "old-laptop"):
        devices[name] = subscriptions.add_subscription(
            session, client=client, data=subscription_json(f"{sink.base}/{name}"), settings=dispatch_settings
        )
    session.commit()
    sink.script["/tablet"] = [(503, {}, 0.0)]
    sink.script["/old-laptop"] = [(410, {}, 0.0)]

    first = dispatch(dispatcher, due_now(reminder))
    session.refresh(reminder)
    second = dispatch(dispatcher, due_now(reminder))

    assert (first.sent, second.sent) == (1, 1)  # the phone took each; the tablet's service refused
    for device in devices.values():
        session.refresh(device)
    assert (devices["phone"].sent_count, devices["phone"].accepted_count) == (2, 2)
    assert (devices["tablet"].sent_count, devices["tablet"].accepted_count) == (2, 0)
    # Gone after the first: counted once, and never sent to again.
    assert (devices["old-laptop"].sent_count, devices["old-laptop"].accepted_count) == (1, 0)
    assert devices["old-laptop"].expired_at is not None and devices["tablet"].expired_at is None
    assert devices["phone"].seen_count == devices["tablet"].seen_count == 0
