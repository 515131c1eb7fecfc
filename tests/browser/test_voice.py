"""Voice notes from Chromium's fake microphone: recorded offline, sent once, heard by the therapist."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.models import Entry
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, open_app, save_mood, wait_outbox_empty, wait_queued


def _record(page: Any, scope: str = "form[data-record-form]") -> None:
    form = page.locator(scope)
    form.locator("[data-rec-record]:visible, [data-rec-speak]:visible").first.click()
    form.locator("[data-rec-stop]").wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_timeout(1500)  # a moment of the fake microphone's tone
    form.locator("[data-rec-stop]").click()
    form.locator("[data-rec-playback]").wait_for(state="visible", timeout=WAIT_MS)


def _playable(page: Any, audio: Any) -> bool:
    state = page.evaluate(
        """audio => new Promise(resolve => {
             audio.addEventListener("loadedmetadata", () => resolve(audio.readyState), {once: true});
             audio.addEventListener("error", () => resolve(-1), {once: true});
             audio.preload = "auto";
             audio.load();
           })""",
        audio.element_handle(),
    )
    return bool(state >= 1)


def test_a_mood_and_a_voice_note_logged_offline_reach_the_therapist_once_and_play(
    phone_context: Any, desktop_context: Any, live_server: LiveServer
) -> None:
    person = client_with_records(live_server, "mood_log", voice_form=True)
    page = open_app(phone_context, live_server, person)

    phone_context.set_offline(True)
    save_mood(page, person, 7)
    wait_queued(page)
    page.goto(person.record_path("voice"))
    _record(page)
    assert _playable(page, page.locator("[data-rec-playback]"))  # listen back before saving
    page.locator("[data-rec-again]").click()
    page.locator("[data-rec-stop]").wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    page.locator("[data-rec-stop]").click()
    page.locator("[data-rec-playback]").wait_for(state="visible", timeout=WAIT_MS)
    page.locator("form[data-record-form] button.big").click()
    wait_queued(page)
    page.reload()

    phone_context.set_offline(False)
    wait_outbox_empty(page)
    assert live_server.entry_count(person.client) == 2
    with live_server.session() as session:
        voice_entry = session.exec(select(Entry).where(Entry.assignment_id == person.assignments["voice"].id)).one()
    note_id = voice_entry.answers["voice"]

    live_server.sign_in(desktop_context, person.therapist)
    therapist = desktop_context.new_page()
    therapist.goto(f"/t/clients/{person.client.id}")
    audio = therapist.locator("audio[data-voice-answer]")
    assert audio.count() == 1
    assert audio.get_attribute("src") == f"/api/v1/voice-notes/{note_id}"
    response = therapist.request.get(f"/api/v1/voice-notes/{note_id}")
    assert response.status == 200
    assert response.headers["content-type"] == "audio/webm"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["accept-ranges"] == "bytes"
    part = therapist.request.get(f"/api/v1/voice-notes/{note_id}", headers={"Range": "bytes=0-15"})
    assert part.status == 206
    assert part.body() == response.body()[:16]
    # Chromium asks for media with Range requests, and plays what comes back as 206.
    statuses: list[int] = []
    therapist.on("response", lambda answer: statuses.append(answer.status) if "/voice-notes/" in answer.url else None)
    assert _playable(therapist, audio)
    assert 206 in statuses


def test_speaking_instead_of_typing_answers_a_text_field(phone_context: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "free_note")
    page = open_app(phone_context, live_server, person)
    page.goto(person.record_path("free_note"))
    field = page.locator(".field-long_text")
    field.locator("[data-rec-speak]").click()  # records at once
    field.locator("[data-rec-stop]").wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_timeout(1000)
    field.locator("[data-rec-stop]").click()
    field.locator("[data-rec-playback]").wait_for(state="visible", timeout=WAIT_MS)
    page.locator("form[data-record-form] button.big").click()  # the note is required: the voice answers it
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)
    with live_server.session() as session:
        entry = session.exec(select(Entry).where(Entry.client_id == person.client.id)).one()
    assert set(entry.answers) == {"note:voice"}
    page.goto("/c/entries")
    assert page.locator("audio[data-voice-answer]").count() == 1
