"""The client's "send a test notification": one message to each of their devices, through the
dispatcher's own Web Push code (same encryption, VAPID signing and outcome recording), so a
success here means real reminders will arrive too."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.dispatch.webpush import Outcome, PushResult
from app.models import Client


async def send_test(*, engine: Engine, settings: Settings, keys: VapidKeys, client: Client) -> list[PushResult]:
    """Send "notifications work" to every device of the client."""
    dispatcher = Dispatcher(engine=engine, settings=settings, keys=keys)
    try:
        return await dispatcher.send_test(client=client)
    finally:
        await dispatcher.aclose()


@dataclass(frozen=True)
class SendOutcome:
    devices: int
    delivered: int
    expired: int

    @classmethod
    def of(cls, results: list[PushResult]) -> SendOutcome:
        return cls(
            devices=len(results),
            delivered=sum(1 for result in results if result.outcome is Outcome.delivered),
            expired=sum(1 for result in results if result.outcome is Outcome.gone),
        )
