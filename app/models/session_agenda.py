"""What the client wants to bring to one session: the entries they picked the day before
and a note for the session. Shared with the therapist by default; a note kept private
never reaches the therapist."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Text
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow

NOTE_MAX = 2000
# More picks than this is not an agenda any more; the page never offers that many.
PICKS_MAX = 50


class SessionAgenda(SQLModel, table=True):
    __tablename__ = "session_agenda"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # One agenda per session.
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", unique=True, ondelete="CASCADE")
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    # Entry ids the client picked to bring, in the order picked (each also marked
    # "discuss in session" on the entry itself, so every other view of it agrees).
    picks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", sa_column=Column(Text(), nullable=False, server_default=""))
    note_private: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AgendaUpdate(SQLModel):
    """The client's picks and note for their next session (replaces what was there)."""

    # The session the client saw, if given: a session moved meanwhile is answered 410.
    appointment_id: uuid.UUID | None = None
    picks: list[uuid.UUID] = Field(default_factory=list)
    note: str = ""
    note_private: bool = False


class AgendaEntry(SQLModel):
    id: uuid.UUID
    assignment_id: uuid.UUID
    title: str
    occurred_at: datetime
    picked: bool


class AgendaQuestionnaire(SQLModel):
    assignment_id: uuid.UUID
    title: str


class AgendaPublic(SQLModel):
    """The client's own view of their next session's agenda."""

    appointment_id: uuid.UUID | None
    starts_at: datetime | None
    timezone: str | None
    picks: list[uuid.UUID]
    note: str
    note_private: bool
    note_max: int = NOTE_MAX
    entries: list[AgendaEntry]
    questionnaires_due: list[AgendaQuestionnaire]
