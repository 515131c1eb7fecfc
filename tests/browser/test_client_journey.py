"""The client's journey on a phone: an invitation link, three kinds of record (one spoken), progress."""

from __future__ import annotations

from typing import Any

from app.services import invites
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, wait_outbox_empty, wait_until


def test_from_an_invitation_to_three_kinds_of_record(phone_context: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log", "sleep_diary", "free_note")
    with live_server.session() as session:
        issued = invites.issue(session, therapist=person.therapist, client=person.client, hours=24)
        session.commit()
    page = phone_context.new_page()

    page.goto(f"/invite/{issued.token}")
    page.get_by_role("button", name="Continue on this phone").tap()
    # The first phone starts with the welcome (tests/browser/journeys/test_starting_together.py); skip it.
    page.wait_for_url("**/c/welcome", timeout=WAIT_MS)
    page.get_by_role("link", name="Skip this for now").tap()
    page.wait_for_url("**/c", timeout=WAIT_MS)
    wait_until(page, "navigator.serviceWorker.controller !== null")

    # A mood, in three taps: the record, the number, Save.
    page.get_by_role("link", name="Mood log").tap()
    page.wait_for_url("**/c/record/**")
    page.locator('label.pill:has(input[name="a.mood"][value="6"])').tap()
    page.get_by_role("button", name="Save", exact=True).tap()
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)
    assert page.get_by_role("status").filter(has_text="Saved").count() == 1

    # A sleep diary: times, minutes, a number and a scale.
    page.get_by_role("link", name="Sleep diary").tap()
    page.wait_for_url("**/c/record/**")
    page.get_by_label("What time did you go to bed?").fill("23:10")
    page.get_by_label("About how long did it take you to fall asleep?").fill("25")
    page.get_by_label("How many times did you wake up during the night?").fill("2")
    page.get_by_label("What time did you wake up for the day?").fill("06:50")
    page.locator('label.pill:has(input[name="a.quality"][value="7"])').tap()
    page.get_by_role("button", name="Save", exact=True).tap()
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)

    # A free note, spoken instead of typed.
    page.get_by_role("link", name="Free note").tap()
    page.wait_for_url("**/c/record/**")
    page.get_by_role("button", name="Speak instead of typing").tap()
    page.get_by_role("button", name="Stop recording").wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # a moment of the fake microphone's tone
    page.get_by_role("button", name="Stop recording").tap()
    page.get_by_role("button", name="Record again").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Save", exact=True).tap()
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)
    wait_outbox_empty(page)

    assert live_server.entry_count(person.client) == 3
    page.get_by_role("link", name="My entries", exact=True).tap()
    page.wait_for_url("**/c/entries")
    text = page.locator("main").inner_text()
    for title in ("Mood log", "Sleep diary", "Free note"):
        assert title in text
    assert page.locator("audio[data-voice-answer]").count() == 1
    page.get_by_role("link", name="Today", exact=True).tap()
    page.wait_for_url("**/c")
    assert page.locator("a.task.done").count() >= 2  # done for today
