from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import JSON, false, text
from sqlmodel import Column, Field, SQLModel, Time

from app.models.types import UTCDateTime, utcnow


class ClientBase(SQLModel):
    display_name: str = Field(max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    # A night owl's "today" may end at 03:00: entries before this belong to the previous day.
    day_boundary: time = Field(default=time(0, 0), sa_column=Column(Time(), nullable=False))
    locale: str | None = Field(default=None, max_length=10)


class Client(ClientBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Nullable: unlinking keeps the client's records theirs.
    therapist_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", index=True)
    email: str | None = Field(default=None, max_length=254)
    pin_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # Reminders: the client's own switches.
    reminders_paused: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    email_fallback: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Opt-in: name the record in notification text (shown on the lock screen).
    lock_screen_detail: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # When the client's phone (or the client) last set `timezone`. None while the zone is the
    # "UTC" placeholder a new client starts with: the therapist's browser never sets it, the
    # phone does when it joins or next opens Between (app/services/phone_zone.py).
    timezone_set_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # "Not now" to following the phone into another zone: not asked again about that zone
    # before `zone_declined_until` (a weekend away must not mean two taps every day).
    zone_declined: str | None = Field(default=None, max_length=64)
    zone_declined_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The sections of "My patterns" the therapist switched off for this client
    # (app/services/patterns.py): gone from the client's page, the API and the therapist's view.
    patterns_off: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default=text("'[]'"))
    )


class ClientPublic(ClientBase):
    id: uuid.UUID
