"""A client's voice notes as files of their export: each note with the name it has in the zip."""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import VoiceNote


@dataclass(frozen=True)
class VoiceFile:
    note: VoiceNote
    name: str  # the name inside an export: date and id, nothing from the recording


def for_client(session: Session, *, client_id: uuid.UUID) -> list[VoiceFile]:
    notes = session.exec(
        select(VoiceNote).where(VoiceNote.client_id == client_id).order_by(col(VoiceNote.created_at))
    ).all()
    found = []
    for note in notes:
        extension = mimetypes.guess_extension(note.content_type.split(";")[0].strip()) or ".audio"
        found.append(VoiceFile(note=note, name=f"{note.created_at:%Y-%m-%d}_{note.id}{extension}"))
    return found


def count_for_client(session: Session, *, client_id: uuid.UUID) -> int:
    return int(session.exec(select(func.count()).select_from(VoiceNote).where(VoiceNote.client_id == client_id)).one())
