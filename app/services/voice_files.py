"""A client's voice-note files, for their export and for deleting their account."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from app.models import VoiceNote
from app.services.voice_notes import file_of


@dataclass(frozen=True)
class VoiceFile:
    note: VoiceNote
    path: Path
    name: str  # the name inside an export: date and id, nothing from the recording


def for_client(session: Session, *, client_id: uuid.UUID, root: Path | None) -> list[VoiceFile]:
    notes = session.exec(
        select(VoiceNote).where(VoiceNote.client_id == client_id).order_by(col(VoiceNote.created_at))
    ).all()
    found = []
    for note in notes:
        path = file_of(root, note) if root is not None else Path(note.id.hex)
        extension = mimetypes.guess_extension(note.content_type.split(";")[0].strip()) or ".audio"
        found.append(VoiceFile(note=note, path=path, name=f"{note.created_at:%Y-%m-%d}_{note.id}{extension}"))
    return found


def delete_for_client(session: Session, *, client_id: uuid.UUID, root: Path | None) -> int:
    """Remove the client's audio files from disk; returns how many were removed."""
    removed = 0
    for voice in for_client(session, client_id=client_id, root=root):
        if root is not None and voice.path.is_file():
            voice.path.unlink()
            removed += 1
    return removed
