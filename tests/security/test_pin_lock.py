"""The app PIN beyond the pages: voice notes, and what pages tell the service worker so
that the lock holds offline too (the browser side is tests/browser/test_pin_offline.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import select

from app.models import DeviceSession, Therapist
from app.models.types import utcnow
from app.web.render import LOCK_HEADER
from tests.factories import browser, make_assignment, make_client, make_template, signed_in

# The start of a WebM file: enough for the upload's sniffing.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256)) * 4
FIELDS: list[dict[str, Any]] = [
    {"key": "voice", "type": "voice", "label": "Say it", "max_seconds": 60},
    {"key": "note", "type": "long_text", "label": "Or write it"},
]
PIN = "4821"


def _idle(session, client, hours: float) -> None:  # type: ignore[no-untyped-def]
    for device in session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)):
        device.unlocked_at = utcnow() - timedelta(hours=hours)
        session.add(device)
    session.commit()


def _set_pin(phone: Any) -> None:
    assert phone.post("/c/pin", data={"pin": PIN, "confirm": PIN}, follow_redirects=False).status_code == 303


def test_voice_notes_play_only_on_an_unlocked_device(web, session, app) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    therapist = session.get(Therapist, client.therapist_id)
    assignment = make_assignment(
        session, client=client, template=make_template(session, therapist=therapist, fields=FIELDS)
    )
    phone = signed_in(web, session, client)
    note_id = uuid.uuid4()
    upload = phone.post("/api/v1/voice-notes", data={"id": str(note_id)}, files={"file": ("note", WEBM, "audio/webm")})
    assert upload.status_code == 201, upload.text
    entry = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"voice": str(note_id)}}
    assert phone.post("/api/v1/entries", json=entry).status_code == 201
    url = f"/api/v1/voice-notes/{note_id}"
    _set_pin(phone)
    assert phone.get(url).status_code == 200

    idle_hours = app.state.settings.pin_idle_hours
    _idle(session, client, hours=idle_hours + 1)
    locked = phone.get(url)
    assert locked.status_code == 423
    assert locked.json()["detail"] == "Between is locked on this device. Unlock it with your PIN."
    assert locked.content != WEBM
    assert phone.get(url, headers={"Range": "bytes=0-9"}).status_code == 423  # no piece of it either
    spanish = phone.get(url, headers={"Accept-Language": "es"})
    assert spanish.status_code == 423
    assert spanish.json()["detail"] == "Between está bloqueado en este dispositivo. Desbloquéalo con tu PIN."
    # The same answer as the entries it belongs to.
    assert phone.get("/api/v1/entries").status_code == 423
    # Recording and sending offline keep working behind the lock.
    again = phone.post("/api/v1/voice-notes", files={"file": ("note", WEBM, "audio/webm")})
    assert again.status_code == 201, again.text
    # The lock is this phone's: the therapist still hears what was shared with them.
    with signed_in(browser(app), session, therapist) as desk:
        assert desk.get(url).status_code == 200

    assert phone.post("/c/unlock", data={"pin": PIN}, follow_redirects=False).status_code == 303
    played = phone.get(url)
    assert played.status_code == 200 and played.content == WEBM


def test_client_pages_say_how_long_the_device_stays_unlocked(web, session, app) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    phone = signed_in(web, session, client)
    idle_seconds = int(app.state.settings.pin_idle_hours * 3600)
    assert phone.get("/c").headers[LOCK_HEADER] == "never"  # no PIN, nothing to lock

    _set_pin(phone)
    for path in ("/c", "/c/entries", "/c/settings"):
        page = phone.get(path)
        assert page.status_code == 200
        assert idle_seconds - 60 <= int(page.headers[LOCK_HEADER]) <= idle_seconds, path
    # Using the phone starts the idle clock again, and the page says so.
    _idle(session, client, hours=app.state.settings.pin_idle_hours / 2)
    assert idle_seconds - 60 <= int(phone.get("/c").headers[LOCK_HEADER]) <= idle_seconds

    _idle(session, client, hours=app.state.settings.pin_idle_hours + 1)
    asked = phone.get("/c/entries", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/c/unlock"
    assert phone.get("/c/unlock").headers[LOCK_HEADER] == "0"

    # Only a client's pages speak of it.
    with browser(app) as anonymous:
        for path in ("/", "/join", "/offline", "/locked"):
            assert LOCK_HEADER not in anonymous.get(path).headers, path


def test_the_locked_page_is_public_plain_and_in_both_languages(web) -> None:  # type: ignore[no-untyped-def]
    english = web.get("/locked")
    assert english.status_code == 200
    assert english.headers["cache-control"] == "no-cache"
    assert english.headers["content-language"] == "en"
    assert "Between is locked" in english.text
    assert "Connect to the internet, then unlock Between with your PIN." in english.text
    assert "data-offline-lock" in english.text
    spanish = web.get("/locked", headers={"Accept-Language": "es"})
    assert spanish.headers["content-language"] == "es"
    assert "Between está bloqueado" in spanish.text
    assert "Conéctate a internet y desbloquea Between con tu PIN." in spanish.text
    # The service worker keeps it when it installs, next to the offline page.
    config = web.get("/sw-offline.js").text.split("\n", 1)[0]
    assert '"locked": "/locked"' in config
