"""A browser's Web Push subscription (one per device of a client)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class PushSubscription(SQLModel, table=True):
    __tablename__ = "push_subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    endpoint: str = Field(max_length=2048, unique=True)
    p256dh: str = Field(max_length=128)
    auth: str = Field(max_length=64)
    # A short device label ("Safari on iPhone") shown in delivery health; not the full UA string.
    user_agent: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_success_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_failure_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, max_length=64)
    # Set when the push service answered 404/410: the browser dropped the subscription.
    expired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    failures: int = 0
    # Delivery as the client's and therapist's delivery health shows it, per device: messages
    # sent to it, accepted by its push service (2xx), and reminders seen on it (a tap on the
    # notification or one of its buttons: the worker's beacon, POST /push/seen).
    sent_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    accepted_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    seen_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The last time Between was opened on this device from a reminder (the page a reminder opens
    # registers the subscription saying so): with `last_seen_at`, the sign of life the
    # silent-device rule looks for. An opening of Between on its own does not show that
    # reminders appear on the device, so it does not count.
    last_open_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
