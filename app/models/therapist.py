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
    # Set when the therapist followed the link emailed at sign-up (or the account was made
    # by the operator); an account without it cannot sign in.
    email_verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class EmailVerification(SQLModel, table=True):
    """A link, emailed at sign-up, that confirms a therapist's address and signs them in.

    Single-use (confirming deletes it, and every other of the account's) and expiring;
    only the token's hash is stored. It carries the password and
    name typed in the sign-up that asked for it, and confirming sets them: whoever owns
    the address chooses which sign-up becomes the account, so an account registered in
    someone else's name earlier is not handed to its registrant.
    """

    __tablename__ = "email_verification"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    therapist_id: uuid.UUID = Field(foreign_key="therapist.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    display_name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


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
