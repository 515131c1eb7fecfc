"""Recording outcomes while other outcomes are recorded: two batches in flight (or two
dispatchers) can share a client's devices, and must not deadlock on them."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.webpush import Outcome, PushResult
from app.models import PushSubscription
from app.models.types import utcnow
from app.services.reminders import subscriptions
from tests.dispatch.conftest import subscription_json
from tests.factories import make_client, make_therapist

ROUNDS = 60


def test_concurrent_chunks_sharing_devices_are_all_recorded(
    engine: Engine, session: Session, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client = make_client(session, therapist=make_therapist(session))
    devices = [
        subscriptions.add_subscription(
            session, client=client, data=subscription_json(f"https://push.example.org/{n}"), settings=dispatch_settings
        ).id
        for n in range(12)
    ]
    session.commit()
    delivered, failed = PushResult(Outcome.delivered, 201), PushResult(Outcome.retry, 503, error="http_503")
    errors: list[BaseException] = []

    def record(order: list[uuid.UUID]) -> None:
        # Half delivered, half failed, in opposite orders in the two threads: without one
        # lock order the two transactions wait on each other's rows.
        results = {device: [delivered if index % 2 else failed] for index, device in enumerate(order)}
        try:
            for _round in range(ROUNDS):
                dispatcher.ledger.record([], results, utcnow())
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=record, args=(devices,)),
        threading.Thread(target=record, args=(list(reversed(devices)),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    session.expire_all()
    rows = session.exec(select(PushSubscription).where(PushSubscription.client_id == client.id)).all()
    assert all(row.last_success_at is not None for row in rows)  # every device was delivered to by one thread
    assert all(row.last_failure_at is not None for row in rows)  # ... and failed in the other
