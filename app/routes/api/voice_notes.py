"""Voice notes over the JSON API: the client uploads a recording, the entry names it by id.

Playback streams the audio from the voice store in pieces and honours a single HTTP
`Range` (206 Partial Content; 416 for a range outside the recording), which is how
browsers seek in an <audio> element.
"""

from __future__ import annotations

import itertools
import math
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from app.core.db import open_session
from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.models import SessionKind, Therapist, VoiceNote, VoiceNotePublic
from app.services import voice_notes, voice_storage
from app.services.device_trust import PrivateAccess
from app.web.deps import CurrentClient, DeviceDep, SessionDep, SettingsDep, get_current_client
from app.web.errors import problem
from app.web.problems import ERRORS, Problem

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
        max_bytes=limit,
        max_seconds=settings.voice_max_seconds,
        note_id=_optional_uuid(form.get("id")),
        claimed_seconds=_optional_seconds(form.get("seconds")),
    )
    session.commit()
    if not stored.created:
        response.status_code = 200
    return stored.note


AUDIO: dict[str, Any] = {"audio/webm": {}, "audio/ogg": {}, "audio/mp4": {}, "audio/wav": {}}


@router.get(
    "/voice-notes/{note_id}",
    responses={
        **ERRORS,
        200: {"content": AUDIO, "description": "The whole recording"},
        206: {"content": AUDIO, "description": "The part asked for with `Range: bytes=…`"},
        416: {"model": Problem, "description": "The range asked for is not within the recording"},
    },
    response_class=StreamingResponse,
    summary="Play a voice note (its client, or their therapist when the entry is shared)",
)
def play_voice_note(note_id: uuid.UUID, request: Request, session: SessionDep, device: DeviceDep) -> Response:
    client = therapist = None
    if device is not None and device.kind == SessionKind.client and device.client_id:
        # The client's own voice is theirs to hear only on an unlocked device, like their
        # entries: the same rule (the app PIN after idle hours answers 423).
        client = get_current_client(request, session)
    elif device is not None and device.kind == SessionKind.therapist and device.therapist_id:
        therapist = session.get(Therapist, device.therapist_id)
    access = PrivateAccess.of(device) if client is not None and device is not None else None
    note = voice_notes.readable(session, note_id=note_id, client=client, access=access, therapist=therapist)
    try:
        wanted = byte_range(
            request.headers.get("range"), size=note.bytes, if_range=request.headers.get("if-range"), etag=_etag(note)
        )
    except Unsatisfiable:
        return problem(
            request,
            416,
            _("That part of the recording does not exist."),
            headers={"Content-Range": f"bytes */{note.bytes}", "Cache-Control": "private, no-store"},
        )
    start, stop = wanted or (0, note.bytes)
    storage = voice_storage.current()
    # The first piece is read here, so a note without its audio is a clear 404, and a
    # short recording (most are) is the only read.
    first = storage.read(session, note_id=note.id, start=start, length=min(voice_storage.CHUNK, stop - start))
    if not first:
        raise NotFound(_("No such voice note."))
    # Also hands the connection back before the rest streams: each further piece takes
    # one only while it is read.
    session.commit()
    headers = {
        # Private: a shared cache must never keep someone's voice; no-store: nor the browser's disk cache.
        "Cache-Control": "private, no-store",
        "Accept-Ranges": "bytes",
        "ETag": _etag(note),
        "Content-Length": str(stop - start),
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{note.bytes}"
    status = 206 if wanted is not None else 200
    if start + len(first) >= stop:
        return Response(first, status_code=status, media_type=note.content_type, headers=headers)
    rest = storage.open_range(request.app.state.engine, note_id=note.id, start=start + len(first), stop=stop)
    return StreamingResponse(
        itertools.chain([first], rest), status_code=status, media_type=note.content_type, headers=headers
    )


class Unsatisfiable(Exception):
    """A Range header in bytes that no part of the recording answers."""


def byte_range(header: str | None, *, size: int, if_range: str | None = None, etag: str = "") -> tuple[int, int] | None:
    """The [start, stop) a Range header asks for, or None for the whole recording.

    One range in bytes is served (`a-b`, `a-`, `-n`). A header in another unit, with
    several ranges, or with an If-Range that does not name this recording is ignored,
    as HTTP allows, and the whole recording is sent. A malformed or unsatisfiable
    bytes range raises Unsatisfiable (416).
    """
    if header is None:
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    if if_range is not None and if_range.strip() != etag:
        return None
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or not (first or last) or not _digits(first) or not _digits(last):
        raise Unsatisfiable
    try:
        start = int(first) if first else None
        end = int(last) if last else None
    except ValueError:  # more digits than Python converts: nothing that large is stored
        raise Unsatisfiable from None
    if start is None:  # the last `end` bytes
        if not end:
            raise Unsatisfiable
        return max(0, size - end), size
    if start >= size or (end is not None and end < start):
        raise Unsatisfiable
    return start, size if end is None else min(end + 1, size)


def _digits(text: str) -> bool:
    return text == "" or (text.isascii() and text.isdigit())


def _etag(note: VoiceNote) -> str:
    return f'"{note.sha256}"'


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
    """Remove recordings no entry answers with, once they are older than a grace period
    (see voice_notes.sweep): a database operation, safe on any number of replicas, that
    never touches a note being uploaded."""

    with open_session(app.state.engine) as session:
        voice_notes.sweep(session)
        session.commit()
