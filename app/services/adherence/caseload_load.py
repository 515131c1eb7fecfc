"""Loading a caseload's clients, records and entry times: plain columns, one row per assignment.

A caseload reads hundreds of assignments and tens of thousands of entries. Full ORM
objects (and a row, a datetime and a tuple per entry) would cost more than the
figures worked out from them, so these loaders read only what the engine (`figures.figures`)
and the caseload page need.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, type_coerce
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from app.core import i18n
from app.core.querying import among
from app.models import Assignment, Client, Entry, Frequency, RecordTemplate, TemplateVersion
from app.models.types import UTCDateTime
from app.services.adherence.rules import Schedule


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """A client as the caseload shows them (shaped like `Client`, without their account)."""

    id: uuid.UUID
    display_name: str
    timezone: str
    day_boundary: time
    reminders_paused: bool


def clients_of(session: Session, *, therapist_id: uuid.UUID) -> list[tuple[ClientFacts, datetime | None]]:
    """A therapist's clients by name, each with when their latest live entry happened."""
    latest = (
        core_select(func.max(Entry.occurred_at))
        .where(col(Entry.client_id) == Client.id, col(Entry.deleted_at).is_(None))
        .correlate(Client)
        .scalar_subquery()
    )
    statement = (
        core_select(
            col(Client.id),
            col(Client.display_name),
            col(Client.timezone),
            col(Client.day_boundary),
            col(Client.reminders_paused),
            type_coerce(latest, UTCDateTime()),  # an aggregate: SQLite would hand back text
        )
        .where(col(Client.therapist_id) == therapist_id)
        .order_by(col(Client.display_name))
    )
    return [(ClientFacts(*row[:5]), row[5]) for row in session.execute(statement)]


@dataclass(frozen=True, slots=True)
class AssignmentFacts:
    """An assignment as the caseload shows it (shaped like `Assignment`, without its texts)."""

    id: uuid.UUID
    client_id: uuid.UUID
    frequency: Frequency
    times_per_day: int
    weekdays: list[int]
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Listed:
    """A live assignment with what names it: as `adherence_data.Assigned`, for many clients at once."""

    assignment: AssignmentFacts
    title: str
    scoring: str | None
    schedule: Schedule


def listed(session: Session, *, client_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Listed]]:
    """Each client's live assignments, oldest first, in one query."""
    ids = list(client_ids)
    out: dict[uuid.UUID, list[Listed]] = {client_id: [] for client_id in ids}
    if not ids:
        return out
    statement = (
        core_select(
            col(Assignment.id),
            col(Assignment.client_id),
            col(Assignment.frequency),
            col(Assignment.times_per_day),
            col(Assignment.weekdays),
            col(Assignment.created_at),
            col(Assignment.ended_at),
            col(TemplateVersion.title),
            col(TemplateVersion.scoring),
            col(RecordTemplate.therapist_id).is_(None),  # a library template
        )
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(among(session, col(Assignment.client_id), ids), col(Assignment.ended_at).is_(None))
        .order_by(col(Assignment.created_at))
    )
    titles: dict[tuple[str, bool], str] = {}
    schedules: dict[tuple[str, int, tuple[int, ...]], Schedule] = {}
    for row in session.execute(statement):
        assignment_id, client_id, frequency, per_day, weekdays, created_at, ended_at, title, scoring, library = row
        facts = AssignmentFacts(assignment_id, client_id, Frequency(frequency), per_day, weekdays, created_at, ended_at)
        # Library titles are msgids; hundreds of rows share a few titles and schedules.
        named = titles.get((title, library))
        if named is None:
            named = titles[(title, library)] = i18n.gettext(title) if library and title else title
        key = (facts.frequency, per_day, tuple(weekdays))
        schedule = schedules.get(key)
        if schedule is None:
            schedule = schedules[key] = Schedule.of(facts)
        out[client_id].append(Listed(facts, named, scoring, schedule))
    return out


@dataclass(frozen=True, slots=True)
class EntryTimes:
    """When one record's entries happened, in epoch seconds, sorted; `nothing`: the "nothing to report" ones."""

    times: list[float]
    nothing: list[float]

    def since(self, epoch: float) -> EntryTimes:
        """Only those from `epoch` on."""
        return EntryTimes(self.times[bisect.bisect_left(self.times, epoch) :], [t for t in self.nothing if t >= epoch])


NO_ENTRIES = EntryTimes([], [])


def recent_times(session: Session, *, since: Mapping[uuid.UUID, datetime]) -> dict[uuid.UUID, EntryTimes]:
    """When each live entry happened (private ones too: they count as done), by assignment, from
    each client's `since` on; some clients' may start earlier (`EntryTimes.since` trims them).

    One row per assignment: the database works out each entry's epoch and joins them
    into one text (group_concat / string_agg), so that tens of thousands of entries
    cost neither a row nor a datetime each here. Most clients share the usual start;
    the few who go back further are read from the earliest of theirs, not everyone.
    """
    out: dict[uuid.UUID, EntryTimes] = {}
    if not since:
        return out
    usual = max(since.values())
    further = {client_id: at for client_id, at in since.items() if at < usual}
    reach = and_(
        among(session, col(Entry.client_id), [client_id for client_id in since if client_id not in further]),
        col(Entry.occurred_at) >= usual,
    )
    if further:
        reach = or_(
            reach,
            and_(among(session, col(Entry.client_id), list(further)), col(Entry.occurred_at) >= min(further.values())),
        )
    epoch: ColumnElement[Any]
    if session.get_bind().dialect.name == "sqlite":
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: the whole seconds, then the fraction as
        # written (SQLite's own date functions keep only milliseconds).
        stored = type_coerce(Entry.occurred_at, String)
        epoch = func.strftime("%s", stored).concat(func.substr(stored, 20))
    else:
        # A numeric, written out to the microsecond.
        epoch = cast(func.extract("epoch", col(Entry.occurred_at)), String)
    statement = (
        core_select(
            type_coerce(Entry.assignment_id, String),
            func.aggregate_strings(epoch, ","),
            func.aggregate_strings(case((col(Entry.nothing_to_report), epoch)), ","),
        )
        .where(reach, col(Entry.deleted_at).is_(None))
        .group_by(col(Entry.assignment_id))
    )
    for key, times, nothing in session.connection().execute(statement):
        # SQLite hands the assignment back as text, PostgreSQL as a UUID.
        assignment_id = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
        out[assignment_id] = EntryTimes(
            sorted(map(float, times.split(","))),
            sorted(map(float, nothing.split(","))) if nothing else [],
        )
    return out
