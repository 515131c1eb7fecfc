from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class Invite(SQLModel, table=True):
    """A single-use, expiring way for a client to sign a phone in.

    Only hashes are stored: a database leak does not hand out sign-in links.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    therapist_id: uuid.UUID = Field(foreign_key="therapist.id", index=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
