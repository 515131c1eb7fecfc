"""`between backup` and `between restore`: a backup, a wiped database, a restore, every entry and voice note back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from app import cli
from app.cli import backup as backup_commands
from app.models import Entry, Visibility
from app.services import voice_notes, voice_storage
from app.services.backup import BackupError, restore
from tests.conftest import _empty
from tests.factories import make_assignment, make_client, make_entry


def test_backup_wipe_restore_finds_every_entry(engine, session, settings, tmp_path: Path, monkeypatch) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    made = {}
    for n in range(25):
        visibility = Visibility.private if n % 5 == 0 else Visibility.shared
        entry = make_entry(
            session,
            client=client,
            assignment=assignment,
            answers={"mood": n % 11, "note": f"entry number {n}"},
            visibility=visibility,
        )
        made[entry.id] = (entry.answers, entry.visibility)
    # A voice note: its audio is in the database, so the backup carries it with no folder beside it.
    recording = b"OggS\x00\x02" + bytes(range(256)) * 1200
    note_id = voice_notes.store(session, client=client, data=recording, max_bytes=4_000_000, max_seconds=600).note.id
    session.commit()
    session.close()
    monkeypatch.setattr(backup_commands, "get_settings", lambda: settings)
    target = tmp_path / "backups" / "between.backup"

    assert cli.main(["backup", str(target)]) == 0
    assert target.is_file() and target.stat().st_mode & 0o077 == 0

    _empty(engine)
    with Session(engine) as check:
        assert check.exec(select(Entry)).all() == []
        assert voice_storage.current().read(check, note_id=note_id) is None
    # Nothing may hold a lock on the tables the restore drops and recreates.
    engine.dispose()

    assert cli.main(["restore", "--yes", str(target)]) == 0
    engine.dispose()
    with Session(engine) as check:
        restored = {entry.id: (entry.answers, entry.visibility) for entry in check.exec(select(Entry))}
    assert restored == made
    with Session(engine) as check:
        assert voice_storage.current().read(check, note_id=note_id) == recording


def test_restore_refuses_what_is_not_a_backup(settings, tmp_path: Path) -> None:
    with pytest.raises(BackupError):
        restore(settings.database_url, tmp_path / "missing.backup")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError):
        restore(settings.database_url, junk)
