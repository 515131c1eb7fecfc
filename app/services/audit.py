from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.models import AuditEvent


def record(
    session: Session,
    *,
    actor_kind: str,
    actor_id: uuid.UUID | None,
    action: str,
    client_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        client_id=client_id,
        subject_id=subject_id,
    )
    session.add(event)
    return event


def for_client(session: Session, *, client_id: uuid.UUID, limit: int = 100) -> list[AuditEvent]:
    statement = (
        select(AuditEvent).where(AuditEvent.client_id == client_id).order_by(col(AuditEvent.at).desc()).limit(limit)
    )
    return list(session.exec(statement))
