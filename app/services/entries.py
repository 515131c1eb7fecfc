"""Entries: idempotent creation keyed by the client's UUID, edits, deletion, reading."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.i18n import _
from app.models import (
    Assignment,
    Client,
    Entry,
    EntryCreate,
    EntryUpdate,
    TemplateVersion,
    Therapist,
    Visibility,
)
from app.models.types import utcnow
from app.services import scoring, voice_notes
from app.services.answers import AnswerError, validate_answers
from app.services.errors import Conflict, Gone, Invalid, NotFound
from app.services.templates import fields_of

# Phones' clocks drift; an event "in the future" by less than this is accepted.
_CLOCK_SKEW = timedelta(minutes=10)
_OLDEST = timedelta(days=366)


@dataclass(frozen=True)
class Saved:
    entry: Entry
    created: bool


def create(session: Session, *, client: Client, data: EntryCreate) -> Saved:
    """Store an entry once. The same UUID and content again returns the stored entry."""
    assignment = _assignment_of(session, client=client, assignment_id=data.assignment_id)
    version = _version_for(session, assignment=assignment, version_id=data.template_version_id)
    now = utcnow()
    occurred_at = _checked_occurred_at(data.occurred_at, now=now)
    answers = _checked_answers(version, data.answers, nothing_to_report=data.nothing_to_report)
    digest = _content_hash(
        assignment_id=assignment.id,
        version_id=version.id,
        answers=answers,
        nothing_to_report=data.nothing_to_report,
        visibility=data.visibility,
        occurred_at=occurred_at,
    )
    existing = session.get(Entry, data.id)
    if existing is not None:
        return Saved(_same_or_conflict(existing, client=client, digest=digest), created=False)
    notes = voice_notes.check_answers(
        session, client=client, fields=fields_of(version), answers=answers, entry_id=data.id
    )
    entry = Entry(
        id=data.id,
        client_id=client.id,
        assignment_id=assignment.id,
        template_version_id=version.id,
        answers=answers,
        nothing_to_report=data.nothing_to_report,
        visibility=data.visibility,
        score=scoring.score(version.scoring, answers),
        occurred_at=occurred_at,
        logged_at=now,
        updated_at=now,
        content_hash=digest,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        # Two syncs of the same offline entry raced; the other one won.
        if entry in session:
            session.expunge(entry)
        existing = session.get(Entry, data.id, populate_existing=True)
        if existing is None:
            raise
        return Saved(_same_or_conflict(existing, client=client, digest=digest), created=False)
    voice_notes.attach(session, notes=notes, entry_id=entry.id)
    return Saved(entry, created=True)


def _same_or_conflict(existing: Entry, *, client: Client, digest: str) -> Entry:
    if existing.client_id != client.id:
        raise Conflict(_("This entry id is already taken. Please try again."))
    if existing.deleted_at is not None:
        raise Gone(_("This entry was deleted, so it was not saved again."))
    if existing.content_hash != digest:
        raise Conflict(_("An entry with this id already exists with different content."))
    return existing


def update(session: Session, *, client: Client, entry_id: uuid.UUID, data: EntryUpdate) -> Entry:
    entry = get_own(session, client=client, entry_id=entry_id)
    version = session.get(TemplateVersion, entry.template_version_id)
    assert version is not None
    nothing = entry.nothing_to_report if data.nothing_to_report is None else data.nothing_to_report
    answers = entry.answers if data.answers is None else data.answers
    entry.answers = _checked_answers(version, answers, nothing_to_report=nothing)
    notes = voice_notes.check_answers(
        session, client=client, fields=fields_of(version), answers=entry.answers, entry_id=entry.id
    )
    voice_notes.attach(session, notes=notes, entry_id=entry.id)
    entry.nothing_to_report = nothing
    if data.visibility is not None:
        entry.visibility = data.visibility
    if data.occurred_at is not None:
        entry.occurred_at = _checked_occurred_at(data.occurred_at, now=utcnow())
    entry.score = scoring.score(version.scoring, entry.answers)
    entry.updated_at = utcnow()
    entry.content_hash = _content_hash(
        assignment_id=entry.assignment_id,
        version_id=entry.template_version_id,
        answers=entry.answers,
        nothing_to_report=entry.nothing_to_report,
        visibility=entry.visibility,
        occurred_at=entry.occurred_at,
    )
    session.add(entry)
    session.flush()
    return entry


def delete(session: Session, *, client: Client, entry_id: uuid.UUID) -> None:
    """Wipe the content but keep the id, so a replayed offline sync is told it is gone."""
    entry = get_own(session, client=client, entry_id=entry_id)
    voice_notes.forget_entry(session, entry_id=entry.id)
    entry.answers = {}
    entry.score = None
    entry.deleted_at = utcnow()
    entry.updated_at = entry.deleted_at
    session.add(entry)
    session.flush()


def get_own(session: Session, *, client: Client, entry_id: uuid.UUID) -> Entry:
    entry = session.get(Entry, entry_id)
    if entry is None or entry.client_id != client.id:
        raise NotFound(_("No such entry."))
    if entry.deleted_at is not None:
        raise Gone(_("This entry was deleted."))
    return entry


def list_for_client(
    session: Session,
    *,
    client: Client,
    limit: int = 50,
    before: datetime | None = None,
    assignment_id: uuid.UUID | None = None,
) -> list[Entry]:
    statement = select(Entry).where(Entry.client_id == client.id, col(Entry.deleted_at).is_(None))
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
        Entry.visibility != Visibility.private,
    )
    if before is not None:
        statement = statement.where(Entry.occurred_at < before)
    statement = statement.order_by(col(Entry.occurred_at).desc()).limit(min(max(limit, 1), 500))
    return list(session.exec(statement))


def _assignment_of(session: Session, *, client: Client, assignment_id: uuid.UUID) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.client_id != client.id:
        raise NotFound(_("This record is not assigned to you."))
    return assignment


def _version_for(session: Session, *, assignment: Assignment, version_id: uuid.UUID | None) -> TemplateVersion:
    if version_id is None:
        from app.models import RecordTemplate

        template = session.get(RecordTemplate, assignment.template_id)
        assert template is not None
        return session.exec(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id,
                TemplateVersion.number == template.current_version,
            )
        ).one()
    version = session.get(TemplateVersion, version_id)
    if version is None or version.template_id != assignment.template_id:
        raise Invalid(
            _("This form has changed since the entry was written. Please fill it in again."),
            errors={"template_version_id": _("Unknown form version.")},
        )
    return version


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


def _checked_answers(version: TemplateVersion, answers: dict[str, Any], *, nothing_to_report: bool) -> dict[str, Any]:
    try:
        return validate_answers(fields_of(version), answers, nothing_to_report=nothing_to_report)
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
