"""Self-record types: a template and its immutable versions.

Editing a form creates a new version; entries point at the version they
answered, so old entries keep rendering after any edit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class RecordTemplate(SQLModel, table=True):
    __tablename__ = "record_template"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Library templates have a slug and no owner; a therapist's own forms have an owner.
    slug: str | None = Field(default=None, max_length=64, unique=True)
    therapist_id: uuid.UUID | None = Field(default=None, foreign_key="therapist.id", index=True)
    current_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    @property
    def is_library(self) -> bool:
        return self.therapist_id is None


class TemplateVersion(SQLModel, table=True):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    template_id: uuid.UUID = Field(foreign_key="record_template.id", index=True)
    number: int
    title: str = Field(max_length=120)
    instructions: str = Field(default="", max_length=4000)
    # Validated by app.fields.FieldList before it is stored.
    fields: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    example: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Name of a scoring rule in app.services.scoring (e.g. "phq9"), if any.
    scoring: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
