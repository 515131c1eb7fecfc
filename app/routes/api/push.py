"""The push-subscription API: a device registers, lists and removes its subscription."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.models import PushSubscription
from app.models.types import utcnow
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from app.web.deps import CurrentClient, SessionDep, SettingsDep
from app.web.problems import ERRORS
from app.web.render import subscription_body

router = APIRouter(prefix="/api/v1/push", tags=["push"])


class DevicePublic(BaseModel):
    id: uuid.UUID
    device: str
    created_at: datetime
    last_success_at: datetime | None
    expired: bool


def _device(subscription: PushSubscription) -> DevicePublic:
    return DevicePublic(
        id=subscription.id,
        device=subscription.user_agent,
        created_at=subscription.created_at,
        last_success_at=subscription.last_success_at,
        expired=subscription.expired_at is not None,
    )


@router.post(
    "/subscriptions",
    response_model=DevicePublic,
    status_code=201,
    responses=ERRORS,
    summary="Register this browser's push subscription (PushSubscription.toJSON())",
)
async def add_subscription(request: Request, session: SessionDep, settings: SettingsDep, client: CurrentClient) -> Any:
    data = await subscription_body(request)
    # In a worker thread: checking the endpoint looks its host up (app/services/push_endpoints.py).
    subscription = await run_in_threadpool(
        subscriptions.add_subscription,
        session,
        client=client,
        data=data,
        user_agent=request.headers.get("user-agent", ""),
        settings=settings,
        # The page registers on every opening of Between (js/push.js); one opened from a
        # reminder (its link carries the occurrence) shows reminders appear on this device.
        opened_at=utcnow() if isinstance(data, dict) and data.get("from_reminder") is True else None,
    )
    session.commit()
    return _device(subscription)


@router.get("/subscriptions", response_model=list[DevicePublic], responses=ERRORS, summary="My devices")
def list_subscriptions(session: SessionDep, client: CurrentClient) -> Any:
    health = reminder_health.delivery_health(session, client=client)  # silent or not: not listed here
    return [_device(subscription) for subscription in health.devices + health.expired]


@router.delete(
    "/subscriptions/{subscription_id}", status_code=204, responses=ERRORS, summary="Stop reminders on one device"
)
def delete_subscription(subscription_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    subscriptions.remove_subscription(session, client=client, subscription_id=subscription_id)
    session.commit()
    return Response(status_code=204)
