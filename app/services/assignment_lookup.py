"""What a client has been given: the assignment reads that the assignment and the reminder
services both need. Kept apart so neither imports the other back (assigning a record proposes
its reminder; a reminder looks its record up)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.core.i18n import _
from app.models import Assignment, Client, RecordTemplate, TemplateVersion


def get_for_client(session: Session, *, client: Client, assignment_id: uuid.UUID) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.client_id != client.id:
        raise NotFound(_("This record is not assigned to you."))
    return assignment


def active_for_client(session: Session, *, client_id: uuid.UUID) -> list[tuple[Assignment, TemplateVersion]]:
    statement = (
        select(Assignment, TemplateVersion)
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(Assignment.client_id == client_id, col(Assignment.ended_at).is_(None))
        .order_by(col(Assignment.created_at))
    )
    return [(assignment, version) for assignment, version in session.exec(statement)]
