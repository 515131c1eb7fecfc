"""What comes before and after, walked: on a phone the client fills in an ABC record, ticking where
they were, who was there and what was going on; the therapist opens the brief from the caseload,
reads how often each came up since the last session and over 28 days, opens one count to see the
entries behind it and follows an older one to the client page. The same section on a 360 px phone.
A private record never counts. English and Spanish, axe clean at every step."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from app.core import i18n
from app.models import Client, Therapist, Visibility
from app.models.types import utcnow
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.browser.steps import wait_outbox_empty
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, entry_at, past_session

SECRET = "solo para mí, 4b7e"


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _abc(event: str, place: str, people: list[str], situation: list[str]) -> dict[str, Any]:
    return {
        "activating_event": event,
        "beliefs": "No le importo a nadie",
        "place": place,
        "people": people,
        "situation": situation,
    }


def _history(server: LiveServer, name: str) -> tuple[Therapist, Client]:
    """Since the last session (6 days ago): an ABC record and an urge log at home. Before it: one
    at home and one at work. A private one somewhere else, which must never count."""
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        abc = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "abc_record")), 30
        )
        urges = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "urge_log")), 30
        )
        past_session(session, therapist, client, days_ago=6)
        now = utcnow()
        entry_at(
            session,
            client,
            abc,
            now - timedelta(days=2),
            answers=_abc("Cena cancelada", "home", ["alone"], ["let_down"]),
        )
        entry_at(
            session,
            client,
            urges,
            now - timedelta(days=3),
            answers={
                "urge_type": "smoking",
                "intensity": 7,
                "trigger": "Un día largo",
                "place": "home",
                "acted_on": True,
            },
        )
        entry_at(
            session,
            client,
            abc,
            now - timedelta(days=12),
            answers=_abc("Domingo tranquilo", "home", ["alone"], ["bored"]),
        )
        entry_at(
            session,
            client,
            abc,
            now - timedelta(days=20),
            answers=_abc("Reunión tensa", "work", ["work"], ["pressure"]),
        )
        entry_at(
            session,
            client,
            abc,
            now - timedelta(days=1),
            answers=_abc(SECRET, "someone_elses", ["strangers"], ["conflict"]),
            visibility=Visibility.private,
        )
    return therapist, client


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_therapist_sees_what_comes_before_and_after_and_opens_the_entries_behind_a_count(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    therapist, client = _history(live_server, f"Robin FA {lang}")
    catalog = i18n.translations(lang)

    def times(singular: str, plural: str, num: int) -> str:
        return str(catalog.ngettext(singular, plural, num) % {"num": num})

    # The client, on a phone: an ABC record, a few taps for where, who and what was going on.
    phone = open_journey("phone", lang)
    _ = phone._
    page = phone.start("/c", who=client, name="functional-analysis-today")
    page.get_by_role("link", name=re.compile(re.escape(_("ABC record")))).first.click()
    page.wait_for_url("**/c/record/**")
    phone.arrive("functional-analysis-abc-form")
    page.locator("#f-activating_event").fill("Mensaje sin respuesta")
    for choice in (_("My home"), _("No one, I was by myself"), _("Feeling let down, left out or criticised")):
        label = page.locator("label.choice", has_text=choice)
        box = label.bounding_box()
        assert box is not None and box["height"] >= 44  # a thumb's tap
        label.click()
    page.locator("#f-beliefs").fill("Nadie me escribe")
    page.locator("form[data-record-form] button.big").click()
    page.wait_for_url("**/c?saved=1")
    phone.arrive("functional-analysis-saved")
    wait_outbox_empty(page)

    # The therapist, at 1280: from the caseload to the brief.
    desk = open_journey("desktop", lang)
    page = desk.start("/t", who=therapist, name="functional-analysis-caseload")
    card = page.locator("li.caseload-row", has=page.get_by_role("link", name=client.display_name, exact=True))
    card.get_by_role("link", name=_("Brief"), exact=True).click()
    page.wait_for_url(f"**/t/clients/{client.id}/brief")
    desk.arrive(None)
    section = page.locator("#functional-analysis")
    section.scroll_into_view_if_needed()
    desk.arrive("functional-analysis-brief")
    assert _words(section.locator("h2")) == _("What comes before and after")
    assert SECRET not in _words(page.locator("main"))
    assert section.locator('[data-value="someone_elses"], [data-value="strangers"]').count() == 0
    # Home: today's, two days ago and the urge log since the last session; one more in 28 days.
    home = section.locator('li[data-part="place"][data-value="home"]')
    words = _words(home)
    assert _("My home") in words
    assert times("%(num)s since the last session", "%(num)s since the last session", 3) in words
    assert times("%(num)s in 28 days", "%(num)s in 28 days", 4) in words
    # The most frequent first: home before work.
    places = section.locator('li[data-part="place"]')
    assert [places.nth(i).get_attribute("data-value") for i in range(places.count())] == ["home", "work"]

    # A count opens the entries behind it, newest first, each with the client's own words.
    home.locator("summary").click()
    entries = home.locator(".fa-entries > li")
    entries.first.wait_for(state="visible")
    desk.arrive("functional-analysis-opened")
    assert entries.count() == 4
    assert "Mensaje sin respuesta" in _words(entries.nth(0))
    assert "Domingo tranquilo" in _words(entries.nth(3))
    # An older entry (before the last session) opens the client page at its day and record type.
    entries.nth(3).get_by_role("link").click()
    page.wait_for_url(f"**/t/clients/{client.id}?type=*")
    desk.arrive("functional-analysis-client-page")
    shown = page.locator("#entries article.entry")
    assert shown.count() == 1 and "Domingo tranquilo" in _words(shown)

    # The same section on a 360 px phone: readable, nothing sideways, the counts still open.
    small = open_journey("phone", lang)
    page = small.start(f"/t/clients/{client.id}/brief", who=therapist, name=None)
    section = page.locator("#functional-analysis")
    when = section.locator('li[data-part="time_of_day"]').first
    when.locator("summary").click()
    when.locator(".fa-entries > li").first.wait_for(state="visible")
    when.scroll_into_view_if_needed()
    small.arrive("functional-analysis-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    summary = when.locator("summary").bounding_box()
    assert summary is not None and summary["height"] >= 44
