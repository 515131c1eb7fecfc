"""Assignments: a record type given to a client, and what is due today."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    Assignment,
    AssignmentCreate,
    Client,
    Entry,
    Frequency,
    RecordTemplate,
    TemplateVersion,
    Therapist,
)
from app.models.types import utcnow
from app.services import frequency as frequency_rules
from app.services import templates
from app.services.days import day_bounds, local_day
from app.services.errors import Invalid, NotFound


def assign(session: Session, *, therapist: Therapist, client: Client, data: AssignmentCreate) -> Assignment:
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    template = templates.get_usable(session, therapist=therapist, template_id=data.template_id)
    if template.archived_at is not None:
        raise Invalid(_("This record type is archived."))
    fields = data.model_dump(exclude={"template_id"})
    if "frequency" not in data.model_fields_set:
        # Not chosen: records that follow events are kept as they happen, others every day.
        fields["frequency"] = frequency_rules.default_for(template)
    if fields["frequency"] is not Frequency.times_per_day:
        fields["times_per_day"] = 1  # entries a day only mean something for "several times a day"
    frequency_rules.check(fields["frequency"], times_per_day=fields["times_per_day"])
    assignment = Assignment(
        client_id=client.id,
        therapist_id=therapist.id,
        template_id=template.id,
        **fields,
    )
    session.add(assignment)
    session.flush()
    # The therapist's proposed times become the client's reminder, which the client may change.
    from app.services import reminders

    reminders.propose(session, assignment=assignment)
    return assignment


def end(session: Session, *, therapist: Therapist, assignment_id: uuid.UUID) -> Assignment:
    assignment = get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    if assignment.ended_at is None:
        assignment.ended_at = utcnow()
        session.add(assignment)
    return assignment


def get_for_therapist(session: Session, *, therapist: Therapist, assignment_id: uuid.UUID) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("No such assignment."))
    client = session.get(Client, assignment.client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such assignment."))
    return assignment


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


@dataclass(frozen=True)
class Task:
    assignment: Assignment
    version: TemplateVersion
    done_today: int
    expected_today: int
    due_today: bool

    @property
    def complete(self) -> bool:
        return self.done_today >= self.expected_today

    @property
    def as_it_happens(self) -> bool:
        """Kept as it happens: never due, every entry counts."""
        return Frequency(self.assignment.frequency) is Frequency.as_it_happens


def today(session: Session, *, client: Client, now: datetime | None = None) -> list[Task]:
    """Each active assignment with how many entries today's local day already has."""
    now = now or utcnow()
    day = local_day(now, timezone=client.timezone, boundary=client.day_boundary)
    start, end_ = day_bounds(day, timezone=client.timezone, boundary=client.day_boundary)
    pairs = active_for_client(session, client_id=client.id)
    counts = dict(
        session.exec(
            select(Entry.assignment_id, func.count())
            .where(
                Entry.client_id == client.id,
                col(Entry.deleted_at).is_(None),
                Entry.occurred_at >= start,
                Entry.occurred_at < end_,
            )
            .group_by(col(Entry.assignment_id))
        ).all()
    )
    tasks = []
    for assignment, version in pairs:
        expected = frequency_rules.entries_asked(
            assignment.frequency, times_per_day=assignment.times_per_day, weekdays=assignment.weekdays, day=day
        )
        tasks.append(
            Task(
                assignment=assignment,
                version=version,
                done_today=int(counts.get(assignment.id, 0)),
                expected_today=expected,
                due_today=expected > 0,
            )
        )
    return tasks
