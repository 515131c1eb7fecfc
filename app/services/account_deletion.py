"""A client deleting their account: everything of theirs goes, the therapist learns only that they left.

Rows are found through every table's `client_id` column (read from the models'
metadata, so a table added later is covered without touching this file), voice
notes' audio through the voice store, and rate-limit counters through their keys.
What remains is one audit event that names the therapist to tell and carries
nothing of the client's, not even their id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import Session, SQLModel, col, select

from app.models import AuditEvent, Client, RateLimitCounter
from app.services import audit, voice_notes

LEFT = "client.left"


@dataclass(frozen=True)
class Deleted:
    rows: int
    voice_notes: int


def delete_client(session: Session, *, client: Client) -> Deleted:
    """Delete the client and everything that points at them, voice notes' audio included,
    in the caller's transaction: the caller commits, and a failure leaves everything as it was.
    """
    client_id = client.id
    therapist_id = client.therapist_id
    notes = voice_notes.forget_client(session, client_id=client_id)
    rows = notes
    # Children before parents: the reverse of the dependency order.
    for table in reversed(SQLModel.metadata.sorted_tables):
        if table.name == Client.__tablename__ or "client_id" not in table.c:
            continue
        result = session.execute(delete(table).where(table.c.client_id == client_id))
        rows += result.rowcount or 0  # type: ignore[attr-defined]
    # Counters whose key names the client (PIN attempts, API writes, uploads).
    rows += (
        session.execute(  # type: ignore[attr-defined]
            delete(RateLimitCounter).where(col(RateLimitCounter.key).contains(str(client_id)))
        ).rowcount
        or 0
    )
    # Audit events where the client is the actor (their own sign-ins) go with the account too.
    rows += (
        session.execute(  # type: ignore[attr-defined]
            delete(AuditEvent).where(
                or_(col(AuditEvent.actor_id) == client_id, col(AuditEvent.subject_id) == client_id)
            )
        ).rowcount
        or 0
    )
    session.delete(client)
    rows += 1
    if therapist_id is not None:
        # subject_id names the therapist to tell; nothing names the client.
        audit.record(session, actor_kind="client", actor_id=None, action=LEFT, subject_id=therapist_id)
    session.flush()
    return Deleted(rows=rows, voice_notes=notes)


def departures(session: Session, *, therapist_id: uuid.UUID, limit: int = 10) -> list[datetime]:
    """When clients of this therapist deleted their accounts, newest first."""
    statement = (
        select(AuditEvent.at)
        .where(AuditEvent.action == LEFT, AuditEvent.subject_id == therapist_id)
        .order_by(col(AuditEvent.at).desc())
        .limit(limit)
    )
    return list(session.exec(statement))
