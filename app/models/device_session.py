from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class SessionKind(StrEnum):
    therapist = "therapist"
    client = "client"


class DeviceSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is kept."""

    __tablename__ = "device_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: SessionKind = Field(max_length=16)
    therapist_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", index=True, ondelete="CASCADE")
    client_id: uuid.UUID | None = Field(default=None, foreign_key="client.id", index=True, ondelete="CASCADE")
    label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Last use while unlocked (the client's optional app PIN). A new session starts unlocked:
    # it was just opened by an invitation or a password.
    unlocked_at: datetime | None = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=True))
    # A client's device shows private entries only once confirmed: the first device of an
    # account at once, any later one by the client (from a confirmed device, or the PIN).
    # An invitation is issued by the therapist, so holding one proves nothing about who
    # is holding the phone (see docs/security.md, "Devices and private entries").
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Who made the invitation that signed this device in; kept after the invite is gone.
    invited_by_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", ondelete="SET NULL")
    # "client", "therapist" or "" (not revoked, or revoked by signing in afresh on it).
    revoked_by: str = Field(default="", max_length=16)
