"""Entries: idempotent creation keyed by the client's UUID, edits, deletion, reading."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from app import library
from app.core.errors import Conflict, Gone, Invalid, NotFound
from app.core.i18n import _
from app.models import (
    Assignment,
    Client,
    Entry,
    EntryCreate,
    EntryUpdate,
    RecordTemplate,
    TemplateVersion,
    Therapist,
    Visibility,
)
from app.models.fields import FieldDef
from app.models.types import utcnow
from app.services import audit, scoring, sharing, voice_notes
from app.services.answers import AnswerError, validate_answers
from app.services.device_trust import PrivateAccess
from app.services.record_types import fields_by_id, fields_of

# Phones' clocks drift; an event "in the future" by less than this is accepted.
_CLOCK_SKEW = timedelta(minutes=10)
_OLDEST = timedelta(days=366)


@dataclass(frozen=True)
class SavedEntry:
    entry: Entry
    created: bool


@dataclass(frozen=True)
class StoredRow:
    """A stored entry as its column values, and whether this call stored it. An entry
    already stored was loaded to compare it: `replayed` is that object."""

    row: dict[str, Any]
    created: bool
    replayed: Entry | None = None


def create(session: Session, *, client: Client, data: EntryCreate, device_id: uuid.UUID | None = None) -> SavedEntry:
    """Store an entry once. The same UUID and content again returns the stored entry.

    The entry comes back attached to the session as if it had been loaded, so later
    changes to it are saved as usual. `device_id` is the device that wrote it.
    """
    stored = store(session, client_id=client.id, device_id=device_id, data=data)
    if stored.replayed is not None:
        return SavedEntry(stored.replayed, created=False)
    entry = Entry(**stored.row)
    make_transient_to_detached(entry)
    session.add(entry)
    return SavedEntry(entry, created=True)


def store(
    session: Session, *, client_id: uuid.UUID, data: EntryCreate, device_id: uuid.UUID | None = None
) -> StoredRow:
    """`create` without building an ORM entry for a new one: for the entry API, which only
    answers with the stored values (building and tracking the object cost more than the
    INSERT)."""
    # Rows the entry refers to may still be pending in this session; the reads below go
    # straight to the connection, which does not flush them first.
    session.flush()
    version_id, rule, slug = _target_of(
        session, client_id=client_id, assignment_id=data.assignment_id, version_id=data.template_version_id
    )
    fields = fields_by_id(session, version_id=version_id)
    now = utcnow()
    occurred_at = _checked_occurred_at(data.occurred_at, now=now)
    answers = _checked_answers(fields, data.answers, nothing_to_report=data.nothing_to_report)
    digest = _content_hash(
        assignment_id=data.assignment_id,
        version_id=version_id,
        answers=answers,
        nothing_to_report=data.nothing_to_report,
        visibility=data.visibility,
        occurred_at=occurred_at,
    )
    notes = []
    if voice_notes.spoken_answers(fields, answers):
        # A replay is answered before its recordings are checked again.
        existing = session.get(Entry, data.id)
        if existing is not None:
            return _replayed(existing, client_id=client_id, digest=digest)
        notes = voice_notes.check_answers(
            session, client_id=client_id, fields=fields, answers=answers, entry_id=data.id
        )
    row = {
        "id": data.id,
        "client_id": client_id,
        "assignment_id": data.assignment_id,
        "template_version_id": version_id,
        "answers": answers,
        "nothing_to_report": data.nothing_to_report,
        "visibility": data.visibility,
        "score": scoring.score(rule, answers),
        "complete": library.complete(slug, answers, nothing_to_report=data.nothing_to_report),
        "occurred_at": occurred_at,
        "logged_at": now,
        "updated_at": now,
        "deleted_at": None,
        "content_hash": digest,
        "device_id": device_id,
    }
    if not _insert_once(session, row):
        # Already stored: an offline sync sent it again, or two syncs of it raced.
        existing = session.get(Entry, data.id, populate_existing=True)
        if existing is None:
            raise Conflict(_("This entry could not be saved just now. Please try again."))
        return _replayed(existing, client_id=client_id, digest=digest)
    if notes:
        # A new entry has no recordings tied to it yet, so there is nothing to let go.
        voice_notes.attach(session, notes=notes, entry_id=data.id)
    return StoredRow(row, created=True)


def _replayed(existing: Entry, *, client_id: uuid.UUID, digest: str) -> StoredRow:
    entry = _same_or_conflict(existing, client_id=client_id, digest=digest)
    return StoredRow({key: getattr(entry, key) for key in _ENTRY_COLUMNS}, created=False, replayed=entry)


def _insert_once(session: Session, row: dict[str, Any]) -> bool:
    """INSERT the row unless its id is taken; True if this call stored it.

    One statement, where reading first and inserting in a savepoint took three or
    more: `ON CONFLICT DO NOTHING` also settles two syncs of one entry racing (the
    loser waits for the winner's commit, then inserts nothing).
    """
    statement = _INSERT_ONCE[session.get_bind().dialect.name]
    # RETURNING says whether a row went in (psycopg reports no rowcount for this).
    return session.connection().execute(statement, row).first() is not None


_ENTRY_TABLE = Entry.__table__  # type: ignore[attr-defined]
_ENTRY_COLUMNS = [column.key for column in _ENTRY_TABLE.columns]
# The app runs on SQLite or PostgreSQL; both spell this the same way.
_INSERT_ONCE = {
    name: insert(_ENTRY_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_ENTRY_TABLE.c.id)
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def _same_or_conflict(existing: Entry, *, client_id: uuid.UUID, digest: str) -> Entry:
    if existing.client_id != client_id:
        raise Conflict(_("This entry id is already taken. Please try again."))
    if existing.deleted_at is not None:
        raise Gone(_("This entry was deleted, so it was not saved again."))
    if existing.content_hash != digest:
        raise Conflict(_("An entry with this id already exists with different content."))
    return existing


def update(session: Session, *, client: Client, access: PrivateAccess, entry_id: uuid.UUID, data: EntryUpdate) -> Entry:
    entry = get_own(session, client=client, access=access, entry_id=entry_id)
    version = session.get(TemplateVersion, entry.template_version_id)
    assert version is not None
    nothing = entry.nothing_to_report if data.nothing_to_report is None else data.nothing_to_report
    answers = entry.answers if data.answers is None else data.answers
    entry.answers = _checked_answers(fields_of(version), answers, nothing_to_report=nothing)
    notes = voice_notes.check_answers(
        session, client_id=client.id, fields=fields_of(version), answers=entry.answers, entry_id=entry.id
    )
    voice_notes.attach(session, notes=notes, entry_id=entry.id)
    entry.nothing_to_report = nothing
    if data.visibility is not None:
        entry.visibility = data.visibility
    if data.occurred_at is not None:
        entry.occurred_at = _checked_occurred_at(data.occurred_at, now=utcnow())
    entry.score = scoring.score(version.scoring, entry.answers)
    template = session.get(RecordTemplate, version.template_id)
    entry.complete = library.complete(
        template.slug if template is not None else None, entry.answers, nothing_to_report=nothing
    )
    entry.updated_at = utcnow()
    entry.content_hash = _hash_of(entry)
    session.add(entry)
    session.flush()
    return entry


def delete(session: Session, *, client: Client, access: PrivateAccess, entry_id: uuid.UUID) -> None:
    """Wipe the content but keep the id, so a replayed offline sync is told it is gone."""
    entry = get_own(session, client=client, access=access, entry_id=entry_id)
    voice_notes.forget_entry(session, entry_id=entry.id)
    entry.answers = {}
    entry.score = None
    entry.deleted_at = utcnow()
    entry.updated_at = entry.deleted_at
    session.add(entry)
    session.flush()


def get_own(session: Session, *, client: Client, access: PrivateAccess, entry_id: uuid.UUID) -> Entry:
    """One of the client's entries, as far as this device may show it: a private entry
    on a device the client has not confirmed is answered like a missing one."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.client_id != client.id or not access.allows(entry):
        raise NotFound(_("No such entry."))
    if entry.deleted_at is not None:
        raise Gone(_("This entry was deleted."))
    return entry


def list_for_client(
    session: Session,
    *,
    client: Client,
    access: PrivateAccess,
    limit: int = 50,
    before: datetime | None = None,
    assignment_id: uuid.UUID | None = None,
) -> list[Entry]:
    statement = select(Entry).where(Entry.client_id == client.id, col(Entry.deleted_at).is_(None), access.entries())
    if before is not None:
        statement = statement.where(Entry.occurred_at < before)
    if assignment_id is not None:
        statement = statement.where(Entry.assignment_id == assignment_id)
    statement = statement.order_by(col(Entry.occurred_at).desc()).limit(min(max(limit, 1), 500))
    return list(session.exec(statement))


def list_for_therapist(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    limit: int = 100,
    before: datetime | None = None,
) -> list[Entry]:
    """Shared and discuss-in-session entries only: private ones never leave the client."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    statement = select(Entry).where(
        Entry.client_id == client.id,
        col(Entry.deleted_at).is_(None),
        sharing.shared(),
    )
    if before is not None:
        statement = statement.where(Entry.occurred_at < before)
    statement = statement.order_by(col(Entry.occurred_at).desc()).limit(min(max(limit, 1), 500))
    return list(session.exec(statement))


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    total: int  # entries matching the filters, on every page
    offset: int
    limit: int

    @property
    def has_newer(self) -> bool:
        return self.offset > 0

    @property
    def has_older(self) -> bool:
        return self.offset + len(self.entries) < self.total


def page_for_therapist(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    template_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    offset: int = 0,
    limit: int = 25,
) -> EntryPage:
    """One page of the shared and discuss-in-session entries (never private ones), newest
    first, of one record type (`template_id`) and/or that happened in [start, end)."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="entries.read", client_id=client.id)
    conditions: list[ColumnElement[bool]] = [
        col(Entry.client_id) == client.id,
        col(Entry.deleted_at).is_(None),
        sharing.shared(),
    ]
    if template_id is not None:
        conditions.append(
            col(Entry.assignment_id).in_(
                select(Assignment.id).where(Assignment.client_id == client.id, Assignment.template_id == template_id)
            )
        )
    if start is not None:
        conditions.append(col(Entry.occurred_at) >= start)
    if end is not None:
        conditions.append(col(Entry.occurred_at) < end)
    total = session.exec(select(func.count()).select_from(Entry).where(*conditions)).one()
    limit = min(max(limit, 1), 100)
    offset = max(offset, 0)
    statement = (
        select(Entry)
        .where(*conditions)
        .order_by(col(Entry.occurred_at).desc(), col(Entry.id))
        .offset(offset)
        .limit(limit)
    )
    return EntryPage(entries=list(session.exec(statement)), total=int(total), offset=offset, limit=limit)


# The form version an entry answers, with its scoring rule, and the assignment's
# owner: the current version when the entry names none, else the one it names (if it
# belongs to the assigned form). Built once: constructing them costs more than running them.
_CURRENT_VERSION = (
    select(Assignment.client_id, TemplateVersion.id, TemplateVersion.scoring, RecordTemplate.slug)
    .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
    .outerjoin(
        TemplateVersion,
        (col(TemplateVersion.template_id) == RecordTemplate.id)
        & (col(TemplateVersion.number) == RecordTemplate.current_version),
    )
    .where(Assignment.id == bindparam("assignment_id"))
)
_NAMED_VERSION = (
    select(Assignment.client_id, TemplateVersion.id, TemplateVersion.scoring, RecordTemplate.slug)
    .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
    .outerjoin(
        TemplateVersion,
        (col(TemplateVersion.id) == bindparam("version_id"))
        & (col(TemplateVersion.template_id) == Assignment.template_id),
    )
    .where(Assignment.id == bindparam("assignment_id"))
)


def _target_of(
    session: Session, *, client_id: uuid.UUID, assignment_id: uuid.UUID, version_id: uuid.UUID | None
) -> tuple[uuid.UUID, str | None, str | None]:
    """The version an entry answers, its scoring rule and its library slug, checked against the client's
    assignment, in one query."""
    # On the connection: these select columns only, and the ORM's handling of a
    # statement costs as much as running it.
    connection = session.connection()
    if version_id is None:
        row = connection.execute(_CURRENT_VERSION, {"assignment_id": assignment_id}).first()
    else:
        row = connection.execute(_NAMED_VERSION, {"assignment_id": assignment_id, "version_id": version_id}).first()
    if row is None or row[0] != client_id:
        raise NotFound(_("This record is not assigned to you."))
    found, rule = row[1], row[2]
    if found is None:
        if version_id is None:
            raise RuntimeError(f"record template of assignment {assignment_id} has no current version")
        raise Invalid(
            _("This form has changed since the entry was written. Please fill it in again."),
            errors={"template_version_id": _("Unknown form version.")},
        )
    return found, rule, row[3]


def _checked_occurred_at(value: datetime | None, *, now: datetime) -> datetime:
    if value is None:
        return now
    if value.tzinfo is None:
        raise Invalid(_("The time of the event needs a time zone."))
    if value > now + _CLOCK_SKEW:
        raise Invalid(_("The time of the event is in the future."), errors={"occurred_at": _("In the future.")})
    if value < now - _OLDEST:
        raise Invalid(_("The time of the event is more than a year ago."), errors={"occurred_at": _("Too long ago.")})
    return value


def _checked_answers(fields: list[FieldDef], answers: dict[str, Any], *, nothing_to_report: bool) -> dict[str, Any]:
    try:
        return validate_answers(fields, answers, nothing_to_report=nothing_to_report)
    except AnswerError as error:
        raise Invalid(_("Some answers need another look."), errors=error.errors) from None


def _content_hash(
    *,
    assignment_id: uuid.UUID,
    version_id: uuid.UUID,
    answers: dict[str, Any],
    nothing_to_report: bool,
    visibility: Visibility,
    occurred_at: datetime,
) -> str:
    canonical = json.dumps(
        {
            "assignment": str(assignment_id),
            "version": str(version_id),
            "answers": answers,
            "nothing": nothing_to_report,
            "visibility": str(visibility),
            # Microseconds dropped: some databases round them.
            "occurred": occurred_at.replace(microsecond=0).isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hash_of(entry: Entry) -> str:
    """The content hash of an entry as it now stands (what a replayed write is compared with)."""
    return _content_hash(
        assignment_id=entry.assignment_id,
        version_id=entry.template_version_id,
        answers=entry.answers,
        nothing_to_report=entry.nothing_to_report,
        visibility=entry.visibility,
        occurred_at=entry.occurred_at,
    )


def set_visibility(session: Session, *, entry: Entry, visibility: Visibility) -> None:
    """Change who sees an entry the caller already holds as the client's own (the content,
    and so its hash, stays otherwise the same)."""
    entry.visibility = visibility
    entry.updated_at = utcnow()
    entry.content_hash = _hash_of(entry)
    session.add(entry)
