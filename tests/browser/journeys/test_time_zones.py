"""A client in New York invited by a therapist in Madrid gets reminders at New York time, and a
phone that travels is asked (once) whether reminders should follow it.

The therapist's laptop is on Madrid time, the client's phone on New York time (each browser
context has its own `timezone_id`, which is what `Intl` and the page's clock report). The
therapist creates the client and the invitation by clicking; the client's phone opens the
invitation link (as scanning the QR code would) and from then on only taps. What was stored
is checked through the database: the client's zone and each reminder's next due instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from app.models import Client, Reminder
from tests.browser.journeys.journey import BROWSER_LOCALE, SIZES, Journey
from tests.browser.live import LiveServer
from tests.browser.steps import wait_until
from tests.browser.test_accessibility import SMALL_TARGETS
from tests.factories import library_template, make_assignment, make_therapist

Open = Callable[..., Journey]


@pytest.fixture
def open_in_zone(browser: Any, live_server: LiveServer) -> Iterator[Open]:
    """`open_in_zone(size, lang, zone, *, cookies=None)`: a journey whose browser is in `zone`."""
    opened: list[Journey] = []

    def open_(size: str, lang: str, zone: str, *, cookies: list[dict[str, Any]] | None = None) -> Journey:
        context = browser.new_context(
            **SIZES[size], base_url=live_server.url, locale=BROWSER_LOCALE[lang], timezone_id=zone
        )
        if cookies:
            context.add_cookies(cookies)
        journey = Journey(server=live_server, context=context, size=size, lang=lang)
        opened.append(journey)
        return journey

    yield open_
    unchecked = [f"{j.size}/{j.lang}: {path}" for j in opened for path in j.unchecked()]
    for journey in opened:
        journey.context.close()
    assert not unchecked, "pages reached without journey.arrive(): " + ", ".join(unchecked)


def _client(server: LiveServer, name: str) -> Client:
    """The newest client of that name: the live server is shared by the whole run."""
    with server.session() as session:
        newest = select(Client).where(Client.display_name == name).order_by(col(Client.created_at).desc())
        found = session.exec(newest).first()
        assert found is not None, name
        return found


def _next_reminder(server: LiveServer, client: Client, zone: str) -> str:
    """The reminder's next due instant, read as a wall-clock time in `zone`."""
    with server.session() as session:
        reminder = session.exec(select(Reminder).where(Reminder.client_id == client.id)).one()
        assert reminder.next_due_at is not None
        return reminder.next_due_at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _zone_checked(page: Any) -> str:
    """Wait until js/zone.js has compared the phone's zone with the client's; returns how it ended."""
    return str(wait_until(page, "(document.querySelector('[data-zone-check]') || {dataset: {}}).dataset.zoneChecked"))


def test_a_client_in_new_york_invited_from_madrid(open_in_zone: Open, live_server: LiveServer) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session, name="Dr. Marta Ruiz")

    # The therapist, in Madrid, creates the client and the invitation.
    desk = open_in_zone("desktop", "en", "Europe/Madrid")
    page = desk.start("/t", who=therapist, name="zones-caseload")
    page.locator("a[href='/t/clients/new']").first.click()
    page.wait_for_url("**/t/clients/new")
    desk.arrive("zones-new-client")
    page.get_by_label(desk._("Name or alias")).fill("Robin")
    page.get_by_role("button", name=desk._("Create invitation")).click()
    page.wait_for_url("**/t/clients/*/invite")
    desk.arrive("zones-invite")
    link = page.locator("#invite-link").input_value()
    client = _client(live_server, "Robin")
    assert client.timezone_set_at is None  # nothing from the therapist's browser

    # The record the therapist proposed reminders for: a mood log at 08:30.
    with live_server.session() as session:
        make_assignment(
            session,
            client=session.get(Client, client.id),
            template=library_template(session, "mood_log"),
            proposed_times=["08:30"],
        )

    # The client, in New York, opens the link on the phone and joins.
    phone = open_in_zone("phone", "es", "America/New_York")
    mobile = phone.start(link.removeprefix(live_server.url), name="zones-join")
    mobile.get_by_role("button", name=phone._("Continue on this phone")).tap()
    mobile.wait_for_url("**/c/welcome")
    phone.arrive("zones-welcome")
    place = "Nueva York"
    assert phone._("Your phone is on %(place)s time, so your reminders are too.", place=place) in mobile.inner_text(
        "main"
    )
    assert mobile.locator("input[type=time]").first.input_value() == "08:30"

    client = _client(live_server, "Robin")
    assert client.timezone == "America/New_York"
    assert _next_reminder(live_server, client, "America/New_York") == "08:30"
    # The same phone opening Between again is not asked anything.
    assert _zone_checked(mobile) == "same"
    assert mobile.locator("[data-zone-check]").is_hidden()
    cookies = phone.context.cookies()

    # A weekend in Chicago: asked once; "Not now" keeps New York time and is not asked again.
    chicago = open_in_zone("phone", "es", "America/Chicago", cookies=cookies)
    away = chicago.start("/c", name="zones-asked")
    assert _zone_checked(away) == "asked"
    question = away.locator(".zone-question")
    assert question.is_visible()
    assert chicago._("Your phone is on %(place)s time", place="Chicago") in question.inner_text()
    chicago.arrive("zones-question")
    assert away.evaluate(SMALL_TARGETS) == []  # every target thumb-sized
    question.get_by_role("button", name=chicago._("Not now")).tap()
    kept = "All right. Your reminders stay on %(place)s time. We will not ask again about this for a few days."
    away.get_by_text(chicago._(kept, place=place)).wait_for()
    chicago.arrive("zones-not-now")
    assert _client(live_server, "Robin").timezone == "America/New_York"
    assert _next_reminder(live_server, client, "America/New_York") == "08:30"

    next_open = chicago.context.new_page()
    next_open.goto("/c")
    assert _zone_checked(next_open) == "quiet"
    assert next_open.locator(".zone-question").count() == 0
    next_open.close()

    # A move to Tokyo: one tap, and the reminders follow.
    tokyo = open_in_zone("phone", "es", "Asia/Tokyo", cookies=cookies)
    moved = tokyo.start("/c/entries", name="zones-tokyo")
    assert _zone_checked(moved) == "asked"
    moved.locator(".zone-question").get_by_role("button", name=tokyo._("Yes, %(place)s time", place="Tokio")).tap()
    moved.get_by_text(tokyo._("Done. Your reminders now follow %(place)s time.", place="Tokio")).wait_for()
    tokyo.arrive("zones-moved")
    assert _client(live_server, "Robin").timezone == "Asia/Tokyo"
    assert _next_reminder(live_server, client, "Asia/Tokyo") == "08:30"
