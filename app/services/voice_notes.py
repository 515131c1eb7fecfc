"""Voice notes: accepting a recording, deciding who may hear it, tying it to an entry or
to a "Not today, because…" check-in.

The row says whose a note is and which entry (or check-in) answers with it; the audio is kept by
the voice store (app/services/voice_storage.py, the database by default) under the
note's id, written in the same transaction as the row. The phone may choose the id
(offline, the entry names the note before either is uploaded), so an upload is
idempotent on it like an entry.
"""

from __future__ import annotations

import hashlib
import math
import struct
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from app.core.errors import Conflict, Invalid, NotFound, ServiceError
from app.core.i18n import _
from app.models import BarrierCheckin, Client, Entry, Therapist, VoiceNote
from app.models.fields import FieldDef, LongTextField, ShortTextField, VoiceField
from app.models.types import utcnow
from app.services import audit, sharing, voice_storage
from app.services.answers import voice_companion
from app.services.device_trust import PrivateAccess

# Recordings no entry or check-in answers with (it was rejected, the phone gave up)
# are removed after this long.
UNATTACHED_GRACE = timedelta(days=2)
# Browsers measure a recording's length a little generously.
_SECONDS_TOLERANCE = 2.0


class TooLarge(ServiceError):
    status_code = 413


class NotAudio(ServiceError):
    status_code = 415


@dataclass(frozen=True)
class StoredVoiceNote:
    note: VoiceNote
    created: bool


def sniff(head: bytes) -> str | None:
    """The audio container from its magic number; the request's Content-Type is not trusted."""
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "audio/webm"  # Chromium and Firefox MediaRecorder
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        return "audio/mp4"  # Safari MediaRecorder
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    return None


def wav_seconds(data: bytes) -> float | None:
    """A WAV file states its own length; other containers are measured by the recorder."""
    offset, byte_rate, size = 12, 0, None
    while offset + 8 <= len(data):
        chunk, length = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if chunk == b"fmt " and length >= 12:
            byte_rate = struct.unpack("<I", data[offset + 16 : offset + 20])[0]
        elif chunk == b"data":
            size = min(length, len(data) - offset - 8)
            break
        offset += 8 + length + (length & 1)
    if not byte_rate or size is None:
        return None
    return size / byte_rate


def store(
    session: Session,
    *,
    client: Client,
    data: bytes,
    max_bytes: int,
    max_seconds: int,
    note_id: uuid.UUID | None = None,
    claimed_seconds: float | None = None,
) -> StoredVoiceNote:
    """Keep a recording once; the same id and bytes again return the stored note."""
    if not data:
        raise Invalid(_("This recording is empty. Please record again."))
    if len(data) > max_bytes:
        raise TooLarge(_("This recording is too large. Please keep it shorter."))
    content_type = sniff(data[:64])
    if content_type is None:
        raise NotAudio(_("This file is not a recording Between can play. Please record again."))
    seconds = wav_seconds(data) if content_type == "audio/wav" else None
    if seconds is None and claimed_seconds is not None and math.isfinite(claimed_seconds) and claimed_seconds >= 0:
        seconds = round(claimed_seconds, 1)
    if seconds is not None and seconds > max_seconds + _SECONDS_TOLERANCE:
        raise Invalid(
            _(
                "This recording is longer than %(minutes)s minutes. Please keep it shorter.",
                minutes=max(1, max_seconds // 60),
            )
        )
    digest = hashlib.sha256(data).hexdigest()
    note_id = note_id or uuid.uuid4()
    existing = session.get(VoiceNote, note_id)
    if existing is not None:
        return StoredVoiceNote(_same_or_conflict(existing, client=client, digest=digest), created=False)

    note = VoiceNote(
        id=note_id, client_id=client.id, content_type=content_type, bytes=len(data), seconds=seconds, sha256=digest
    )
    # The row and its audio in the caller's transaction: both are kept when it commits,
    # neither if it rolls back. A racing upload of the same id waits for the other's
    # commit and then inserts nothing, so it can never overwrite the stored recording.
    if not _insert_once(session, {column.key: getattr(note, column.key) for column in _NOTE_TABLE.columns}):
        existing = session.get(VoiceNote, note_id, populate_existing=True)
        if existing is None:  # taken, and deleted again meanwhile
            raise Conflict(_("This voice note id is already taken. Please record again."))
        return StoredVoiceNote(_same_or_conflict(existing, client=client, digest=digest), created=False)
    voice_storage.current().put(session, note_id=note_id, data=data)
    # Returned as it was written, not added to the session (it is stored already).
    return StoredVoiceNote(note, created=True)


_NOTE_TABLE = VoiceNote.__table__  # type: ignore[attr-defined]
# The app runs on SQLite or PostgreSQL; both spell this the same way (as for entries).
_INSERT_ONCE = {
    name: insert(_NOTE_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_NOTE_TABLE.c.id)
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def _insert_once(session: Session, row: dict[str, Any]) -> bool:
    """INSERT the note's row unless its id is taken; True if this call stored it.

    No savepoint: on SQLite (pysqlite) releasing one commits, which would store the
    note outside the caller's transaction.
    """
    statement = _INSERT_ONCE[session.get_bind().dialect.name]
    # RETURNING says whether a row went in (psycopg reports no rowcount for this).
    return session.connection().execute(statement, row).first() is not None


def _same_or_conflict(existing: VoiceNote, *, client: Client, digest: str) -> VoiceNote:
    if existing.client_id != client.id:
        raise Conflict(_("This voice note id is already taken. Please record again."))
    if existing.sha256 != digest:
        raise Conflict(_("A different recording was already sent with this id."))
    return existing


def readable(
    session: Session,
    *,
    note_id: uuid.UUID,
    client: Client | None = None,
    access: PrivateAccess | None = None,
    therapist: Therapist | None = None,
) -> VoiceNote:
    """The note, for its client on a device that may show it (`access`: a note of a
    private entry or check-in follows it) or, when the entry or check-in it answers is
    shared (or for discussing in session), their therapist; else 404."""
    note = session.get(VoiceNote, note_id)
    if note is None:
        raise NotFound(_("No such voice note."))
    answered = _answered_by(session, note)
    if client is not None and access is not None and note.client_id == client.id:
        if access.everything:
            return note
        if answered is not None and answered.client_id == client.id and access.allows(answered):
            return note
        raise NotFound(_("No such voice note."))
    if therapist is not None and answered is not None:
        owner = session.get(Client, note.client_id)
        if (
            owner is not None
            and owner.therapist_id == therapist.id
            and answered.client_id == owner.id
            and not (isinstance(answered, Entry) and answered.deleted_at is not None)
            and sharing.is_shared(answered)
        ):
            # Audited here, where the therapist's read is allowed; a playback that then fails
            # (no audio, a range outside the note) is rolled back with the rest of the request.
            audit.record(
                session,
                actor_kind="therapist",
                actor_id=therapist.id,
                action="voice_note.played",
                client_id=note.client_id,
                subject_id=note.id,
            )
            return note
    raise NotFound(_("No such voice note."))


def _answered_by(session: Session, note: VoiceNote) -> Entry | BarrierCheckin | None:
    """What the note answers: its entry or its check-in (never both), whose visibility it follows."""
    if note.entry_id is not None:
        return session.get(Entry, note.entry_id)
    if note.barrier_checkin_id is not None:
        return session.get(BarrierCheckin, note.barrier_checkin_id)
    return None


def spoken_answers(fields: list[FieldDef], answers: dict[str, Any]) -> dict[str, str]:
    """Answer key -> voice note id, for voice fields and text fields answered by voice."""
    found = {}
    for field in fields:
        if isinstance(field, VoiceField) and isinstance(answers.get(field.key), str):
            found[field.key] = answers[field.key]
        if isinstance(field, ShortTextField | LongTextField):
            key = voice_companion(field.key)
            if isinstance(answers.get(key), str):
                found[key] = answers[key]
    return found


def check_answers(
    session: Session, *, client_id: uuid.UUID, fields: list[FieldDef], answers: dict[str, Any], entry_id: uuid.UUID
) -> list[VoiceNote]:
    """The notes the answers name, each the client's own and free for this entry; else Invalid."""
    limits = {field.key: field.max_seconds for field in fields if isinstance(field, VoiceField)}
    errors: dict[str, str] = {}
    notes = []
    for key, raw in spoken_answers(fields, answers).items():
        try:
            note = session.get(VoiceNote, uuid.UUID(raw))
        except ValueError:
            note = None
        if (
            note is None
            or note.client_id != client_id
            or note.entry_id not in (None, entry_id)
            or note.barrier_checkin_id is not None
        ):
            errors[key] = _("This voice note could not be found. Please record it again.")
            continue
        limit = limits.get(key)
        if limit is not None and note.seconds is not None and note.seconds > limit + _SECONDS_TOLERANCE:
            errors[key] = _("This recording is longer than %(seconds)s seconds.", seconds=limit)
            continue
        notes.append(note)
    if errors:
        raise Invalid(_("Some answers need another look."), errors=errors)
    return notes


def attach(session: Session, *, notes: list[VoiceNote], entry_id: uuid.UUID) -> None:
    """Tie the notes to their entry; notes the entry no longer answers with are let go."""
    kept = {note.id for note in notes}
    for note in session.exec(select(VoiceNote).where(VoiceNote.entry_id == entry_id)):
        if note.id not in kept:
            note.entry_id = None
            session.add(note)
    for note in notes:
        note.entry_id = entry_id
        session.add(note)


def check_for_checkin(
    session: Session, *, client_id: uuid.UUID, note_id: uuid.UUID, checkin_id: uuid.UUID
) -> VoiceNote:
    """The note a check-in names: the client's own, uploaded, and answering nothing else; else Invalid."""
    note = session.get(VoiceNote, note_id)
    if (
        note is None
        or note.client_id != client_id
        or note.entry_id is not None
        or note.barrier_checkin_id not in (None, checkin_id)
    ):
        message = _("This voice note could not be found. Please record it again.")
        raise Invalid(message, errors={"voice_note_id": message})
    return note


def attach_checkin(session: Session, *, note: VoiceNote, checkin_id: uuid.UUID) -> None:
    """Tie the note to its check-in, only if nothing took it since it was checked (two
    check-ins naming the same recording at once: the second is refused, not stolen from)."""
    taken = (
        session.connection()
        .execute(
            update(_NOTE_TABLE)
            .where(
                _NOTE_TABLE.c.id == note.id,
                _NOTE_TABLE.c.entry_id.is_(None),
                or_(_NOTE_TABLE.c.barrier_checkin_id.is_(None), _NOTE_TABLE.c.barrier_checkin_id == checkin_id),
            )
            .values(barrier_checkin_id=checkin_id)
            .returning(_NOTE_TABLE.c.id)
        )
        .first()
    )
    if note in session:  # read again when next used: the row changed under it
        session.expire(note)
    if taken is None:
        message = _("This voice note could not be found. Please record it again.")
        raise Invalid(message, errors={"voice_note_id": message})


def for_checkins(session: Session, *, checkin_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Check-in id -> the id of the voice note it was saved with, for those that have one."""
    found: dict[uuid.UUID, uuid.UUID] = {}
    for offset in range(0, len(checkin_ids), 500):
        rows = session.exec(
            select(VoiceNote.id, VoiceNote.barrier_checkin_id).where(
                col(VoiceNote.barrier_checkin_id).in_(checkin_ids[offset : offset + 500])
            )
        )
        for note_id, checkin_id in rows:
            if checkin_id is not None:
                found[checkin_id] = note_id
    return found


def forget_entry(session: Session, *, entry_id: uuid.UUID) -> None:
    """A deleted entry's recordings go with it, in the same transaction."""
    _forget(session, col(VoiceNote.entry_id) == entry_id)


def forget_client(session: Session, *, client_id: uuid.UUID) -> int:
    """All of a client's recordings, rows and audio (their account is being deleted). Returns how many."""
    return _forget(session, col(VoiceNote.client_id) == client_id)


def sweep(session: Session) -> int:
    """Remove recordings no entry or check-in answers with any more, after a grace period. Returns how many.

    Only rows older than the grace period go, so an upload in progress (its entry not yet
    saved) is never touched, whichever replica runs this.
    """
    cutoff = utcnow() - UNATTACHED_GRACE
    return _forget(
        session,
        col(VoiceNote.entry_id).is_(None),
        col(VoiceNote.barrier_checkin_id).is_(None),
        col(VoiceNote.created_at) < cutoff,
    )


def _forget(session: Session, *conditions: Any) -> int:
    ids = list(session.exec(select(VoiceNote.id).where(*conditions)))
    if not ids:
        return 0
    voice_storage.current().delete(session, note_ids=ids)
    for offset in range(0, len(ids), 500):
        session.exec(delete(VoiceNote).where(col(VoiceNote.id).in_(ids[offset : offset + 500])))  # type: ignore[call-overload]
    return len(ids)
