"""Voice notes kept in the database: played in pieces with HTTP Range, heard through any
replica, written and deleted in the same transaction as their rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.core.db import build_engine
from app.core.settings import Environment, Settings
from app.models import AuditEvent, Client, EntryCreate, Therapist, Visibility, VoiceNote
from app.models.voice_note import VoiceNoteBlob
from app.routes.api.voice_notes import Unsatisfiable, byte_range
from app.services import account_deletion, entries, voice_notes, voice_storage
from app.services.device_trust import EVERYTHING
from tests.factories import browser, make_assignment, make_client, make_template, signed_in

HEADER = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"
# Longer than three of the pieces playback reads, with every position telling its own byte apart
# from its neighbours', so a piece read from the wrong place shows.
RECORDING = HEADER + bytes((n * 7 + n // 251) % 256 for n in range(3 * voice_storage.CHUNK + 12_345))
FIELDS: list[dict[str, Any]] = [{"key": "voice", "type": "voice", "label": "Say it"}]


def _upload(phone: TestClient, data: bytes = RECORDING, note_id: uuid.UUID | None = None) -> uuid.UUID:
    note_id = note_id or uuid.uuid4()
    response = phone.post(
        "/api/v1/voice-notes", data={"id": str(note_id)}, files={"file": ("note", data, "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    return note_id


def _blobs(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(VoiceNoteBlob)).one())


def _notes(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(VoiceNote)).one())


def test_playback_honours_ranges_and_gives_the_same_bytes_back(web, session) -> None:  # type: ignore[no-untyped-def]
    phone = signed_in(web, session, make_client(session))
    url = f"/api/v1/voice-notes/{_upload(phone)}"
    size = len(RECORDING)

    whole = phone.get(url)
    assert whole.status_code == 200
    assert whole.content == RECORDING
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["cache-control"] == "private, no-store"
    assert whole.headers["content-type"] == "audio/webm"

    chunk = voice_storage.CHUNK
    asked = {
        "bytes=0-99": (0, 100),  # the first bytes
        "bytes=0-": (0, size),  # what a browser asks first
        f"bytes={chunk - 50}-{chunk + 49}": (chunk - 50, chunk + 50),  # the middle, across two pieces
        f"bytes={chunk // 2}-{2 * chunk + 10}": (chunk // 2, 2 * chunk + 11),  # across three
        "bytes=-100": (size - 100, size),  # the last 100
        f"bytes=-{size + 500}": (0, size),  # more than there is: all of it
        f"bytes={size - 10}-{size + 1000}": (size - 10, size),  # an end past the end: up to the end
        f"bytes={size - 1}-{size - 1}": (size - 1, size),  # the very last byte
    }
    for header, (start, stop) in asked.items():
        part = phone.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == RECORDING[start:stop], header
        assert part.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}", header
        assert part.headers["content-length"] == str(stop - start), header
        assert part.headers["accept-ranges"] == "bytes"
        assert part.headers["cache-control"] == "private, no-store"
        assert part.headers["content-type"] == "audio/webm"

    for bad in (
        f"bytes={size}-",
        f"bytes={size + 10}-{size + 20}",
        "bytes=9-3",
        "bytes=-0",
        "bytes=abc",
        "bytes=-",
        "bytes=1-2-3",
        "bytes=" + "9" * 5000 + "-",
    ):
        refused = phone.get(url, headers={"Range": bad})
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["detail"] == "That part of the recording does not exist."
        assert RECORDING[:64] not in refused.content
    spanish = phone.get(url, headers={"Range": "bytes=9-3", "Accept-Language": "es"})
    assert spanish.json()["detail"] == "Esa parte de la grabación no existe."

    # What HTTP lets a server ignore is ignored: the whole recording, 200.
    for ignored in ("items=0-10", "bytes=0-1,5-6"):
        answer = phone.get(url, headers={"Range": ignored})
        assert (answer.status_code, answer.content) == (200, RECORDING), ignored
    etag = whole.headers["etag"]
    same = phone.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (same.status_code, same.content) == (206, RECORDING[:10])
    changed = phone.get(url, headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert (changed.status_code, changed.content) == (200, RECORDING)


def test_byte_range_reads_one_range_in_bytes() -> None:
    assert byte_range(None, size=10) is None
    assert byte_range("bytes=2-4", size=10) == (2, 5)
    assert byte_range(" bytes = 2 - ", size=10) == (2, 10)
    assert byte_range("bytes=-3", size=10) == (7, 10)
    assert byte_range("Bytes=0-0", size=1) == (0, 1)
    for bad in ("bytes=10-", "bytes=5-4", "bytes=-0", "bytes=²-3", "bytes=", "bytes=0x1-2"):
        with pytest.raises(Unsatisfiable):
            byte_range(bad, size=10)


def test_a_therapist_hears_a_range_of_a_shared_note_and_each_is_audited(web, session, app) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    therapist = session.get(Therapist, client.therapist_id)
    assignment = make_assignment(
        session, client=client, template=make_template(session, therapist=therapist, fields=FIELDS)
    )
    phone = signed_in(web, session, client)
    note_id = _upload(phone)
    url = f"/api/v1/voice-notes/{note_id}"
    entry = {
        "id": str(uuid.uuid4()),
        "assignment_id": str(assignment.id),
        "answers": {"voice": str(note_id)},
        "visibility": "private",
    }
    assert phone.post("/api/v1/entries", json=entry).status_code == 201
    with signed_in(browser(app), session, therapist) as desk:
        assert desk.get(url, headers={"Range": "bytes=0-99"}).status_code == 404  # private: never theirs
        assert phone.patch(f"/api/v1/entries/{entry['id']}", json={"visibility": "shared"}).status_code == 200
        part = desk.get(url, headers={"Range": "bytes=-100"})
        assert (part.status_code, part.content) == (206, RECORDING[-100:])
        assert desk.get(url).content == RECORDING
    session.expire_all()
    played = session.exec(select(AuditEvent).where(AuditEvent.action == "voice_note.played")).all()
    assert [(event.actor_id, event.subject_id) for event in played] == [(therapist.id, note_id)] * 2


@pytest.fixture
def replicas(database_url: str, tmp_path: Path, engine) -> Iterator[tuple[TestClient, TestClient]]:  # type: ignore[no-untyped-def]
    """Two instances of the app on the same database, as on two hosts: each its own data
    directory and its own connection pool, nothing shared but the database."""
    from app.main import create_app

    made = []
    for host in ("host-a", "host-b"):
        settings = Settings(
            environment=Environment.test,
            database_url=database_url,
            data_dir=tmp_path / host,
            secret_key="test-secret-key-" + "x" * 32,
            base_url="http://testserver",
        )
        own_engine = build_engine(database_url)
        made.append((TestClient(create_app(settings, engine=own_engine), base_url="http://testserver"), own_engine))
    with made[0][0] as first, made[1][0] as second:
        yield first, second
    for _client, own_engine in made:
        own_engine.dispose()


def test_a_note_uploaded_through_one_replica_plays_through_another(replicas, session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    through_a, through_b = replicas
    assert through_a.app.state.settings.data_dir != through_b.app.state.settings.data_dir
    client = make_client(session)
    signed_in(through_a, session, client)
    # The same phone, its request sent to the other host by the load balancer.
    for name, value in through_a.cookies.items():
        through_b.cookies.set(name, value)
    through_b.headers["X-CSRF-Token"] = through_a.headers["X-CSRF-Token"]
    note_id = _upload(through_a)

    played = through_b.get(f"/api/v1/voice-notes/{note_id}")
    assert played.status_code == 200
    assert played.content == RECORDING
    middle = through_b.get(f"/api/v1/voice-notes/{note_id}", headers={"Range": "bytes=1000-299999"})
    assert (middle.status_code, middle.content) == (206, RECORDING[1000:300000])
    # Neither host wrote the recording to its own disk.
    assert not any(path.is_file() for path in tmp_path.rglob("*") if path.parent.name == "voice")
    # Uploading the same note again through the other host is the same note.
    again = through_b.post(
        "/api/v1/voice-notes", data={"id": str(note_id)}, files={"file": ("note", RECORDING, "audio/webm")}
    )
    assert again.status_code == 200


def _store(session: Session, client: Client, data: bytes = RECORDING) -> uuid.UUID:
    return voice_notes.store(session, client=client, data=data, max_bytes=4_000_000, max_seconds=600).note.id


def test_a_failed_transaction_keeps_neither_the_row_nor_the_audio(session) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    note_id = _store(session, client)
    # Within the transaction both are there...
    assert session.get(VoiceNote, note_id) is not None
    assert voice_storage.current().read(session, note_id=note_id, start=0, length=4) == RECORDING[:4]
    session.rollback()  # ...and the request that stored them fails before it commits.
    assert (_notes(session), _blobs(session)) == (0, 0)

    kept = _store(session, client)
    session.commit()
    assert (_notes(session), _blobs(session)) == (1, 1)
    assert voice_storage.current().read(session, note_id=kept) == RECORDING


def test_deleting_an_entry_deletes_its_audio_in_the_same_transaction(session) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    therapist = session.get(Therapist, client.therapist_id)
    assignment = make_assignment(
        session, client=client, template=make_template(session, therapist=therapist, fields=FIELDS)
    )
    note_id = _store(session, client)
    other = _store(session, client, data=RECORDING[:5000])  # another note, of no entry: stays
    session.commit()
    saved = entries.create(
        session,
        client=client,
        data=EntryCreate(
            id=uuid.uuid4(), assignment_id=assignment.id, answers={"voice": str(note_id)}, visibility=Visibility.shared
        ),
    ).entry
    session.commit()

    entries.delete(session, client=client, access=EVERYTHING, entry_id=saved.id)
    assert voice_storage.current().read(session, note_id=note_id) is None  # gone in this transaction
    session.rollback()  # a failure after it: both come back together
    assert voice_storage.current().read(session, note_id=note_id) == RECORDING
    assert session.get(VoiceNote, note_id) is not None

    entries.delete(session, client=client, access=EVERYTHING, entry_id=saved.id)
    session.commit()
    assert session.get(VoiceNote, note_id) is None
    assert voice_storage.current().read(session, note_id=note_id) is None
    assert voice_storage.current().read(session, note_id=other) == RECORDING[:5000]


def test_deleting_an_account_deletes_its_audio_in_the_same_transaction(session) -> None:  # type: ignore[no-untyped-def]
    leaving, staying = make_client(session), make_client(session)
    gone = [_store(session, leaving), _store(session, leaving, data=RECORDING[:4000])]
    kept = _store(session, staying)
    session.commit()

    deleted = account_deletion.delete_client(session, client=leaving)
    assert deleted.voice_notes == 2
    session.rollback()
    assert _blobs(session) == 3 and _notes(session) == 3

    account_deletion.delete_client(session, client=session.get(Client, leaving.id))
    session.commit()
    assert _blobs(session) == 1 and _notes(session) == 1
    assert all(voice_storage.current().read(session, note_id=note_id) is None for note_id in gone)
    assert voice_storage.current().read(session, note_id=kept) == RECORDING


def test_the_start_up_sweep_leaves_a_fresh_upload_alone(app, session) -> None:  # type: ignore[no-untyped-def]
    """Every replica sweeps at start; a note uploaded a moment ago, its entry not yet saved, stays."""
    from app.routes.api.voice_notes import sweep_on_start

    client = make_client(session)
    note_id = _store(session, client)
    session.commit()
    sweep_on_start(app)
    sweep_on_start(app)
    assert voice_storage.current().read(session, note_id=note_id) == RECORDING
