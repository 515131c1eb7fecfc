"""Loading a caseload's clients, records and entry times: plain columns, one row per assignment.

A caseload reads hundreds of assignments and tens of thousands of entries. Full ORM
objects (and a row, a datetime and a tuple per entry) would cost more than the
figures worked out from them, so these loaders read only what the engine (`figures.figures`)
and the caseload page need.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, not_, or_, type_coerce
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from app.core import i18n
from app.core.querying import among
from app.models import (
    Assignment,
    Client,
    Entry,
    Frequency,
    OccurrenceStatus,
    RecordTemplate,
    Reminder,
    ReminderOccurrence,
    TemplateVersion,
)
from app.models.types import UTCDateTime
from app.services.adherence.rules import Quality, Schedule, logged_in_the_moment

# Reminders that reached the client: those may have prompted an entry.
PROMPTED = (OccurrenceStatus.sent, OccurrenceStatus.retried_sent, OccurrenceStatus.email)


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
    """When one record's entries happened, in epoch seconds, sorted; `nothing`: the "nothing to report" ones.
    `written`: (happened, logged) of the others, for the quality figures; `with_work` and
    `complete`: when those of a form with parts that carry the work, and the complete ones, happened."""

    times: list[float]
    nothing: list[float]
    written: list[tuple[float, float]] = field(default_factory=list)
    with_work: list[float] = field(default_factory=list)
    complete: list[float] = field(default_factory=list)

    def since(self, epoch: float) -> EntryTimes:
        """Only those from `epoch` on."""
        return EntryTimes(
            self.times[bisect.bisect_left(self.times, epoch) :],
            [t for t in self.nothing if t >= epoch],
            [pair for pair in self.written if pair[0] >= epoch],
            [t for t in self.with_work if t >= epoch],
            [t for t in self.complete if t >= epoch],
        )

    def quality(self, prompts: Sequence[float] = ()) -> Quality:
        """The quality figures' input, with when reminders for this record reached the client
        (sorted epochs): the latest one before an entry was logged is the one that prompted it."""
        moment = []
        for occurred, logged in self.written:
            at = bisect.bisect_right(prompts, logged)
            prompted = prompts[at - 1] if at else None
            if logged_in_the_moment(occurred=occurred, logged=logged, prompted=prompted):
                moment.append(occurred)
        return Quality(
            written=sorted(occurred for occurred, _logged in self.written),
            in_the_moment=sorted(moment),
            with_work=self.with_work,
            complete=self.complete,
        )


NO_ENTRIES = EntryTimes([], [])


def _epoch(session: Session, column: Any) -> ColumnElement[Any]:
    """A stored instant as epoch seconds, written out as text to the microsecond."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: the whole seconds, then the fraction as
        # written (SQLite's own date functions keep only milliseconds).
        stored = type_coerce(column, String)
        return func.strftime("%s", stored).concat(func.substr(stored, 20))
    # A numeric, written out to the microsecond.
    return cast(func.extract("epoch", column), String)


def _floats(text: str | None) -> list[float]:
    return sorted(map(float, text.split(","))) if text else []


def _pairs(text: str | None) -> list[tuple[float, float]]:
    """ "a:b,c:d" as [(a, b), (c, d)]: split and converted in C, not a step per entry here."""
    if not text:
        return []
    values = list(map(float, text.replace(":", ",").split(",")))
    return list(zip(values[0::2], values[1::2], strict=True))


def prompt_times(session: Session, *, since: datetime, client_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[float]]:
    """When reminders reached each client (sent, or emailed) from `since` on, by assignment,
    as sorted epochs: one row per assignment, like `recent_times`."""
    sent = _epoch(session, col(ReminderOccurrence.sent_at))
    statement = (
        core_select(type_coerce(Reminder.assignment_id, String), func.aggregate_strings(sent, ","))
        .join(Reminder, col(Reminder.id) == ReminderOccurrence.reminder_id)
        .where(
            among(session, col(ReminderOccurrence.client_id), list(client_ids)),
            col(ReminderOccurrence.due_at) >= since,
            col(ReminderOccurrence.sent_at).is_not(None),
            col(ReminderOccurrence.status).in_(PROMPTED),
        )
        .group_by(col(Reminder.assignment_id))
    )
    out: dict[uuid.UUID, list[float]] = {}
    for key, times in session.connection().execute(statement):
        out[key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))] = _floats(times)
    return out


def recent_times(
    session: Session, *, since: Mapping[uuid.UUID, datetime], written_since: datetime | None = None
) -> dict[uuid.UUID, EntryTimes]:
    """When each live entry happened (private ones too: they count as done), by assignment, from
    each client's `since` on; some clients' may start earlier (`EntryTimes.since` trims them).

    One row per assignment: the database works out each entry's epoch and joins them
    into one text (group_concat / string_agg), so that tens of thousands of entries
    cost neither a row nor a datetime each here. Most clients share the usual start;
    the few who go back further are read from the earliest of theirs, not everyone.
    `written_since`: how far back the quality figures' columns go (all of it without).
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
    epoch = _epoch(session, col(Entry.occurred_at))
    written: ColumnElement[bool] = not_(col(Entry.nothing_to_report))
    if written_since is not None:
        # The quality figures look back only this far (the last sessions): their columns stay short.
        written = and_(written, col(Entry.occurred_at) >= written_since)
    statement = (
        core_select(
            type_coerce(Entry.assignment_id, String),
            func.aggregate_strings(epoch, ","),
            func.aggregate_strings(case((col(Entry.nothing_to_report), epoch)), ","),
            # "happened:logged" of each entry written, for the quality figures.
            func.aggregate_strings(
                case((written, epoch.concat(":").concat(_epoch(session, col(Entry.logged_at))))), ","
            ),
            func.aggregate_strings(case((and_(written, col(Entry.complete).is_not(None)), epoch)), ","),
            func.aggregate_strings(case((and_(written, col(Entry.complete).is_(True)), epoch)), ","),
        )
        .where(reach, col(Entry.deleted_at).is_(None))
        .group_by(col(Entry.assignment_id))
    )
    for key, times, nothing, pairs, with_work, complete in session.connection().execute(statement):
        # SQLite hands the assignment back as text, PostgreSQL as a UUID.
        assignment_id = key if isinstance(key, uuid.UUID) else uuid.UUID(str(key))
        out[assignment_id] = EntryTimes(
            _floats(times),
            _floats(nothing),
            _pairs(pairs),
            _floats(with_work),
            _floats(complete),
        )
    return out
