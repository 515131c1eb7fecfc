"""What got in the way, walked: a client who missed yesterday's mood log opens Today, taps the
question and taps a reason; from the record form they say today was done but not written down;
the therapist opens the brief and reads the reason with a question to ask. Nothing red, no score."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.core import i18n
from app.models.types import utcnow
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, entry_at, past_session


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _history(server: LiveServer, name: str) -> tuple[Any, Any]:
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        mood = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "mood_log")), 8
        )
        past_session(session, therapist, client, days_ago=7)
        now = utcnow()
        # Written most days; yesterday and the day before were missed.
        for days in (6, 5, 4, 3):
            entry_at(session, client, mood, now - timedelta(days=days, hours=1), answers={"mood": 5})
    return therapist, client


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_client_says_what_got_in_the_way_and_the_therapist_reads_it_as_questions(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    therapist, client = _history(live_server, f"Robin {lang}")
    phone = open_journey("phone", lang)
    _ = phone._
    page = phone.start("/c", who=client, name="barriers-today-prompt")

    # Today asks once, gently, about the most recent missed day.
    prompt = page.locator("[data-barrier-prompt]")
    assert _("%(title)s wasn't written yesterday", title=_("Mood log")) in _words(prompt)
    assert prompt.evaluate("el => getComputedStyle(el).borderColor") != "rgb(255, 0, 0)"
    # One tap answers right here (tests/browser/test_offline_checkins.py); a note needs the page.
    prompt.get_by_role("link", name=_("Add a note, or choose who sees this")).click()
    page.wait_for_url("**/c/barriers/new?**")
    phone.arrive("barriers-checkin")
    reason = page.get_by_role("button", name=_("It was too upsetting to write about"))
    box = reason.bounding_box()
    assert box is not None and box["height"] >= 44
    # Two groups after Callan: the client's side and the task's side.
    legends = page.locator("fieldset.reason-group > legend").all_inner_texts()
    assert [text.strip() for text in legends[:2]] == [_("About me"), _("About the task")]
    # Said by voice instead of in writing: the record form's recorder, by touch at 360 px.
    form = page.locator("form[data-barrier-form]")
    form.locator("details.more-options > summary").tap()
    form.get_by_role("button", name=_("Record a voice note")).tap()
    form.locator("[data-rec-stop]").wait_for(state="visible")
    page.wait_for_timeout(1200)  # a moment of the fake microphone's tone
    form.locator("[data-rec-stop]").tap()
    form.locator("[data-rec-playback]").wait_for(state="visible")
    phone.arrive(None)
    reason.click()  # one tap saves, the voice note with it
    page.wait_for_url("**/c?told=1")
    phone.arrive("barriers-thanks")
    assert _("Thank you for telling us. That helps your therapist help you.") in _words(page.locator("main"))
    assert page.locator("[data-barrier-prompt]").count() == 0  # one question a day

    # From the record form: today was done, only not written down.
    page.locator("a.task", has_text=_("Mood log")).click()
    page.wait_for_url("**/c/record/**")
    phone.arrive("barriers-record-form")
    page.get_by_role("link", name=_("Not today, because…")).click()
    page.wait_for_url("**/c/barriers/new?**")
    phone.arrive(None)
    page.get_by_role("button", name=_("I did it, I just didn't write it down")).click()
    page.wait_for_url("**/c?told=1")
    phone.arrive(None)

    # The therapist's brief: the reason, grouped, with a question to ask with curiosity.
    desk = open_journey("desktop", lang)
    page = desk.start(f"/t/clients/{client.id}/brief", who=therapist, name="barriers-brief")
    section = page.locator("#barriers")
    text = _words(section)
    assert _("What got in the way") in _words(section.locator("h2"))
    assert _("About them") in text
    plural = i18n.translations(lang).ngettext("“%(reason)s”: %(num)s time", "“%(reason)s”: %(num)s times", 1)
    reason_line = plural % {"reason": _("It was too upsetting to write about"), "num": 1}
    assert reason_line in text
    assert _("What would make it safer to write about?") in text
    assert _("Done, but not written down") in text
    assert _("What made writing it down harder than doing it?") in text
    # The voice note of that shared check-in plays here, named for its day.
    assert _("In their words") in text
    assert section.locator("audio[data-checkin-voice][src^='/api/v1/voice-notes/']").count() == 1
    section.scroll_into_view_if_needed()
    desk.arrive("barriers-brief-section")
