"""My patterns, walked: a client with a month of records opens Between on Today and taps to My
patterns; each section leads with a plain sentence, says how sure it is, and draws a small chart
with a table behind it; a section without enough data says how many entries it needs. The
therapist reads the same from shared entries only, and switches a section off for the client.
At 360×780 by touch and at 1280×800, in English and Spanish, axe clean on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.core import i18n
from app.models import Client, Therapist, Visibility
from app.models.types import utcnow
from app.services import patterns
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import ALL_FOUR, Journey
from tests.browser.live import LiveServer
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, entry_at

THOUGHT = {
    "situation": "Meeting",
    "automatic_thought": "They think I'm useless",
    "emotions": {"anxious": 70},
    "emotions_after": {"anxious": 40},
    "thinking_traps": ["mind_reading"],
}


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _month(server: LiveServer) -> tuple[Therapist, Client]:
    """Four weeks of mood logs (evenings higher than mornings), thought records, a sleep diary
    and an urge log; an exposure log assigned but not yet written."""
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name="Robin", timezone="UTC")
        mood = assign_since(session, client, days=30, slug="mood_log")
        thoughts = assign_since(session, client, days=30, slug="thought_record")
        sleep = assign_since(session, client, days=30, slug="sleep_diary")
        urges = assign_since(session, client, days=30, slug="urge_log")
        assign_since(session, client, days=30, slug="exposure_log")
        start = (utcnow() - timedelta(days=28)).replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(28):
            at = start + timedelta(days=day)
            low = day % 3 == 0
            entry_at(
                session,
                client,
                mood,
                at + timedelta(hours=8),
                answers={"mood": 3 if low else 5, "activities": ["work"] if low else ["chores"]},
            )
            entry_at(
                session,
                client,
                mood,
                at + timedelta(hours=20),
                answers={"mood": 7, "activities": ["people"], "note": "Dinner #family"},
            )
            entry_at(
                session,
                client,
                sleep,
                at + timedelta(hours=7),
                answers={"bedtime": "23:00", "wake_time": "07:00", "quality": 6, "time_to_fall_asleep": 30},
            )
            if day % 4 == 0:
                answers = {**THOUGHT, "belief_before": 80, "belief_after": 40 + day}
                entry_at(session, client, thoughts, at + timedelta(hours=13), answers=answers)
            if day % 5 == 0:
                answers = {"urge_type": "smoking", "intensity": 6, "acted_on": day % 10 == 0}
                entry_at(session, client, urges, at + timedelta(hours=21), answers=answers)
        # A private low the therapist's view never counts.
        entry_at(
            session,
            client,
            mood,
            start + timedelta(days=2, hours=14),
            answers={"mood": 0},
            visibility=Visibility.private,
        )
    return therapist, client


def _based_on(lang: str, count: int) -> str:
    return i18n.translations(lang).ngettext(
        "Based on %(num)s entry. This is what your entries show so far, not a rule: it can change as you write more.",
        "Based on %(num)s entries. This is what your entries show so far, not a rule: it can change as you write more.",
        count,
    ) % {"num": count}


def _tap(journey: Journey, locator: Any) -> None:
    if journey.size == "phone":
        locator.tap()
    else:
        locator.click()


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_a_client_taps_to_my_patterns_and_reads_them(journey: Journey) -> None:
    _therapist, client = _month(journey.server)
    _ = journey._
    page = journey.start("/c", who=client, name="patterns-today")
    _tap(journey, page.get_by_role("navigation", name=_("Main")).get_by_role("link", name=_("My patterns")))
    page.wait_for_url("**/c/patterns")
    journey.arrive("patterns-page")
    assert _words(page.locator("h1")) == _("My patterns")

    # Sentences first, each with how sure it can be, then a chart with its table.
    times = page.locator("#mood_times")
    assert _("Mood by time of day and weekday") in _words(times.locator("h2"))
    first = times.locator("p").first
    assert first.get_attribute("class") == "pattern-sentence"
    assert _("in the evening") in _words(first) and _("in the morning") in _words(first)
    assert _based_on(journey.lang, 57) in _words(times)  # the client's own view counts the private one
    chart = times.locator("svg[role=img]").first
    assert chart.get_attribute("aria-labelledby")
    assert times.locator("table").count() >= 1
    for section in ("mood_context", "beliefs", "sleep", "urges"):
        card = page.locator(f"#{section}")
        assert card.locator(".pattern-sentence").count() >= 1, section
        assert card.locator("svg[role=img]").count() == 1, section
    assert _("Dinner") not in _words(page.locator("main"))  # a note is never quoted, only its #tag counted
    # Not enough yet: it says what it needs, kindly, and draws nothing.
    exposures = page.locator("#exposures")
    waiting = _(
        "After %(num)s exposures with your distress at its highest and at the end, we can show your fear curves.", num=3
    )
    assert waiting in _words(exposures)
    assert exposures.locator("svg").count() == 0
    # The charts fit the screen: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    page.locator("#sleep").scroll_into_view_if_needed()
    journey.arrive(None)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_therapist_reads_shared_patterns_and_switches_one_off(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    therapist, client = _month(live_server)
    desk = open_journey("desktop", lang)
    _ = desk._
    page = desk.start(f"/t/clients/{client.id}", who=therapist, name="patterns-switches")
    switches = page.locator("section", has=page.locator("#patterns-heading"))
    switches.get_by_role("link", name=_("See the client's patterns")).click()
    page.wait_for_url("**/patterns")
    desk.arrive("patterns-therapist")
    # 56 shared mood entries; the private one is left out.
    assert _based_on(lang, 56) in _words(page.locator("#mood_times"))
    page.get_by_role("link", name=_("Choose which sections the client sees")).click()
    page.wait_for_url(f"**/t/clients/{client.id}#patterns-heading")
    desk.arrive(None)
    switches = page.locator("section", has=page.locator("#patterns-heading"))
    switches.get_by_label(_(patterns.SECTION_TITLES[patterns.Section.urges])).uncheck()
    switches.get_by_role("button", name=_("Save sections")).click()
    page.wait_for_url(f"**/t/clients/{client.id}?patterns=saved#patterns-heading")
    desk.arrive(None)
    assert _("Saved. The client's page shows the sections ticked here.") in _words(switches)
    assert not switches.get_by_label(_(patterns.SECTION_TITLES[patterns.Section.urges])).is_checked()

    phone = open_journey("phone", lang)
    mine = phone.start("/c/patterns", who=client, name="patterns-switched-off")
    assert mine.locator("#urges").count() == 0 and mine.locator("#mood_times").count() == 1


@pytest.mark.parametrize("journey", ["phone-en", "desktop-es"], indirect=True)
def test_a_thought_record_rerates_only_the_feelings_picked(journey: Journey) -> None:
    with journey.server.session() as session:
        client = make_client(session, therapist=make_therapist(session), timezone="UTC")
        thoughts = assign_since(session, client, days=3, slug="thought_record")
    _ = journey._
    page = journey.start(f"/c/record/{thoughts.id}", who=client, name="patterns-thought-form")
    rerate = page.locator("[data-rerates]")
    assert rerate.locator(".emotion:visible").count() == 0
    assert page.locator("[data-rerate-none]").is_visible()
    first = page.locator(".field-emotion").first
    _tap(journey, first.get_by_label(_("Anxious"), exact=True))
    _tap(journey, first.get_by_label(_("Sad"), exact=True))
    shown = rerate.locator(".emotion:visible")
    assert shown.count() == 2
    assert [item.get_attribute("data-emotion") for item in shown.all()] == ["sad", "anxious"]
    assert not page.locator("[data-rerate-none]").is_visible()
    _tap(journey, first.get_by_label(_("Sad"), exact=True))
    assert [item.get_attribute("data-emotion") for item in rerate.locator(".emotion:visible").all()] == ["anxious"]
    # The belief ratings and thinking traps are part of the form.
    assert page.get_by_label(_("How much did you believe it, from 0 to 100 %?")).count() == 1
    assert page.get_by_role("group", name=_("Any thinking traps you notice in the thought?")).count() == 1
    journey.arrive(None)
