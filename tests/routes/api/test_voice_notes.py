"""Voice notes: uploads sniffed and limited, idempotent on their id, heard only by the right people."""

from __future__ import annotations

import struct
import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from app.models import EntryCreate, Therapist, Visibility, VoiceNote
from app.models.voice_note import VoiceNoteBlob
from app.services import entries, voice_notes, voice_storage
from app.services.device_trust import EVERYTHING
from tests.factories import browser, make_assignment, make_client, make_template, make_therapist, signed_in

WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256)) * 4
OGG = b"OggS\x00\x02" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00" + b"\x00" * 200

FIELDS: list[dict[str, Any]] = [
    {"key": "voice", "type": "voice", "label": "Say it", "max_seconds": 60},
    {"key": "note", "type": "long_text", "label": "Or write it", "required": True},
]


def _wav(seconds: int, byte_rate: int = 100) -> bytes:
    data = b"\x00" * (seconds * byte_rate)
    fmt = struct.pack("<HHIIHH", 1, 1, byte_rate, byte_rate, 1, 8)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", len(data)) + data)
    )


def _upload(web: Any, data: bytes, *, note_id: uuid.UUID | None = None, seconds: float | None = None) -> Any:
    fields = {}
    if note_id:
        fields["id"] = str(note_id)
    if seconds is not None:
        fields["seconds"] = str(seconds)
    return web.post("/api/v1/voice-notes", data=fields, files={"file": ("note", data, "text/plain")})


def _setup(web: Any, session: Any) -> tuple[Any, Any, Any]:
    client = make_client(session)
    therapist = session.get(Therapist, client.therapist_id)
    template = make_template(session, therapist=therapist, title="Voice diary", fields=FIELDS)
    assignment = make_assignment(session, client=client, template=template)
    return signed_in(web, session, client), client, assignment


def _entry(assignment: Any, answers: dict[str, Any], visibility: str = "shared") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": answers, "visibility": visibility}


def test_upload_sniffs_the_container_and_is_idempotent_on_the_id(web, session, app) -> None:  # type: ignore[no-untyped-def]
    phone, client, _assignment = _setup(web, session)
    note_id = uuid.uuid4()
    first = _upload(phone, WEBM, note_id=note_id, seconds=3.2)
    assert first.status_code == 201, first.text
    assert first.json()["content_type"] == "audio/webm"  # not the text/plain the request claimed
    assert first.json()["seconds"] == 3.2
    again = _upload(phone, WEBM, note_id=note_id, seconds=3.2)
    assert again.status_code == 200
    assert _upload(phone, OGG, note_id=note_id).status_code == 409
    assert _upload(phone, OGG).json()["content_type"] == "audio/ogg"
    assert _upload(phone, MP4).json()["content_type"] == "audio/mp4"
    wav = _upload(phone, _wav(3), seconds=1)
    assert (wav.json()["content_type"], wav.json()["seconds"]) == ("audio/wav", 3.0)  # measured, not claimed
    note = voice_notes.readable(session, note_id=note_id, client=client, access=EVERYTHING)
    assert voice_storage.current().read(session, note_id=note.id) == WEBM
    assert not (app.state.settings.upload_dir / "voice").exists()  # in the database, not on this replica's disk


def test_not_audio_too_large_and_too_long_are_refused_clearly(web, session, app) -> None:  # type: ignore[no-untyped-def]
    phone, _client, _assignment = _setup(web, session)
    not_audio = _upload(phone, b"#!/bin/sh\necho not a recording\n")
    assert not_audio.status_code == 415
    assert "not a recording" in not_audio.json()["detail"]
    assert _upload(phone, b"").status_code == 422
    app.state.settings.voice_max_seconds = 60
    assert _upload(phone, WEBM, seconds=600).status_code == 422
    long_wav = _upload(phone, _wav(120), seconds=5)
    assert long_wav.status_code == 422
    assert "longer than" in long_wav.json()["detail"]
    app.state.settings.voice_max_bytes = 500
    too_large = _upload(phone, WEBM)
    assert too_large.status_code == 413
    assert "too large" in too_large.json()["detail"]
    # Larger than the whole-request limit: refused before the body is read.
    assert _upload(phone, b"\x00" * (app.state.settings.max_request_bytes + 5_000_000)).status_code == 413
    session.expire_all()
    assert session.exec(select(func.count()).select_from(VoiceNote)).one() == 0  # nothing kept
    assert session.exec(select(func.count()).select_from(VoiceNoteBlob)).one() == 0


def test_only_the_client_and_their_therapist_hear_a_shared_note(web, session, app) -> None:  # type: ignore[no-untyped-def]
    phone, client, assignment = _setup(web, session)
    therapist = session.get(Therapist, client.therapist_id)
    note_id = str(uuid.uuid4())
    assert _upload(phone, WEBM, note_id=uuid.UUID(note_id)).status_code == 201
    url = f"/api/v1/voice-notes/{note_id}"
    own = phone.get(url)
    assert own.status_code == 200 and own.content == WEBM
    assert own.headers["cache-control"] == "private, no-store"
    assert own.headers["content-type"] == "audio/webm"

    with (
        browser(app) as stranger,
        browser(app) as other_client,
        browser(app) as own_therapist,
        browser(app) as other_therapist,
    ):
        signed_in(other_client, session, make_client(session))
        signed_in(own_therapist, session, therapist)
        signed_in(other_therapist, session, make_therapist(session))
        assert stranger.get(url).status_code == 404
        assert other_client.get(url).status_code == 404
        assert own_therapist.get(url).status_code == 404  # not yet part of any entry

        saved = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": note_id, "note": "x"}))
        assert saved.status_code == 201, saved.text
        assert own_therapist.get(url).status_code == 200
        assert other_therapist.get(url).status_code == 404

        entry_id = saved.json()["id"]
        assert phone.patch(f"/api/v1/entries/{entry_id}", json={"visibility": "private"}).status_code == 200
        assert own_therapist.get(url).status_code == 404  # private entries never reach the therapist
        assert phone.get(url).status_code == 200


def test_an_entry_may_only_name_the_clients_own_unused_notes(web, session, app) -> None:  # type: ignore[no-untyped-def]
    phone, _client, assignment = _setup(web, session)
    with browser(app) as other:
        other_client = make_client(session)
        signed_in(other, session, other_client)
        foreign = uuid.uuid4()
        assert _upload(other, WEBM, note_id=foreign).status_code == 201
    missing = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": str(uuid.uuid4()), "note": "x"}))
    assert missing.status_code == 422
    assert "voice" in missing.json()["errors"]
    stolen = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": str(foreign), "note": "x"}))
    assert stolen.status_code == 422
    garbled = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": "not-a-uuid", "note": "x"}))
    assert garbled.status_code == 422

    mine = uuid.uuid4()
    assert _upload(phone, WEBM, note_id=mine, seconds=90).status_code == 201
    too_long = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": str(mine), "note": "x"}))
    assert too_long.status_code == 422  # this field allows 60 seconds

    short = uuid.uuid4()
    assert _upload(phone, OGG, note_id=short, seconds=10).status_code == 201
    first = _entry(assignment, {"voice": str(short), "note": "x"})
    assert phone.post("/api/v1/entries", json=first).status_code == 201
    assert phone.post("/api/v1/entries", json=first).status_code == 200  # the same sync again
    reused = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": str(short), "note": "y"}))
    assert reused.status_code == 422  # one note answers one entry


def test_a_text_field_may_be_answered_by_voice(web, session) -> None:  # type: ignore[no-untyped-def]
    phone, _client, assignment = _setup(web, session)
    note_id = str(uuid.uuid4())
    assert _upload(phone, WEBM, note_id=uuid.UUID(note_id)).status_code == 201
    spoken = phone.post("/api/v1/entries", json=_entry(assignment, {"note:voice": note_id}))
    assert spoken.status_code == 201, spoken.text  # the required text field is answered by voice
    assert spoken.json()["answers"] == {"note:voice": note_id}
    unknown = phone.post("/api/v1/entries", json=_entry(assignment, {"note": "x", "voice:voice": note_id}))
    assert unknown.status_code == 422  # only text fields have a spoken companion
    page = phone.get("/c/entries")
    assert f'src="/api/v1/voice-notes/{note_id}"' in page.text


def test_deleting_the_entry_deletes_its_recording(web, session, app) -> None:  # type: ignore[no-untyped-def]
    phone, _client, assignment = _setup(web, session)
    note_id = uuid.uuid4()
    assert _upload(phone, WEBM, note_id=note_id).status_code == 201
    saved = phone.post("/api/v1/entries", json=_entry(assignment, {"voice": str(note_id), "note": "x"}))
    assert phone.delete(f"/api/v1/entries/{saved.json()['id']}").status_code == 204
    assert phone.get(f"/api/v1/voice-notes/{note_id}").status_code == 404
    # The row and its audio went in the deleting request's transaction: nothing is left to sweep.
    session.expire_all()
    assert session.get(VoiceNote, note_id) is None
    assert voice_storage.current().read(session, note_id=note_id) is None
    assert voice_notes.sweep(session) == 0


def test_the_record_form_offers_voice_and_keeps_a_spoken_answer_on_edit(web, session) -> None:  # type: ignore[no-untyped-def]
    phone, client, assignment = _setup(web, session)
    page = phone.get(f"/c/record/{assignment.id}")
    assert 'data-voice-field="a.voice"' in page.text
    assert 'name="a.note:voice"' in page.text
    assert "data-new-entry" in page.text
    note_id = uuid.uuid4()
    assert _upload(phone, WEBM, note_id=note_id).status_code == 201
    saved = entries.create(
        session,
        client=client,
        data=EntryCreate(
            id=uuid.uuid4(),
            assignment_id=assignment.id,
            answers={"note": "typed", "note:voice": str(note_id)},
            visibility=Visibility.shared,
        ),
    ).entry
    session.commit()
    edit = phone.get(f"/c/entries/{saved.id}")
    assert f'name="a.note:voice" value="{note_id}"' in edit.text
    assert "data-new-entry" not in edit.text
    form = {
        "csrf_token": phone.headers["X-CSRF-Token"],
        "a.note": "typed again",
        "a.note:voice": str(note_id),
        "visibility": "shared",
    }
    assert phone.post(f"/c/entries/{saved.id}", data=form, follow_redirects=False).status_code == 303
    session.expire_all()
    assert entries.get_own(session, client=client, access=EVERYTHING, entry_id=saved.id).answers == {
        "note": "typed again",
        "note:voice": str(note_id),
    }
