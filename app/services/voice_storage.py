"""Where voice-note audio is kept, behind one interface.

Callers (uploading, playing, exporting, deleting an entry or an account) use only
`VoiceStorage`, got from `current()`, so another store (an S3-compatible bucket, say)
can be added here without touching them. The one store today keeps the audio in the
database, in `voice_note_blob` (SQLite BLOB, PostgreSQL bytea), so every web replica
sees every note, a note is written in the same transaction as its row, and deleting
the row deletes the audio; `between backup` carries both.

Audio is read in pieces, never whole per request: PostgreSQL reads
`substring(data from x for n)` of a column stored uncompressed out of line
(`STORAGE EXTERNAL`, set by migration 0013), so only the pages of that piece are read;
SQLite reads through its incremental blob API (`substr()` would load the whole value
for every piece). PostgreSQL's answer comes in psycopg's binary format, not hex text.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from typing import Protocol

from sqlalchemy import delete, literal_column, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.models.voice_note import VoiceNoteBlob

# Bytes read per database round trip while a note plays: a 1 MB note takes two. Each piece
# after the first checks a connection out of the pool (on PostgreSQL, with a ping), so
# fewer, larger pieces cost less; a piece is all a request holds in memory at once.
CHUNK = 512 * 1024
# Ids per DELETE ... IN (...): well under either database's limit on parameters.
_DELETE_BATCH = 500

_BLOB = VoiceNoteBlob.__table__  # type: ignore[attr-defined]


class VoiceStorage(Protocol):
    """Keeps each note's audio under the note's id. Every method that takes a session
    acts in the caller's transaction: what it writes or deletes is committed, or
    rolled back, with the note's row."""

    def put(self, session: Session, *, note_id: uuid.UUID, data: bytes) -> None:
        """Keep the audio of a note whose row is already in the session."""
        ...

    def read(self, session: Session, *, note_id: uuid.UUID, start: int = 0, length: int | None = None) -> bytes | None:
        """Up to `length` bytes from `start` (all of the rest by default); None if the note has no audio."""
        ...

    def open_range(
        self, engine: Engine, *, note_id: uuid.UUID, start: int, stop: int, chunk: int = CHUNK
    ) -> Iterator[bytes]:
        """Bytes [start, stop) in pieces of at most `chunk`, for a response that outlives the
        request's session: each piece holds a database connection only while it is read.
        Stops early if the note is deleted meanwhile."""
        ...

    def delete(self, session: Session, *, note_ids: Collection[uuid.UUID]) -> None:
        """Forget the audio of these notes."""
        ...


class DatabaseVoiceStorage:
    """The audio in `voice_note_blob`, one row per note."""

    def put(self, session: Session, *, note_id: uuid.UUID, data: bytes) -> None:
        # Core, not the ORM: the bytes are not kept in the session's identity map.
        session.execute(_BLOB.insert().values(note_id=note_id, data=data))

    def read(self, session: Session, *, note_id: uuid.UUID, start: int = 0, length: int | None = None) -> bytes | None:
        return _read(session.connection(), note_id=note_id, start=start, length=length)

    def open_range(
        self, engine: Engine, *, note_id: uuid.UUID, start: int, stop: int, chunk: int = CHUNK
    ) -> Iterator[bytes]:
        position = start
        while position < stop:
            with engine.connect() as connection:
                piece = _read(connection, note_id=note_id, start=position, length=min(chunk, stop - position))
            if not piece:
                return
            position += len(piece)
            yield piece

    def delete(self, session: Session, *, note_ids: Collection[uuid.UUID]) -> None:
        ids = list(note_ids)
        for offset in range(0, len(ids), _DELETE_BATCH):
            session.execute(delete(_BLOB).where(_BLOB.c.note_id.in_(ids[offset : offset + _DELETE_BATCH])))


def _read(connection: Connection, *, note_id: uuid.UUID, start: int, length: int | None) -> bytes | None:
    if start < 0 or (length is not None and length < 0):
        raise ValueError("start and length must not be negative")
    if connection.dialect.name == "sqlite":
        return _read_sqlite(connection, note_id=note_id, start=start, length=length)
    # The app runs on SQLite or PostgreSQL.
    return _read_postgresql(connection, note_id=note_id, start=start, length=length)


def _read_postgresql(connection: Connection, *, note_id: uuid.UUID, start: int, length: int | None) -> bytes | None:
    # psycopg's binary format: bytea arrives as it is stored, where the text format would
    # send it hex-encoded, twice the bytes and three times the time.
    raw = connection.connection.driver_connection
    with raw.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        if length is None:
            cursor.execute(_PG_FROM, (start + 1, note_id))
        else:
            cursor.execute(_PG_PIECE, (start + 1, length, note_id))
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], bytes) else bytes(row[0])


_PG_PIECE = f"SELECT substring(data FROM %s FOR %s) FROM {_BLOB.name} WHERE note_id = %s"
_PG_FROM = f"SELECT substring(data FROM %s) FROM {_BLOB.name} WHERE note_id = %s"


def _read_sqlite(connection: Connection, *, note_id: uuid.UUID, start: int, length: int | None) -> bytes | None:
    rowid = connection.execute(select(literal_column("rowid")).where(_BLOB.c.note_id == note_id)).scalar()
    if rowid is None:
        return None
    raw = connection.connection.driver_connection
    with raw.blobopen(_BLOB.name, "data", rowid, readonly=True) as blob:  # type: ignore[union-attr]
        if start:
            blob.seek(min(start, len(blob)))
        return bytes(blob.read(-1 if length is None else length))


_STORE: VoiceStorage = DatabaseVoiceStorage()


def current() -> VoiceStorage:
    """The store every caller uses: the database."""
    return _STORE
