"""Where a client lived when: their time zone history, so past days stay the days they were."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session, col, select

from app.core.querying import among
from app.models import Client, ClientZoneChange
from app.models.types import utcnow
from app.services.adherence.rules import ZoneChange

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record_change(session: Session, *, client: Client, timezone: str, at: datetime | None = None) -> None:
    """Note a move before `client.timezone` is changed to `timezone`."""
    if timezone == client.timezone:
        return
    at = at or utcnow()
    known = session.exec(select(ClientZoneChange.id).where(ClientZoneChange.client_id == client.id).limit(1)).first()
    if known is None:
        # The zone lived in until now, from the start.
        session.add(ClientZoneChange(client_id=client.id, effective_from=_EPOCH, timezone=client.timezone))
    session.add(ClientZoneChange(client_id=client.id, effective_from=at, timezone=timezone))


class Placed(Protocol):
    """A client, or what a caseload reads of one: who, and in which zone now."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def timezone(self) -> str: ...


def histories(session: Session, *, clients: Iterable[Placed]) -> dict[uuid.UUID, list[ZoneChange]]:
    """Each client's zone history in one query; a client who never moved has their one zone."""
    by_id = {client.id: client for client in clients}
    out: dict[uuid.UUID, list[ZoneChange]] = {client_id: [] for client_id in by_id}
    if by_id:
        rows = session.exec(
            select(ClientZoneChange)
            .where(among(session, col(ClientZoneChange.client_id), list(by_id)))
            .order_by(col(ClientZoneChange.effective_from))
        )
        for row in rows:
            out[row.client_id].append(ZoneChange(row.effective_from, row.timezone))
    for client_id, changes in out.items():
        current = by_id[client_id].timezone
        if not changes:
            changes.append(ZoneChange(_EPOCH, current))
        elif changes[-1].timezone != current:
            # Changed without a record (an import, an admin edit): trust the current zone from now.
            changes.append(ZoneChange(utcnow(), current))
    return out


def history(session: Session, *, client: Client) -> list[ZoneChange]:
    return histories(session, clients=[client])[client.id]
