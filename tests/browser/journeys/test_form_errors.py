"""Form errors show where people look: next to the field (aria-invalid, aria-describedby naming
the visible message) and in an alert, after a real submit, with JavaScript (htmx swaps the
422 answer in; it used to drop it, so nothing happened) and without it (a plain POST)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from app.models import Appointment, Assignment, Client
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import Journey
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records
from tests.factories import make_client, make_therapist

# (size, language, JavaScript on): the phone in Spanish as the app runs, the laptop in English
# without JavaScript (plain posts).
WAYS = [("phone", "es", True), ("desktop", "en", False)]
WAY_IDS = ["phone-es", "desktop-en-no-js"]


def open_way(open_journey: OpenJourney, way: tuple[str, str, bool]) -> Journey:
    size, lang, javascript = way
    return open_journey(size, lang, javascript=javascript)


def assert_field_error(journey: Journey, field: Any, says: str | None = None) -> str:
    """The field is marked invalid and described by a visible message, which the alert repeats;
    with JavaScript the cursor is in the field. Returns the message."""
    page = journey.page
    field.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    messages = [page.locator(f"#{ident}") for ident in described if ident.endswith("-error")]
    assert messages, f"aria-describedby={described} names no error"
    message = messages[0]
    assert message.is_visible()
    text = message.inner_text().strip()
    assert text and (says is None or says in text), text
    alert = page.get_by_role("alert").filter(has_text=text)
    assert alert.count() >= 1 and alert.first.is_visible(), "the alert repeats the message"
    # Next to the field: the message sits just below it.
    box, under = field.bounding_box(), message.bounding_box()
    assert box is not None and under is not None
    assert 0 <= under["y"] - (box["y"] + box["height"]) < 60, (box, under)
    if journey.javascript:
        assert page.evaluate("document.activeElement && document.activeElement.id") == field.get_attribute("id")
    return text


def count(server: LiveServer, model: Any) -> int:
    with server.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.mark.parametrize("way", [*WAYS, ("desktop", "en", True)], ids=[*WAY_IDS, "desktop-en"])
def test_a_reminder_time_of_7pm_is_shown_next_to_the_field(
    open_journey: OpenJourney, live_server: LiveServer, way: tuple[str, str, bool]
) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session)
        client = make_client(session, therapist=therapist, name="Robin")
    journey = open_way(open_journey, way)
    page = journey.start("/t", who=therapist)
    page.get_by_role("main").get_by_role("link", name="Robin", exact=True).first.click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    journey.arrive("errors-client-page")
    before = count(live_server, Assignment)

    times = page.get_by_label(journey._("Suggested reminder times, agreed together (e.g. 08:30, 21:00)"))
    times.fill("7pm")
    page.get_by_role("button", name=journey._("Assign"), exact=True).click()
    page.locator("#proposed_times[aria-invalid=true]").wait_for()
    journey.arrive("errors-assign-7pm")

    assert_field_error(journey, times, "7pm")
    assert times.input_value() == "7pm"  # what was typed stays
    assert count(live_server, Assignment) == before
    if journey.javascript:
        assert page.url.endswith(f"/t/clients/{client.id}")  # a reload shows the client page

    # Fixed, it is assigned and the form is gone with its errors.
    times.fill("19:00")
    page.get_by_role("button", name=journey._("Assign"), exact=True).click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    page.locator("#proposed_times:not([aria-invalid])").wait_for(state="attached")
    journey.arrive("errors-assigned")
    assert count(live_server, Assignment) == before + 1


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_an_empty_session_form_says_what_is_missing(
    open_journey: OpenJourney, live_server: LiveServer, way: tuple[str, str, bool]
) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session)
        client = make_client(session, therapist=therapist, name="Kim")
    journey = open_way(open_journey, way)
    page = journey.start(f"/t/clients/{client.id}", who=therapist)
    page.get_by_role("link", name=journey._("Pre-session brief")).first.click()
    page.wait_for_url("**/brief")
    journey.arrive("errors-brief")
    page.get_by_role("main").get_by_role("link", name=journey._("Sessions"), exact=True).first.click()
    page.wait_for_url("**/sessions")
    journey.arrive("errors-sessions")
    before = count(live_server, Appointment)

    page.get_by_role("button", name=journey._("Schedule"), exact=True).click()
    page.locator("#session-date[aria-invalid=true]").wait_for()
    journey.arrive("errors-session-empty")
    assert_field_error(journey, page.locator("#session-date"), journey._("Pick a date."))
    assert count(live_server, Appointment) == before


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_a_sign_up_with_a_short_password_and_no_name(open_journey: OpenJourney, way: tuple[str, str, bool]) -> None:
    journey = open_way(open_journey, way)
    page = journey.start("/")
    page.get_by_role("link", name=journey._("Create an account")).first.click()
    page.wait_for_url("**/signup")
    journey.arrive("errors-signup")

    page.get_by_label(journey._("Email")).fill("someone@example.org")
    page.get_by_label(journey._("Password (at least 10 characters)")).fill("short")
    page.get_by_role("button", name=journey._("Create account")).click()
    page.locator("#display_name[aria-invalid=true]").wait_for()
    journey.arrive("errors-signup-sent")
    assert_field_error(journey, page.locator("#display_name"))
    password = page.locator("#password")
    assert password.get_attribute("aria-invalid") == "true"
    assert page.locator("#password-error").is_visible()
    assert page.get_by_label(journey._("Email")).input_value() == "someone@example.org"


@pytest.mark.parametrize("way", WAYS, ids=WAY_IDS)
def test_a_pin_typed_twice_differently(open_journey: OpenJourney, way: tuple[str, str, bool]) -> None:
    journey = open_way(open_journey, way)
    person = client_with_records(journey.server, "mood_log")
    page = journey.start("/c", who=person.client)
    page.get_by_role("navigation").locator('a[href="/c/settings"]').click()
    page.wait_for_url("**/c/settings")
    journey.arrive("errors-client-settings")
    page.get_by_role("link", name=journey._("Set an app PIN")).click()
    page.wait_for_url("**/c/pin")
    journey.arrive("errors-pin")

    page.get_by_label(journey._("New PIN (4 to 8 digits)")).fill("2468")
    page.get_by_label(journey._("The same PIN again")).fill("2469")
    page.get_by_role("button", name=journey._("Set PIN")).click()
    page.locator("[aria-invalid=true]").first.wait_for()
    journey.arrive("errors-pin-mismatch")
    assert_field_error(journey, page.locator("[aria-invalid=true]").first)
    with journey.server.session() as session:
        stored = session.get(Client, person.client.id)
        assert stored is not None and stored.pin_hash is None
