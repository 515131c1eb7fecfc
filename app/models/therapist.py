from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import field_validator
from sqlalchemy import false, text
from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime, utcnow


class TherapistBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=120)
    locale: str | None = Field(default=None, max_length=10)


# Bounds of `digest_hours_before`: at least an hour to read it, at most three days ahead.
DIGEST_HOURS_MIN = 1
DIGEST_HOURS_MAX = 72
DIGEST_HOURS_DEFAULT = 24


class Therapist(TherapistBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # Opt-in: an email with the brief in short, this many hours before each session.
    digest_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    digest_hours_before: int = Field(
        default=DIGEST_HOURS_DEFAULT,
        ge=DIGEST_HOURS_MIN,
        le=DIGEST_HOURS_MAX,
        sa_column_kwargs={"server_default": text(str(DIGEST_HOURS_DEFAULT))},
    )


class TherapistCreate(SQLModel):
    email: str = Field(max_length=254)
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=10, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("enter an email address like name@example.org")
    return value


class TherapistPublic(TherapistBase):
    id: uuid.UUID
