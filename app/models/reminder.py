"""Reminders the client chooses, and each time one fell due."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel, Time

from app.models.types import UTCDateTime, utcnow


class OccurrenceStatus(StrEnum):
    pending = "pending"  # recorded, not yet delivered
    sent = "sent"  # delivered on the first attempt
    retried_sent = "retried_sent"  # delivered after one or more retries
    suppressed = "suppressed"  # stayed quiet: nothing to ask for that day (why: `last_error`)
    email = "email"  # push failed within the grace period: sent by email instead
    missed = "missed"  # could not be delivered within the grace period


FINAL_STATUSES = frozenset(status for status in OccurrenceStatus if status is not OccurrenceStatus.pending)


class OccurrenceKind(StrEnum):
    scheduled = "scheduled"
    random = "random"
    snooze = "snooze"


class Reminder(SQLModel, table=True):
    """When to prompt one client about one assigned record. The client has the final say."""

    __table_args__ = (
        UniqueConstraint("assignment_id", name="uq_reminder_assignment"),
        Index("ix_reminder_due", "paused", "next_due_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    assignment_id: uuid.UUID = Field(foreign_key="assignment.id", ondelete="CASCADE")
    # Local times of day ("HH:MM"), in the client's time zone.
    times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # ISO weekday numbers of the client's (boundary-shifted) day, Monday = 1.
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], sa_column=Column(JSON, nullable=False))
    quiet_start: time | None = Field(default=None, sa_column=Column(Time(), nullable=True))
    quiet_end: time | None = Field(default=None, sa_column=Column(Time(), nullable=True))
    # Experience sampling: `random_count` prompts inside the window, at least `random_min_gap` apart.
    random_start: time | None = Field(default=None, sa_column=Column(Time(), nullable=True))
    random_end: time | None = Field(default=None, sa_column=Column(Time(), nullable=True))
    random_count: int = Field(default=0, ge=0, le=12)
    random_min_gap_minutes: int = Field(default=30, ge=0, le=720)
    paused: bool = False
    snoozed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The next instant the dispatcher must act on (None: nothing scheduled).
    next_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # When the client last chose the times or days themselves; None while they are the
    # ones the therapist proposed (which then follow the therapist's edits).
    chosen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ReminderOccurrence(SQLModel, table=True):
    """One due instant of a reminder. Recorded before sending, under a unique key, so that
    no two dispatchers send it twice; it always ends in a final status."""

    __tablename__ = "reminder_occurrence"
    __table_args__ = (
        UniqueConstraint("reminder_id", "due_at", name="uq_occurrence_reminder_due"),
        Index("ix_occurrence_work", "status", "next_attempt_at"),
        Index("ix_occurrence_client_due", "client_id", "due_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reminder_id: uuid.UUID = Field(foreign_key="reminder.id", ondelete="CASCADE")
    client_id: uuid.UUID = Field(foreign_key="client.id", ondelete="CASCADE")
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: OccurrenceKind = Field(default=OccurrenceKind.scheduled, max_length=16)
    status: OccurrenceStatus = Field(default=OccurrenceStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # A short machine code ("http_503", "timeout", "no_device"): never clinical content. For a
    # suppressed occurrence, why it stayed quiet (app/services/frequency.py: "done", "not_due", "logged").
    last_error: str | None = Field(default=None, max_length=64)
    # When the client first showed a sign of having seen it: a tap on the notification or its
    # buttons (the worker's beacon), or the page the notification opens. Ids only reach us.
    seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
