"""Sessions (appointments) between a therapist and a client, and the client's time zone history.

"Since the last session" is defined by these. The notes are the therapist's own
and never reach the client.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class Repeat(StrEnum):
    none = "none"
    weekly = "weekly"
    biweekly = "biweekly"


class Appointment(SQLModel, table=True):
    __table_args__ = (
        Index("ix_appointment_therapist_starts", "therapist_id", "starts_at"),
        Index("ix_appointment_client_starts", "client_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", ondelete="CASCADE")
    therapist_id: uuid.UUID = Field(foreign_key="therapist.id", ondelete="CASCADE")
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The zone the session was agreed in: repeats keep its wall-clock time across DST.
    timezone: str = Field(default="UTC", max_length=64)
    duration_minutes: int = Field(default=50, ge=5, le=480)
    repeat: str = Field(default=Repeat.none.value, sa_column=Column(String(16), nullable=False))
    # Every occurrence of a repeating session shares the series id.
    series_id: uuid.UUID | None = Field(default=None, index=True)
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The therapist's own notes: never shown to the client, never in the client's API.
    notes: str = Field(default="", sa_column=Column(Text(), nullable=False, server_default=""))
    # Set once the before-session digest / the client's nudge went out.
    digest_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    nudge_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class ClientZoneChange(SQLModel, table=True):
    """From `effective_from` on, the client lives in `timezone` (kept so past days stay put)."""

    __tablename__ = "client_zone_change"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    effective_from: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    timezone: str = Field(max_length=64)


class AppointmentPublic(SQLModel):
    """What the therapist's API shows of a session (notes included: the therapist's own)."""

    id: uuid.UUID
    client_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    duration_minutes: int
    repeat: Repeat
    series_id: uuid.UUID | None
    cancelled_at: datetime | None
    notes: str


class AppointmentForClient(SQLModel):
    """What the client sees of a session: when, never the notes."""

    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str
    duration_minutes: int
