"""What reaches the therapist, in one place: what the client shared, or marked to discuss in
session. A private entry or check-in counts as done and is never read for the therapist, by any
path (page, API, export, brief, caseload, patterns, voice notes, a device not yet confirmed).

Queries take the condition (`shared`) so nothing private is even loaded; code holding a row
asks `is_shared`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from app.models import BarrierCheckin, Entry, Visibility


def shared(model: type[Entry] | type[BarrierCheckin] = Entry) -> ColumnElement[bool]:
    """The condition on `model`'s rows that the therapist may read."""
    return col(model.visibility) != Visibility.private


def is_shared(row: Entry | BarrierCheckin) -> bool:
    return row.visibility != Visibility.private


def shared_entries(
    session: Session,
    *,
    client_id: uuid.UUID,
    since: datetime,
    until: datetime | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Entry]:
    """The client's live shared and "discuss in session" entries that happened from `since`
    (to `until`), oldest first unless `newest_first`."""
    statement = select(Entry).where(
        Entry.client_id == client_id,
        col(Entry.deleted_at).is_(None),
        shared(),
        Entry.occurred_at >= since,
    )
    if until is not None:
        statement = statement.where(Entry.occurred_at <= until)
    order = col(Entry.occurred_at).desc() if newest_first else col(Entry.occurred_at)
    statement = statement.order_by(order)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))
