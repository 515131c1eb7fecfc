from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what to whose records. Never holds clinical content."""

    __tablename__ = "audit_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_kind: str = Field(max_length=16)
    actor_id: uuid.UUID | None = None
    action: str = Field(max_length=64)
    client_id: uuid.UUID | None = Field(default=None, index=True)
    subject_id: uuid.UUID | None = None
