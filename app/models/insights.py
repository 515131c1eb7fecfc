"""My patterns in the API: each section the therapist left on, in words and in numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import SQLModel


class InsightPublic(SQLModel):
    section: str
    title: str
    # Below its minimum amount of data a section says only how many entries it still needs.
    ready: bool
    have: int
    needs: int
    waiting: str
    sentences: list[str]
    caution: str
    figures: dict[str, Any]


class InsightsPublic(SQLModel):
    since: datetime
    as_of: datetime
    sections: list[InsightPublic]
