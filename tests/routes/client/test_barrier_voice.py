"""A voice note on a "Not today, because…" check-in, through the API, the check-in page, the
therapist's brief, playback and the client's download."""

from __future__ import annotations

import html
import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from app.core import i18n
from app.models import BarrierCheckin, VoiceNote
from app.models.types import utcnow
from tests.factories import browser, make_assignment, make_client, make_therapist, signed_in

WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256)) * 2


def _setup(web, session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin Vale")
    assignment = make_assignment(session, client=client)
    assignment.created_at = utcnow() - timedelta(days=6)
    session.add(assignment)
    session.commit()
    return signed_in(web, session, client), therapist, client, assignment


def _day(days_ago: int) -> str:
    return (utcnow().date() - timedelta(days=days_ago)).isoformat()


def _upload(web: Any, data: bytes = WEBM) -> str:
    note_id = str(uuid.uuid4())
    response = web.post("/api/v1/voice-notes", data={"id": note_id}, files={"file": ("note", data, "audio/webm")})
    assert response.status_code == 201, response.text
    return note_id


def _body(assignment, days_ago: int, **fields: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    base = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "day": _day(days_ago), "reason": "no_time"}
    return {**base, **fields}


def _stored(session) -> list[tuple[uuid.UUID, uuid.UUID | None]]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return sorted((row.id, row.barrier_checkin_id) for row in session.exec(select(VoiceNote)))


def _checkins(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(BarrierCheckin)).one())


def test_the_api_takes_a_voice_note_with_a_check_in_idempotently(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    note_id = _upload(phone)
    body = _body(assignment, 1, voice_note_id=note_id, visibility="discuss")
    first = phone.post("/api/v1/barriers", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["voice_note_id"] == note_id
    again = phone.post("/api/v1/barriers", json=body)
    assert again.status_code == 200 and again.json() == first.json()
    # The same check-in id with another recording is other content.
    other = _upload(phone, WEBM + b"x")
    assert phone.post("/api/v1/barriers", json={**body, "voice_note_id": other}).status_code == 409
    plain = phone.post("/api/v1/barriers", json=_body(assignment, 2))
    assert plain.status_code == 201 and plain.json()["voice_note_id"] is None
    listed = {item["id"]: item["voice_note_id"] for item in phone.get("/api/v1/barriers").json()}
    assert listed == {body["id"]: note_id, plain.json()["id"]: None}
    assert _checkins(session) == 2


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_api_refuses_a_note_that_is_not_the_clients_own_unused_one(web, session, language: str) -> None:
    phone, therapist, _client, assignment = _setup(web, session)
    phone.headers["Accept-Language"] = language
    expected = i18n.translations(language).gettext("This voice note could not be found. Please record it again.")
    with browser(web.app) as other:
        signed_in(other, session, make_client(session, therapist=therapist))
        foreign = _upload(other)
    used = _upload(phone)
    assert phone.post("/api/v1/barriers", json=_body(assignment, 3, voice_note_id=used)).status_code == 201
    before = (_stored(session), _checkins(session))
    for note_id in (str(uuid.uuid4()), foreign, used):
        refused = phone.post("/api/v1/barriers", json=_body(assignment, 1, voice_note_id=note_id))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == {"voice_note_id": expected}
    assert phone.post("/api/v1/barriers", json=_body(assignment, 1, voice_note_id="not-a-uuid")).status_code == 422
    assert (_stored(session), _checkins(session)) == before  # nothing stored changed


def test_openapi_describes_the_voice_note_of_a_check_in(web) -> None:
    spec = web.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/barriers"]["post"]
    assert post["tags"] == ["barriers"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    created = spec["components"]["schemas"][ref]["properties"]["voice_note_id"]
    assert {"type": "string", "format": "uuid"} in created["anyOf"]
    public = spec["components"]["schemas"]["BarrierPublic"]["properties"]
    assert "voice_note_id" in public


def test_the_check_in_page_offers_the_recorder_and_saves_the_note(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    page = phone.get(f"/c/barriers/new?assignment={assignment.id}&day={_day(1)}").text
    assert 'data-voice-field="voice_note"' in page
    assert '<label for="barrier-voice">A voice note (optional)</label>' in page
    assert 'id="barrier-voice" name="voice_note" value=""' in page
    note_id = _upload(phone)
    checkin_id = str(uuid.uuid4())
    form = {"id": checkin_id, "assignment": str(assignment.id), "day": _day(1), "voice_note": note_id}
    saved = phone.post("/c/barriers", data={**form, "reason": "forgot"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/c?told=1"
    assert _stored(session) == [(uuid.UUID(note_id), uuid.UUID(checkin_id))]


def test_the_check_in_page_says_clearly_when_the_note_cannot_be_used(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    phone.headers["Accept-Language"] = "es"
    form = {"id": str(uuid.uuid4()), "assignment": str(assignment.id), "day": _day(1), "reason": "forgot"}
    page = phone.post("/c/barriers", data={**form, "voice_note": str(uuid.uuid4())})
    assert page.status_code == 422
    message = i18n.translations("es").gettext("This voice note could not be found. Please record it again.")
    assert html.escape(message, quote=True) in page.text or message in page.text
    assert 'id="barrier-voice" name="voice_note" value=""' in page.text  # record again
    assert _checkins(session) == 0
    assert phone.post("/c/barriers", data={**form, "voice_note": "garbled"}).status_code == 422
    assert _checkins(session) == 0


def test_the_therapist_plays_a_check_ins_note_only_when_it_is_shared(web, session) -> None:
    phone, therapist, _client, assignment = _setup(web, session)
    notes = {}
    for days_ago, visibility in ((1, "shared"), (2, "discuss"), (3, "private")):
        note_id = _upload(phone, WEBM + visibility.encode())
        body = _body(assignment, days_ago, voice_note_id=note_id, visibility=visibility)
        assert phone.post("/api/v1/barriers", json=body).status_code == 201
        notes[visibility] = note_id
    with browser(web.app) as desk, browser(web.app) as stranger:
        signed_in(desk, session, therapist)
        signed_in(stranger, session, make_therapist(session))
        for visibility, note_id in notes.items():
            heard = desk.get(f"/api/v1/voice-notes/{note_id}")
            assert heard.status_code == (404 if visibility == "private" else 200), visibility
            assert stranger.get(f"/api/v1/voice-notes/{note_id}").status_code == 404
            assert phone.get(f"/api/v1/voice-notes/{note_id}").status_code == 200
        page = desk.get(f"/t/clients/{assignment.client_id}/brief").text
    section = page[page.index('id="barriers"') :]
    section = section[: section.index("</section>")]
    assert f'src="/api/v1/voice-notes/{notes["shared"]}"' in section
    assert f'src="/api/v1/voice-notes/{notes["discuss"]}"' in section
    assert notes["private"] not in page


def test_the_clients_download_holds_a_check_ins_voice_note(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    note_id = _upload(phone)
    body = _body(assignment, 1, voice_note_id=note_id, visibility="private")
    assert phone.post("/api/v1/barriers", json=body).status_code == 201
    archive = zipfile.ZipFile(io.BytesIO(phone.get("/c/export.zip").content))
    [row] = json.loads(archive.read("barrier_checkins.json"))
    assert row["voice_note_id"] == note_id
    assert archive.read(row["voice_note_file"]) == WEBM
