"""Voice notes over the JSON API: the client uploads a recording, the entry names it by id."""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from app.deps import CurrentClient, DeviceDep, SessionDep, SettingsDep, get_current_client
from app.i18n import _
from app.models import SessionKind, Therapist, VoiceNotePublic
from app.routes.api import ERRORS, Problem
from app.services import audit, voice_notes
from app.services.device_trust import PrivateAccess
from app.services.errors import Invalid, NotFound
from app.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["voice notes"])

# What the form may carry besides the file (its id and the recorder's measured length).
_MAX_FIELDS = 4


@router.post(
    "/voice-notes",
    response_model=VoiceNotePublic,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": VoiceNotePublic, "description": "Already stored (same id and recording)"},
        409: {"model": Problem, "description": "Same id, different recording"},
        413: {"model": Problem, "description": "Too large"},
        415: {"model": Problem, "description": "Not a recording (WebM, Ogg, MP4 or WAV)"},
    },
    summary="Upload a voice note (multipart: file, optional id and seconds)",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "id": {"type": "string", "format": "uuid"},
                            "seconds": {"type": "number"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def upload_voice_note(
    request: Request, session: SessionDep, settings: SettingsDep, client: CurrentClient, response: Response
) -> Any:
    limit = settings.voice_max_bytes
    try:
        form = await request.form(max_files=1, max_fields=_MAX_FIELDS)
    except Exception:  # a malformed multipart body is a bad request
        raise Invalid(_("This recording could not be read. Please record again.")) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid(_("No recording was sent."), errors={"file": _("This is required.")})
    # One byte past the limit is enough to know it is too large, without reading it all.
    data = await upload.read(limit + 1)
    await form.close()
    stored = voice_notes.store(
        session,
        client=client,
        data=data,
        upload_dir=_upload_dir(settings),
        max_bytes=limit,
        max_seconds=settings.voice_max_seconds,
        note_id=_optional_uuid(form.get("id")),
        claimed_seconds=_optional_seconds(form.get("seconds")),
    )
    session.commit()
    if not stored.created:
        response.status_code = 200
    return stored.note


@router.get(
    "/voice-notes/{note_id}",
    responses={**ERRORS, 200: {"content": {"audio/webm": {}, "audio/ogg": {}, "audio/mp4": {}, "audio/wav": {}}}},
    response_class=FileResponse,
    summary="Play a voice note (its client, or their therapist when the entry is shared)",
)
def play_voice_note(
    note_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep, device: DeviceDep
) -> Response:
    client = therapist = None
    if device is not None and device.kind == SessionKind.client and device.client_id:
        # The client's own voice is theirs to hear only on an unlocked device, like their
        # entries: the same rule (the app PIN after idle hours answers 423).
        client = get_current_client(request, session)
    elif device is not None and device.kind == SessionKind.therapist and device.therapist_id:
        therapist = session.get(Therapist, device.therapist_id)
    access = PrivateAccess.of(device) if client is not None and device is not None else None
    note = voice_notes.readable(session, note_id=note_id, client=client, access=access, therapist=therapist)
    path = voice_notes.file_of(_upload_dir(settings), note)
    if not path.is_file():
        raise NotFound(_("No such voice note."))
    if therapist is not None:
        audit.record(
            session, actor_kind="therapist", actor_id=therapist.id, action="voice_note.played",
            client_id=note.client_id, subject_id=note.id,
        )
        session.commit()
    # Private: a shared cache must never keep someone's voice; no-store: nor the browser's disk cache.
    return FileResponse(path, media_type=note.content_type, headers={"Cache-Control": "private, no-store"})


def _upload_dir(settings: Settings) -> Path:
    return settings.upload_dir or settings.data_dir / "uploads"


def _optional_uuid(raw: object) -> uuid.UUID | None:
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise Invalid(_("This is not a valid id."), errors={"id": _("This is not a valid id.")}) from None


def _optional_seconds(raw: object) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        seconds = float(str(raw))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


UPLOAD_PATH = "/api/v1/voice-notes"
# Room for the multipart boundaries and the small fields around the recording.
MULTIPART_OVERHEAD = 64 * 1024


def sweep_on_start(app: Any) -> None:
    """Remove recordings of deleted entries and uploads no entry ever used (see voice_notes.sweep)."""
    from sqlmodel import Session

    settings = app.state.settings
    with Session(app.state.engine) as session:
        voice_notes.sweep(session, upload_dir=_upload_dir(settings))
        session.commit()
