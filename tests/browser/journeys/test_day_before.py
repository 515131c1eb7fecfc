"""The day before, walked: a client with a session tomorrow taps "Anything you want to bring?"
on Today, ticks an entry, writes a note and saves; the page the notification opens is the same
one, on a laptop too; the therapist opens the brief and finds the client's picks and note first
in the agenda. 360x780 touch and 1280x800, English and Spanish, axe on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from app.dispatch import nudge
from app.models.types import utcnow
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, entry_at, future_session, past_session

NOTE = {"en": "I'd like to start with Tuesday.", "es": "Me gustaría empezar por el martes."}


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _history(server: LiveServer, name: str) -> tuple[Any, Any, Any, Any]:
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        mood = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "mood_log")), 9
        )
        make_assignment(session, client=client, template=library_template(session, "phq9"))
        past_session(session, therapist, client, days_ago=6)
        future_session(session, therapist, client, days=1)
        now = utcnow()
        hard = entry_at(
            session, client, mood, now - timedelta(days=4), answers={"mood": 2, "note": "The call with my sister"}
        )
        entry_at(session, client, mood, now - timedelta(days=2), answers={"mood": 6, "note": "A walk at lunch"})
        # Already marked when it was written: on the agenda, after what the client picks now.
        marked = entry_at(session, client, mood, now - timedelta(days=3), answers={"mood": 4, "note": "Slept badly"})
        from app.models import Visibility
        from app.services import entries

        entries.set_visibility(session, entry=marked, visibility=Visibility.discuss)
        session.commit()
    return therapist, client, hard, marked


def _later_entry(server: LiveServer, client: Any) -> Any:
    from app.models import Assignment, Visibility

    with server.session() as session:
        statement = select(Assignment).where(Assignment.client_id == client.id).order_by(col(Assignment.created_at))
        mood = session.exec(statement).first()
        assert mood is not None
        return entry_at(
            session,
            client,
            mood,
            utcnow() - timedelta(hours=1),
            answers={"mood": 5, "note": "Something about work"},
            visibility=Visibility.discuss,
        )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_client_picks_what_to_bring_and_the_therapist_sees_it_first(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    therapist, client, hard, marked = _history(live_server, f"Robin {lang}")
    phone = open_journey("phone", lang)
    _ = phone._
    page = phone.start("/c", who=client, name="day-before-today")

    # Today, with the session tomorrow: the way in is one tap.
    page.get_by_role("link", name=_("Anything you want to bring?")).tap()
    page.wait_for_url("**/c/agenda")
    phone.arrive("day-before-page")
    assert _words(page.locator("h1")) == _("Anything you want to bring?")
    assert _("PHQ-9 mood questionnaire") in _words(page.locator("main"))
    pick = page.locator(f'label[for="pick-{hard.id}"]')
    box = pick.bounding_box()
    assert box is not None and box["height"] >= 44
    assert "The call with my sister" in _words(pick)
    pick.tap()
    assert page.locator(f"#pick-{hard.id}").is_checked()
    # Marked when it was written; on second thoughts, not for this session.
    assert page.locator(f"#pick-{marked.id}").is_checked()
    page.locator(f'label[for="pick-{marked.id}"]').tap()
    page.get_by_label(_("A note for the session (optional)")).fill(NOTE[lang])
    page.get_by_role("button", name=_("Save for the session")).tap()
    page.wait_for_url("**/c/agenda?saved=1")
    phone.arrive("day-before-saved")
    assert _("Saved. Your therapist will see it before the session.") in _words(page.locator(".notice[role=status]"))
    assert page.locator(f"#pick-{hard.id}").is_checked()
    assert page.get_by_label(_("A note for the session (optional)")).input_value() == NOTE[lang]

    # The notification opens the same page; on a laptop it reads the same.
    laptop = open_journey("desktop", lang)
    page = laptop.start(nudge.PAGE, who=client, name="day-before-page-wide")
    assert page.locator(f"#pick-{hard.id}").is_checked()
    assert not page.locator(f"#pick-{marked.id}").is_checked()
    # Later that evening, from another phone, one more entry marked to discuss.
    later = _later_entry(live_server, client)

    # The therapist's brief: what the client picked and wrote, first in the agenda.
    desk = open_journey("desktop", lang)
    page = desk.start(f"/t/clients/{client.id}/brief", who=therapist, name="day-before-brief")
    agenda = page.locator("#agenda")
    assert _("What %(name)s wants to bring", name=f"Robin {lang}") in _words(agenda)
    assert NOTE[lang] in _words(agenda.locator("[data-client-note]"))
    items = agenda.locator("ol.agenda > li")
    assert items.count() == 2
    assert _("picked for this session") in _words(items.nth(0))
    assert items.nth(0).locator("a").get_attribute("href") == f"#entry-{hard.id}"
    assert items.nth(1).locator("a").get_attribute("href") == f"#entry-{later.id}"
    assert _("picked for this session") not in _words(items.nth(1))
    # The agenda comes before everything the client wrote.
    headings = page.locator("h2").all_inner_texts()
    assert headings.index(_("Agenda: marked “discuss in session”")) < headings.index(
        _("What %(name)s wrote", name=f"Robin {lang}")
    )
    agenda.scroll_into_view_if_needed()
    desk.arrive("day-before-brief-agenda")
