"""Assignments: a record type given to a client, and what is due today."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core.days import day_bounds, local_day
from app.core.errors import Conflict, Invalid, NotFound
from app.core.i18n import _
from app.models import (
    Assignment,
    AssignmentChange,
    AssignmentCreate,
    AssignmentSettings,
    ChangeKind,
    Client,
    Entry,
    Frequency,
    RecordTemplate,
    TemplateVersion,
    Therapist,
)
from app.models.types import utcnow
from app.services import frequency as frequency_rules
from app.services import record_types
from app.services.adherence.rules import days_of
from app.services.assignment_lookup import active_for_client

# How long after stopping a record the therapist can take it back ("Stopped. Undo").
UNDO_WINDOW = timedelta(hours=24)


def assign(session: Session, *, therapist: Therapist, client: Client, data: AssignmentCreate) -> Assignment:
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    template = record_types.get_usable(session, therapist=therapist, template_id=data.template_id)
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


def snapshot(assignment: Assignment | AssignmentSettings) -> dict[str, Any]:
    """The fields a therapist may change while a record runs, as plain JSON values."""
    return {
        "frequency": str(Frequency(assignment.frequency).value),
        "times_per_day": int(assignment.times_per_day),
        "weekdays": sorted({int(day) for day in assignment.weekdays}),
        "instructions": assignment.instructions,
        "proposed_times": sorted(assignment.proposed_times),
    }


def _record(
    session: Session, *, assignment: Assignment, kind: ChangeKind, therapist: Therapist, before: dict[str, Any]
) -> AssignmentChange:
    change = AssignmentChange(
        assignment_id=assignment.id,
        client_id=assignment.client_id,
        kind=kind,
        changed_by_id=therapist.id,
        before=before,
        after=snapshot(assignment),
    )
    session.add(change)
    return change


def change(
    session: Session, *, therapist: Therapist, assignment_id: uuid.UUID, data: AssignmentSettings
) -> AssignmentChange | None:
    """Edit a running record's frequency, days, instructions or proposed reminder times.

    What it was is kept (the days before today stay counted by the old rules) and the
    client is told on their Today page. The client's reminder follows the new proposed
    times and days unless the client chose their own. None when nothing changed.
    """
    assignment = get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    if assignment.ended_at is not None:
        raise Conflict(_("This record was stopped. Undo the stop (or assign it again) to change it."))
    before = snapshot(assignment)
    after = snapshot(data)
    if after == before:
        return None
    for key, value in after.items():
        setattr(assignment, key, Frequency(value) if key == "frequency" else value)
    session.add(assignment)
    recorded = _record(session, assignment=assignment, kind=ChangeKind.changed, therapist=therapist, before=before)
    from app.services import reminders

    reminders.follow_proposal(session, assignment=assignment)
    session.flush()
    return recorded


def end(session: Session, *, therapist: Therapist, assignment_id: uuid.UUID) -> Assignment:
    """Stop a record: it leaves the client's Today and its reminders stop; entries stay.
    It can be taken back for `UNDO_WINDOW` (`restart`), reminders and all."""
    assignment = get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    if assignment.ended_at is None:
        assignment.ended_at = utcnow()
        session.add(assignment)
        before = snapshot(assignment)
        _record(session, assignment=assignment, kind=ChangeKind.stopped, therapist=therapist, before=before)
    return assignment


def restart(
    session: Session, *, therapist: Therapist, assignment_id: uuid.UUID, now: datetime | None = None
) -> Assignment:
    """Undo a stop made less than `UNDO_WINDOW` ago: the record and its reminder carry on as before.
    The days it was stopped ask for nothing."""
    now = now or utcnow()
    assignment = get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
    if assignment.ended_at is None:
        return assignment
    if now - assignment.ended_at > UNDO_WINDOW:
        raise Conflict(_("This record was stopped more than a day ago. Assign it again to start it anew."))
    assignment.ended_at = None
    session.add(assignment)
    before = snapshot(assignment)
    _record(session, assignment=assignment, kind=ChangeKind.restarted, therapist=therapist, before=before)
    from app.services import reminders

    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    client = session.get(Client, assignment.client_id)
    if reminder is not None and client is not None:
        session.add(reminders.reschedule(reminder, client, now=now))
    session.flush()
    return assignment


def recently_stopped(
    session: Session, *, client_id: uuid.UUID, now: datetime | None = None
) -> list[tuple[Assignment, TemplateVersion]]:
    """Records stopped less than `UNDO_WINDOW` ago, which the therapist can still take back."""
    now = now or utcnow()
    statement = (
        select(Assignment, TemplateVersion)
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(Assignment.client_id == client_id, col(Assignment.ended_at) > now - UNDO_WINDOW)
        .order_by(col(Assignment.ended_at).desc())
    )
    return [(assignment, version) for assignment, version in session.exec(statement)]


def get_for_therapist(session: Session, *, therapist: Therapist, assignment_id: uuid.UUID) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("No such assignment."))
    client = session.get(Client, assignment.client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such assignment."))
    return assignment


@dataclass(frozen=True)
class Task:
    assignment: Assignment
    version: TemplateVersion
    done_today: int
    expected_today: int
    due_today: bool
    day: date  # the client's today
    # A weekly record: its week holding today (first, last day) and the entries in it.
    week: tuple[date, date] | None = None
    done_this_week: int = 0

    @property
    def done(self) -> int:
        """The entries that count toward what today asks for: today's, or the week's."""
        return self.done_this_week if self.week is not None else self.done_today

    @property
    def complete(self) -> bool:
        return self.done >= self.expected_today

    @property
    def as_it_happens(self) -> bool:
        """Kept as it happens: never due, every entry counts."""
        return Frequency(self.assignment.frequency) is Frequency.as_it_happens


def today(session: Session, *, client: Client, now: datetime | None = None) -> list[Task]:
    """Each active assignment with how many entries today's local day already has (and a
    weekly record's week: done once in it, it is done until the next one)."""
    now = now or utcnow()
    zone, boundary = client.timezone, client.day_boundary
    day = local_day(now, timezone=zone, boundary=boundary)
    pairs = active_for_client(session, client_id=client.id)
    spans = {
        assignment.id: frequency_rules.counted_days(
            assignment.frequency,
            weekdays=assignment.weekdays,
            day=day,
            first_day=local_day(assignment.created_at, timezone=zone, boundary=boundary),
        )
        for assignment, _version in pairs
    }
    first = min((start for start, _last in spans.values()), default=day)
    start, _end = day_bounds(first, timezone=zone, boundary=boundary)
    _start, end_ = day_bounds(day, timezone=zone, boundary=boundary)
    # Entry times since the earliest day that counts (a week back at most): few rows.
    per_day: dict[tuple[uuid.UUID, date], int] = defaultdict(int)
    for assignment_id, occurred_at in session.exec(
        select(Entry.assignment_id, Entry.occurred_at).where(
            Entry.client_id == client.id,
            col(Entry.deleted_at).is_(None),
            Entry.occurred_at >= start,
            Entry.occurred_at < end_,
        )
    ):
        per_day[(assignment_id, local_day(occurred_at, timezone=zone, boundary=boundary))] += 1
    tasks = []
    for assignment, version in pairs:
        expected = frequency_rules.entries_asked(
            assignment.frequency, times_per_day=assignment.times_per_day, weekdays=assignment.weekdays, day=day
        )
        low, high = spans[assignment.id]
        weekly = Frequency(assignment.frequency) is Frequency.weekly
        tasks.append(
            Task(
                assignment=assignment,
                version=version,
                done_today=per_day[(assignment.id, day)],
                expected_today=expected,
                due_today=expected > 0,
                day=day,
                week=(low, high) if weekly else None,
                done_this_week=sum(per_day[(assignment.id, one)] for one in days_of(low, high)) if weekly else 0,
            )
        )
    return tasks


def record_types_given(session: Session, *, client_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Every record type the client was ever given (running or stopped), by name, for filters."""
    statement = (
        select(RecordTemplate.id, RecordTemplate.therapist_id, TemplateVersion.title)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(col(RecordTemplate.id).in_(select(Assignment.template_id).where(Assignment.client_id == client_id)))
    )
    named = [
        (template_id, _(title) if owner is None and title else title)
        for template_id, owner, title in session.exec(statement)
    ]
    return sorted(named, key=lambda item: item[1].lower())


def default_weekly_day(client: Client) -> int:
    """The day a new weekly record is due unless the therapist picks another: a week from today."""
    today = utcnow().astimezone(ZoneInfo(client.timezone)).date()
    return (today + timedelta(days=6)).isoweekday()
