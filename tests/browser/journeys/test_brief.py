"""The brief, walked: before a session the therapist clicks "Brief" on the caseload and reads what
the client wrote since the last session: the agenda on top, then each record type's entries,
"discuss in session" first, a thought record whole on one card; a private entry never shows.
From there, the client page's entries by record type and a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.core import i18n
from app.models import Visibility
from app.models.types import utcnow
from tests.browser.journeys.journey import ALL_FOUR, BROWSER_LOCALE, SIZES, Journey
from tests.browser.live import LiveServer
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, entry_at, past_session
from tests.services.adherence.quality_fixture import thought_records

SECRET = "nadie más debe leer esto"
THOUGHT = {
    "situation": "La reunión se alargó y mi jefa frunció el ceño",
    "automatic_thought": "Me van a despedir",
    "emotions": {"anxious": 80, "sad": 40},
    "evidence_against": "Ayer me felicitó por el informe",
    "balanced_thought": "Un gesto no es un veredicto",
    "emotions_after": {"anxious": 30},
}


@pytest.fixture
def desk_on_utc(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Journey]:
    size, lang = str(request.param).split("-")
    context = browser.new_context(
        **SIZES[size], base_url=live_server.url, locale=BROWSER_LOCALE[lang], timezone_id="UTC"
    )
    journey = Journey(server=live_server, context=context, size=size, lang=lang)
    yield journey
    unchecked = journey.unchecked()
    context.close()
    assert not unchecked, "pages reached without journey.arrive(): " + ", ".join(unchecked)


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _history(server: LiveServer, name: str) -> tuple[Any, Any]:
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        thoughts = backdate(
            session,
            make_assignment(session, client=client, template=library_template(session, "thought_record")),
            20,
        )
        mood = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "mood_log")), 20
        )
        past_session(session, therapist, client, days_ago=6)
        now = utcnow()
        for days in (5, 4, 3, 2, 1):
            entry_at(session, client, mood, now - timedelta(days=days, hours=2), answers={"mood": 4 + days % 3})
        entry_at(session, client, thoughts, now - timedelta(days=4), answers={**THOUGHT, "situation": "En el metro"})
        entry_at(session, client, thoughts, now - timedelta(days=2), answers=THOUGHT, visibility=Visibility.discuss)
        entry_at(
            session,
            client,
            thoughts,
            now - timedelta(days=1),
            answers={**THOUGHT, "situation": SECRET},
            visibility=Visibility.private,
        )
        # Many older mood entries: the client page shows them a page at a time.
        for days in range(7, 40):
            entry_at(session, client, mood, now - timedelta(days=days), answers={"mood": 5})
    return therapist, client


@pytest.mark.parametrize("desk_on_utc", ["desktop-en", "phone-es"], indirect=True)
def test_the_therapist_reads_what_the_client_wrote_before_the_session(
    desk_on_utc: Journey, live_server: LiveServer
) -> None:
    desk = desk_on_utc
    therapist, client = _history(live_server, f"Alex {desk.size}")
    page = desk.start("/t", who=therapist, name="brief-caseload")
    card = page.locator("li.caseload-row", has=page.get_by_role("link", name=client.display_name, exact=True))
    card.get_by_role("link", name=desk._("Brief"), exact=True).click()
    page.wait_for_url(f"**/t/clients/{client.id}/brief")
    desk.arrive("brief-reading")
    main = page.locator("main")
    assert SECRET not in main.inner_text()

    # The agenda on top: the one entry marked "discuss in session", a link to its card.
    headings = [" ".join(text.split()) for text in page.locator("main h2").all_inner_texts()]
    agenda_at = headings.index(desk._("Agenda: marked “discuss in session”"))
    wrote_at = headings.index(desk._("What %(name)s wrote", name=client.display_name))
    assert agenda_at < wrote_at < headings.index(desk._("Records since the last session"))
    agenda = page.locator("ol.agenda > li")
    assert agenda.count() == 1
    assert desk._("Thought record") in _words(agenda)

    # The thought records first (one to discuss), the discuss one first, read whole on one card.
    groups = page.locator("section.entry-group")
    assert desk._("Thought record") in _words(groups.nth(0).locator("h3").first)
    assert desk._("Mood log") in _words(groups.nth(1).locator("h3").first)
    cards = groups.nth(0).locator("article.entry")
    assert cards.count() == 2
    first = cards.nth(0)
    assert desk._("Discuss in session") in _words(first.locator(".badge"))
    card = _words(first)
    for words in (
        THOUGHT["situation"],
        THOUGHT["automatic_thought"],
        f"{desk._('Anxious')} 80, {desk._('Sad')} 40",
        THOUGHT["evidence_against"],
        THOUGHT["balanced_thought"],
        f"{desk._('Anxious')} 30",
        desk._("How strong are those feelings now?"),
    ):
        assert words in card
    assert "En el metro" in _words(cards.nth(1))
    # The agenda's link takes the reader to that card.
    agenda.get_by_role("link").click()
    desk.arrive(None)
    assert first.evaluate("el => el.getBoundingClientRect().top < window.innerHeight")

    # "Habit strength" says what it means.
    help_box = page.locator("details.habit-help")
    help_box.locator("summary").click()
    assert "one missed day never wipes it out" in _words(help_box) or "un día sin hacerlo nunca la borra" in _words(
        help_box
    )

    # On to the client page: all the entries, by record type and a page at a time.
    page.get_by_role("link", name=desk._("Client page")).click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("brief-client-entries")
    section = page.locator("#entries")
    assert section.locator("article.entry").count() == 25
    assert SECRET not in section.inner_text()
    section.get_by_role("link", name=desk._("Older entries")).click()
    page.wait_for_url(f"**/t/clients/{client.id}?page=2*")
    desk.arrive("brief-client-entries-2")
    assert page.locator("#entries article.entry").count() == 15  # 38 moods and 2 shared thought records
    page.locator("#entries").get_by_label(desk._("Record type"), exact=True).select_option(
        label=desk._("Thought record")
    )
    page.locator("#entries").get_by_role("button", name=desk._("Show entries")).click()
    page.wait_for_url("**type=*")
    desk.arrive("brief-client-thoughts")
    shown = page.locator("#entries article.entry")
    assert shown.count() == 2
    assert all(desk._("Thought record") in _words(shown.nth(n).locator("h3")) for n in range(2))


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_the_brief_says_how_entries_were_written(journey: Journey, live_server: LiveServer) -> None:
    """Per record: how many entries were written within the hour, and how many have the key
    parts filled in (the hand count of quality_fixture.py), in words; what both mean on demand."""
    with live_server.session() as session:
        therapist, client, _record = thought_records(session, name=f"Quinn {journey.size} {journey.lang}")
    page = journey.start(f"/t/clients/{client.id}/brief", who=therapist)
    catalog = i18n.translations(journey.lang)
    record = page.locator("article.record-brief", has=page.get_by_role("heading", name=journey._("Thought record")))
    quality = record.locator("dl[data-quality]")
    moment = catalog.ngettext(
        "%(done)s of %(num)s written within the hour", "%(done)s of %(num)s written within the hour", 6
    ) % {"done": 4, "num": 6}
    complete = catalog.ngettext(
        "%(done)s of %(num)s with the key parts filled in", "%(done)s of %(num)s with the key parts filled in", 6
    ) % {"done": 3, "num": 6}
    assert _words(quality.locator("[data-in-the-moment]")) == f"{journey._('In the moment')} {moment}"
    assert _words(quality.locator("[data-complete]")) == f"{journey._('Complete')} {complete}"
    # Never red: the figures read in the text's own colour.
    colours = quality.evaluate(
        "el => [getComputedStyle(el.querySelector('dd')).color, getComputedStyle(el.closest('article')).color]"
    )
    assert colours[0] == colours[1]
    help_box = page.locator("details.quality-help")
    help_box.locator("summary").click()
    assert journey._(
        "Complete: entries with the key parts filled in, the ones where the work happens. For a thought record, "
        "the more balanced thought and the feelings rated again; for an ABC record, how it felt and what was done; "
        "for an exposure, the distress at the end."
    ) in _words(help_box)
    journey.arrive("brief-quality")
