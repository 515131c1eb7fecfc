"""Voice-note files left from before notes were kept in the database (migration 0013).

`between migrate` calls `retire` after the migrations have committed. A file goes only
once the database holds the same bytes for its note, committed, so nothing is lost
whatever fails and whenever: the migration copies the files in; a file written later
by a replica still running the old version (its row committed, its audio not copied)
is copied in here first. A file whose note no longer exists was a deleted entry's or
account's recording and goes too, once it is older than `_SETTLED` (an old replica
writes the file just before it commits the row).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from app.core.db import open_session
from app.models import VoiceNote
from app.models.types import utcnow
from app.services import voice_storage

# Long enough for any upload that wrote its file to have committed or given up.
_SETTLED = timedelta(minutes=10)
_NOTE_FILE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Retired:
    removed: int  # files whose bytes the database holds, or whose note is gone
    copied: int  # of those, files copied into the database first
    kept: list[Path]  # files that stay: not yet settled, or not what their note says


def retire(engine: Engine, *, folder: Path) -> Retired:
    """Remove the voice files in `folder` (`upload_dir/voice`) the database makes redundant."""
    if not folder.is_dir():
        return Retired(removed=0, copied=0, kept=[])
    storage = voice_storage.current()
    settled_before = (utcnow() - _SETTLED).timestamp()
    removed = copied = 0
    kept: list[Path] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if path.name.endswith(".part"):  # an upload that never finished
            if path.stat().st_mtime < settled_before:
                path.unlink(missing_ok=True)
                removed += 1
            else:
                kept.append(path)
            continue
        if not _NOTE_FILE.match(path.name):
            kept.append(path)
            continue
        data = path.read_bytes()
        with open_session(engine) as session:
            note = session.get(VoiceNote, uuid.UUID(hex=path.name))
            if note is None:
                if path.stat().st_mtime < settled_before:
                    path.unlink(missing_ok=True)
                    removed += 1
                else:
                    kept.append(path)
                continue
            stored = storage.read(session, note_id=note.id)
            if stored is None and hashlib.sha256(data).hexdigest() == note.sha256:
                storage.put(session, note_id=note.id, data=data)
                session.commit()
                stored = data
                copied += 1
        if stored == data:
            path.unlink(missing_ok=True)
            removed += 1
        else:
            kept.append(path)
    if not any(folder.iterdir()):
        folder.rmdir()
    return Retired(removed=removed, copied=copied, kept=kept)
