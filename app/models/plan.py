"""A plan made together: the homework agreement for one record, in the client's words.

In session the therapist opens a draft and the client's phone joins it; both edit the
same draft, and only the client confirms it. Every change, before and after
confirming, is kept as a `PlanChange` with who made it, so the therapist sees what the
client changed later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow

CUE_MAX = 200
ACTION_MAX = 300
OBSTACLE_MAX = 300
WHY_MAX = 1000
# The words of a plan, in the order the page asks for them.
WORDS = ("cue", "action", "obstacle", "obstacle_plan", "why")
WORD_LIMITS = {
    "cue": CUE_MAX,
    "action": ACTION_MAX,
    "obstacle": OBSTACLE_MAX,
    "obstacle_plan": OBSTACLE_MAX,
    "why": WHY_MAX,
}


class PlanState(StrEnum):
    draft = "draft"  # being made together; nothing runs yet
    confirmed = "confirmed"  # the client agreed on their phone: the one in force for its record
    replaced = "replaced"  # a later plan for the same record was confirmed
    discarded = "discarded"  # the therapist put the draft aside before it was confirmed


class PlanActor(StrEnum):
    therapist = "therapist"
    client = "client"


class PlanChangeKind(StrEnum):
    started = "started"
    edited = "edited"  # while a draft
    confirmed = "confirmed"
    changed = "changed"  # by the client, after confirming
    discarded = "discarded"
    replaced = "replaced"


class Plan(SQLModel, table=True):
    __table_args__ = (Index("ix_plan_client_state", "client_id", "state"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    therapist_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", ondelete="SET NULL")
    # The record it is about: a running assignment, or (until confirmed) a record type
    # that is assigned only when the client confirms.
    assignment_id: uuid.UUID | None = Field(default=None, foreign_key="assignment.id", index=True, ondelete="CASCADE")
    template_id: uuid.UUID | None = Field(default=None, foreign_key="record_template.id")
    state: PlanState = Field(default=PlanState.draft, max_length=16)
    # Local reminder times ("HH:MM") the client chose, in the client's time zone.
    times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cue: str = Field(default="", max_length=CUE_MAX)  # "When…" (I get home from work)
    action: str = Field(default="", max_length=ACTION_MAX)  # "I will…" (fill in the mood log on the bus)
    obstacle: str = Field(default="", max_length=OBSTACLE_MAX)  # what might get in the way
    obstacle_plan: str = Field(default="", max_length=OBSTACLE_MAX)  # what they will do then
    why: str = Field(default="", max_length=WHY_MAX)  # "Why this matters to me"
    # Raised by every change: screens editing together ask what changed since theirs.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class PlanChange(SQLModel, table=True):
    """One change to a plan: the version it made, who made it, and each field before and after."""

    __tablename__ = "plan_change"
    __table_args__ = (Index("ix_plan_change_plan_version", "plan_id", "version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="plan.id", ondelete="CASCADE")
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    version: int
    kind: PlanChangeKind = Field(max_length=16)
    actor: PlanActor = Field(max_length=16)
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # {field: [before, after]}; the record as "assignment:<id>" or "template:<id>".
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- the JSON API ---------------------------------------------------------------------------------


class PlanWords(SQLModel):
    """What either side may write; a field left out stays as it is. Lengths are checked by
    the service, which answers in the reader's language."""

    cue: str | None = Field(default=None, description="When… (the cue)")
    action: str | None = Field(default=None, description="I will… (the if-then plan)")
    obstacle: str | None = Field(default=None, description="What might get in the way")
    obstacle_plan: str | None = Field(default=None, description="What I will do then")
    why: str | None = Field(default=None, description="Why this matters to me")
    since: int | None = Field(
        default=None,
        description="The version these edits were made on: a field the other side changed since then is "
        "replaced only if this edit changes it too",
    )


class PlanClientEdit(PlanWords):
    times: list[str] | None = Field(default=None, description="Local reminder times, HH:MM, in the client's zone")


class PlanTherapistEdit(PlanWords):
    assignment_id: uuid.UUID | None = Field(default=None, description="The record: one already assigned")
    template_id: uuid.UUID | None = Field(
        default=None, description="The record: a record type, assigned only when the client confirms"
    )


class PlanStart(SQLModel):
    assignment_id: uuid.UUID | None = Field(default=None, description="Plan for a record already assigned")
    template_id: uuid.UUID | None = Field(default=None, description="Plan for a record type not assigned yet")


class PlanConfirm(SQLModel):
    version: int | None = Field(
        default=None,
        description="The version the client read: if the therapist changed the plan since, nothing is confirmed (409)",
    )


class PlanChangePublic(SQLModel):
    version: int
    kind: PlanChangeKind
    actor: PlanActor
    changed_at: datetime
    fields: dict[str, Any]


class PlanPublic(SQLModel):
    id: uuid.UUID
    client_id: uuid.UUID
    assignment_id: uuid.UUID | None
    template_id: uuid.UUID | None
    title: str = Field(description="The record's name, in the reader's language")
    state: PlanState
    times: list[str]
    cue: str
    action: str
    obstacle: str
    obstacle_plan: str
    why: str
    first_line: str = Field(description="The if-then plan as one sentence")
    version: int
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    history: list[PlanChangePublic] = Field(default_factory=list)
