from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Index
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class Frequency(StrEnum):
    daily = "daily"
    times_per_day = "times_per_day"
    weekdays = "weekdays"
    weekly = "weekly"
    # Records that follow events (a thought record, an urge): what happened is counted,
    # nothing is scheduled, and no day is ever missed. Reminders are optional check-ins.
    as_it_happens = "as_it_happens"


class AssignmentBase(SQLModel):
    instructions: str = Field(default="", max_length=2000)
    frequency: Frequency = Field(default=Frequency.daily, max_length=16)
    times_per_day: int = Field(default=1, ge=1, le=12)
    # ISO weekday numbers, Monday = 1; used when frequency is "weekdays".
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], sa_column=Column(JSON, nullable=False))
    # Reminder times the therapist proposes ("HH:MM"); the client has the final say.
    proposed_times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Assignment(AssignmentBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    therapist_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", index=True)
    template_id: uuid.UUID = Field(foreign_key="record_template.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AssignmentSettings(SQLModel):
    """What a therapist sets when assigning a record, and may change while it runs."""

    instructions: str = Field(default="", max_length=2000)
    frequency: Frequency = Frequency.daily
    times_per_day: int = Field(default=1, ge=1, le=12)
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    proposed_times: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(day < 1 or day > 7 for day in value):
            raise ValueError("choose at least one weekday (1 = Monday … 7 = Sunday)")
        return sorted(set(value))

    @field_validator("proposed_times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        from app.core.timeutil import parse_hhmm

        return sorted({parse_hhmm(item).strftime("%H:%M") for item in value})

    @model_validator(mode="after")
    def _one_day_a_week(self) -> AssignmentSettings:
        # A weekly record is due on one day (its week ends then); all seven days is the
        # older form, whose weeks run from the first day.
        if self.frequency is Frequency.weekly and 1 < len(self.weekdays) < 7:
            raise ValueError("a weekly record is due on one day of the week")
        return self


class AssignmentCreate(AssignmentSettings):
    template_id: uuid.UUID


class AssignmentPublic(AssignmentBase):
    id: uuid.UUID
    client_id: uuid.UUID
    template_id: uuid.UUID
    created_at: datetime
    ended_at: datetime | None


class ChangeKind(StrEnum):
    changed = "changed"  # frequency, days, instructions or proposed times edited
    stopped = "stopped"
    restarted = "restarted"  # a stop undone


# The fields of an assignment a therapist may edit while it runs; each change keeps them
# as they were before and after.
EDITABLE = ("frequency", "times_per_day", "weekdays", "instructions", "proposed_times")


class AssignmentChange(SQLModel, table=True):
    """One edit, stop or restart of an assignment: what it was, what it became, when and by whom.
    Past days keep being counted by the rules of the time (see `adherence.ScheduleChange`)."""

    __tablename__ = "assignment_change"
    __table_args__ = (Index("ix_assignment_change_client_changed", "client_id", "changed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    assignment_id: uuid.UUID = Field(foreign_key="assignment.id", index=True, ondelete="CASCADE")
    client_id: uuid.UUID = Field(foreign_key="client.id", ondelete="CASCADE")
    kind: ChangeKind = Field(default=ChangeKind.changed, max_length=16)
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    changed_by_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", ondelete="SET NULL")
    # The editable fields (EDITABLE) as they were, and as they became.
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # When the client said they had read the notice about it (None: still shown).
    seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
