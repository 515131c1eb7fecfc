"""Migration 0013 moves voice-note files into the database and, going down, back to files;
`between migrate` then removes the files the database holds."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.cli import legacy_voice_files
from app.core import migrate
from app.core.settings import get_settings
from app.models import VoiceNote
from app.services import voice_notes, voice_storage
from tests.factories import make_client

RECORDING = b"OggS\x00\x02" + bytes(range(256)) * 2000
OTHER = b"OggS\x00\x02" + b"another recording" * 100
BEFORE = "0012"  # the revision before voice notes moved into the database


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where the settings say voice files are (and go back to), as for `between migrate`."""
    monkeypatch.setenv("BETWEEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BETWEEN_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    yield tmp_path / "uploads" / "voice"
    get_settings.cache_clear()


def _stored(engine: Engine, note_id: uuid.UUID) -> bytes | None:
    with Session(engine) as session:
        return voice_storage.current().read(session, note_id=note_id)


def test_the_migration_moves_files_into_the_database_and_back(empty_engine: Engine, folder: Path) -> None:
    migrate.upgrade(empty_engine)
    with Session(empty_engine, expire_on_commit=False) as session:
        client = make_client(session)
        note_id = voice_notes.store(
            session, client=client, data=RECORDING, max_bytes=4_000_000, max_seconds=600
        ).note.id
        lost_id = voice_notes.store(session, client=client, data=OTHER, max_bytes=4_000_000, max_seconds=600).note.id
        session.commit()

    # Down: every note's audio is written to its file, and the table goes.
    migrate.downgrade(empty_engine, BEFORE)
    assert "voice_note_blob" not in inspect(empty_engine).get_table_names()
    assert (folder / note_id.hex).read_bytes() == RECORDING
    assert (folder / note_id.hex).stat().st_mode & 0o077 == 0
    assert not list(folder.glob("*.part"))

    # Up again, as from an older version: the files are read into the database. A note whose
    # file is missing stays a note without audio, as it was.
    (folder / lost_id.hex).unlink()
    migrate.upgrade(empty_engine)
    assert _stored(empty_engine, note_id) == RECORDING
    assert _stored(empty_engine, lost_id) is None
    assert (folder / note_id.hex).is_file()  # not removed inside the migration's transaction

    # After the migration committed, `between migrate` removes the files the database holds.
    retired = legacy_voice_files.retire(empty_engine, folder=folder)
    assert (retired.removed, retired.copied, retired.kept) == (1, 0, [])
    assert not folder.exists()
    assert _stored(empty_engine, note_id) == RECORDING


def test_retiring_files_copies_what_the_database_lacks_and_keeps_what_may_be_in_flight(
    empty_engine: Engine, folder: Path
) -> None:
    migrate.upgrade(empty_engine)
    with Session(empty_engine, expire_on_commit=False) as session:
        client = make_client(session)
        # A note an old replica stored after the migration ran: its row, but its audio only as a file.
        late = VoiceNote(
            client_id=client.id, content_type="audio/ogg", bytes=len(OTHER), sha256=hashlib.sha256(OTHER).hexdigest()
        )
        session.add(late)
        session.commit()
    folder.mkdir(parents=True)
    (folder / late.id.hex).write_bytes(OTHER)
    deleted_long_ago = folder / uuid.uuid4().hex  # a deleted entry's recording
    deleted_long_ago.write_bytes(RECORDING)
    hour_ago = time.time() - 3600
    os.utime(deleted_long_ago, (hour_ago, hour_ago))
    just_written = folder / uuid.uuid4().hex  # an old replica's upload, its row not yet committed
    just_written.write_bytes(RECORDING)
    stale_part = folder / ".0123abcd.part"
    stale_part.write_bytes(b"half")
    os.utime(stale_part, (hour_ago, hour_ago))
    unknown = folder / "notes.txt"
    unknown.write_text("not ours")

    retired = legacy_voice_files.retire(empty_engine, folder=folder)
    assert (retired.removed, retired.copied) == (3, 1)
    assert sorted(retired.kept) == sorted([just_written, unknown])
    assert _stored(empty_engine, late.id) == OTHER
    assert not (folder / late.id.hex).exists() and not deleted_long_ago.exists() and not stale_part.exists()
    assert legacy_voice_files.retire(empty_engine, folder=folder / "missing").removed == 0
