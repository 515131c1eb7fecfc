from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime


class RateLimitCounter(SQLModel, table=True):
    """A fixed-window counter kept in the database, so every replica shares it."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    count: int = 0
