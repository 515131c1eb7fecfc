"""Limits: request size, API writes, uploads, invite redemption, and the client's app PIN."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.main import create_app
from app.models import DeviceSession, Entry, RateLimitCounter
from app.models.types import utcnow
from tests.factories import browser, make_assignment, make_client, make_entry, signed_in


@pytest.fixture
def strict_app(settings, engine):  # type: ignore[no-untyped-def]
    tight = settings.model_copy(
        update={
            "api_write_max": 3,
            "api_write_window_seconds": 600,
            "upload_max": 2,
            "upload_window_seconds": 600,
            "invite_max_attempts": 2,
            "pin_max_attempts": 3,
            "pin_idle_hours": 2.0,
            "max_request_bytes": 20_000,
        }
    )
    return create_app(tight, engine=engine)


@pytest.fixture
def phone(strict_app, session) -> Iterator[tuple[TestClient, object, object]]:  # type: ignore[no-untyped-def]
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    with signed_in(browser(strict_app), session, client) as web:
        yield web, client, assignment


def _entry(assignment) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4}}


def test_a_body_over_the_limit_is_413_with_or_without_content_length(phone, session) -> None:
    web, _client, assignment = phone
    big = {**_entry(assignment), "answers": {"mood": 4, "note": "x" * 30_000}}
    response = web.post("/api/v1/entries", json=big)
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "' + str(uuid.uuid4()).encode() + b'", "answers": {"note": "'
        for _ in range(40):
            yield b"y" * 1000
        yield b'"}}'

    streamed = web.post("/api/v1/entries", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert session.exec(select(Entry)).all() == []


def test_api_writes_are_limited_with_retry_after(phone, session) -> None:
    web, _client, assignment = phone
    for _ in range(3):
        assert web.post("/api/v1/entries", json=_entry(assignment)).status_code == 201
    blocked = web.post("/api/v1/entries", json=_entry(assignment))
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 600
    assert "wait" in blocked.json()["detail"]
    # Reading is not a write: still fine.
    assert web.get("/api/v1/entries").status_code == 200
    session.expire_all()
    assert len(session.exec(select(Entry)).all()) == 3


def test_uploads_are_limited(phone) -> None:
    web, _client, _assignment = phone
    statuses = []
    for _ in range(3):
        files = {"file": ("note.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64, "audio/webm")}
        statuses.append(web.post("/api/v1/voice-notes", files=files).status_code)
    assert statuses[-1] == 429, statuses
    assert all(status != 429 for status in statuses[:-1]), statuses


def test_invite_redemption_is_limited(strict_app) -> None:
    with browser(strict_app) as web:
        web.get("/join")
        token = web.cookies["between_csrf"]
        answers = [web.post("/join", data={"code": "WRONGCODE", "csrf_token": token}).status_code for _ in range(3)]
    assert answers[:2] == [404, 404]
    assert answers[2] == 429


# ---------------------------------------------------------------------------
# The app PIN


def _idle(session, client, hours: float) -> None:  # type: ignore[no-untyped-def]
    for device in session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)):
        device.unlocked_at = utcnow() - timedelta(hours=hours)
        session.add(device)
    session.commit()


def test_pin_is_asked_for_after_idle_hours_and_unlocks(phone, session) -> None:
    web, client, assignment = phone
    assert web.post("/c/pin", data={"pin": "12", "confirm": "12"}).status_code == 422
    assert web.post("/c/pin", data={"pin": "4821", "confirm": "4812"}).status_code == 422
    assert web.post("/c/pin", data={"pin": "4821", "confirm": "4821"}, follow_redirects=False).status_code == 303
    session.expire_all()
    stored = session.get(type(client), client.id)
    assert stored.pin_hash.startswith("$argon2id$") and "4821" not in stored.pin_hash
    # Just set on this device: no need to unlock yet.
    assert web.get("/c").status_code == 200

    _idle(session, client, hours=1)
    assert web.get("/c").status_code == 200
    _idle(session, client, hours=3)
    locked = web.get("/c", follow_redirects=False)
    assert locked.status_code == 303 and locked.headers["location"] == "/c/unlock"
    # The lock holds on every page and on the reading API, however often it is asked.
    assert web.get("/c/entries", follow_redirects=False).status_code == 303
    assert web.get("/c/export.zip", follow_redirects=False).status_code == 303
    assert web.get("/api/v1/entries").status_code == 423
    entry = make_entry(session, client=client, assignment=assignment)
    assert web.patch(f"/api/v1/entries/{entry.id}", json={"visibility": "shared"}).status_code == 423
    # Offline sync keeps working behind the lock.
    assert web.post("/api/v1/entries", json=_entry(assignment)).status_code == 201
    assert web.get("/c/unlock").status_code == 200

    wrong = web.post("/c/unlock", data={"pin": "0000"})
    assert wrong.status_code == 400
    assert "did not match" in wrong.text
    opened = web.post("/c/unlock", data={"pin": "4821"}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/c"
    assert web.get("/c").status_code == 200
    assert web.get("/api/v1/entries").status_code == 200


def test_pin_tries_lock_out_with_a_clear_message_and_recover(phone, session) -> None:
    web, client, _assignment = phone
    web.post("/c/pin", data={"pin": "4821", "confirm": "4821"})
    _idle(session, client, hours=3)
    assert [web.post("/c/unlock", data={"pin": "1111"}).status_code for _ in range(2)] == [400, 400]
    third = web.post("/c/unlock", data={"pin": "1111"})
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) > 0
    assert "too many tries" in third.text and "minutes" in third.text
    # Even the right PIN waits out the lockout.
    assert web.post("/c/unlock", data={"pin": "4821"}).status_code == 429
    counter = session.exec(select(RateLimitCounter).where(RateLimitCounter.key == f"pin:{client.id}")).one()
    counter.window_start = utcnow() - timedelta(hours=1)
    session.add(counter)
    session.commit()
    assert web.post("/c/unlock", data={"pin": "4821"}, follow_redirects=False).status_code == 303
    assert web.get("/c").status_code == 200


def test_removing_the_pin_and_a_new_device_start_unlocked(phone, strict_app, session) -> None:
    web, client, _assignment = phone
    web.post("/c/pin", data={"pin": "4821", "confirm": "4821"})
    with signed_in(browser(strict_app), session, client) as second:
        assert second.get("/c").status_code == 200
    assert web.post("/c/pin/clear", follow_redirects=False).status_code == 303
    _idle(session, client, hours=100)
    assert web.get("/c").status_code == 200
