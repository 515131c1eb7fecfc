"""The library of ready self-record types, shipped as data and synced into the database."""

from __future__ import annotations

from sqlmodel import Session


def sync(session: Session) -> None:
    """Insert or update the library templates (a changed template gets a new version)."""
    return None
