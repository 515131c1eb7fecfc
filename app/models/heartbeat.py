"""Dispatchers' heartbeats: each running dispatcher keeps one row fresh."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from app.models.types import UTCDateTime


class DispatcherHeartbeat(SQLModel, table=True):
    """One row per running reminder dispatcher, rewritten every few seconds and removed when
    it stops cleanly; a row that stops changing belongs to a dispatcher that hangs or died.
    Nothing here is about clients: a name, a host and a process id."""

    __tablename__ = "dispatcher_heartbeat"

    # "host:pid", as the dispatcher names itself.
    name: str = Field(primary_key=True, max_length=255)
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_beat_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
