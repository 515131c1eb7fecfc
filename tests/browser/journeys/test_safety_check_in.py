"""A safety check-in, walked: on a phone the client fills in their DBT diary card and answers
"Did you self-harm today?" with yes. The therapist's caseload marks them "Risk answer: check in";
the brief opens with "Please check in about safety" and names the card and its day, at 1280 and
on a 360 px phone. A private card that says the same never shows. English and Spanish."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from babel.dates import format_datetime
from sqlmodel import col, select

from app.models import Client, Entry, Therapist, Visibility
from app.models.types import utcnow
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.browser.steps import wait_outbox_empty
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, entry_at, past_session

PRIVATE_DIARY = {"urge_self_harm": 5, "urge_use": 0, "self_harmed": True}


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _history(server: LiveServer, name: str) -> tuple[Therapist, Client]:
    """A DBT diary card set ten days ago, a session six days ago, and one card kept private
    since, which says the client self-harmed: it must never raise anything."""
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        diary = backdate(
            session, make_assignment(session, client=client, template=library_template(session, "dbt_diary_card")), 10
        )
        past_session(session, therapist, client, days_ago=6)
        entry_at(
            session, client, diary, utcnow() - timedelta(days=3), answers=PRIVATE_DIARY, visibility=Visibility.private
        )
    return therapist, client


def _pick(page: Any, legend: str, choice: str) -> None:
    """Tap one answer of the question whose legend is `legend`, checking it is thumb-sized."""
    question = page.locator("fieldset", has=page.locator("legend", has_text=legend))
    label = question.locator("label", has_text=re.compile(rf"^\s*{re.escape(choice)}\s*$"))
    box = label.bounding_box()
    assert box is not None and box["height"] >= 44
    label.click()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_self_harm_answer_reaches_the_therapist_as_a_safety_check_in(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    therapist, client = _history(live_server, f"Sol {lang}")

    # The client, on a phone: tonight's diary card.
    phone = open_journey("phone", lang)
    _ = phone._
    page = phone.start("/c", who=client, name="safety-today")
    page.get_by_role("link", name=re.compile(re.escape(_("DBT diary card")))).first.click()
    page.wait_for_url("**/c/record/**")
    phone.arrive("safety-diary-form")
    _pick(page, _("Urge to self-harm"), "4")
    _pick(page, _("Urge to use alcohol or drugs"), "1")
    _pick(page, _("Did you self-harm today?"), _("Yes"))
    page.locator("form[data-record-form] button.big").click()
    page.wait_for_url("**/c?saved=1")
    phone.arrive("safety-saved")
    wait_outbox_empty(page)
    with live_server.session() as session:
        shared = session.exec(
            select(Entry.occurred_at).where(Entry.client_id == client.id, col(Entry.visibility) == Visibility.shared)
        ).one()
    day = format_datetime(shared, "EEE d MMM", tzinfo="UTC", locale=lang)
    said = _("“%(record)s” on %(when)s: they wrote that they hurt themselves.", record=_("DBT diary card"), when=day)

    # The therapist, at 1280: the caseload marks the client; the brief opens with the check-in.
    desk = open_journey("desktop", lang)
    page = desk.start("/t", who=therapist, name="safety-caseload")
    card = page.locator("li.caseload-row", has=page.get_by_role("link", name=client.display_name, exact=True))
    assert _("Risk answer: check in") in _words(card)
    card.get_by_role("link", name=_("Brief"), exact=True).click()
    page.wait_for_url(f"**/t/clients/{client.id}/brief")
    desk.arrive("safety-brief")
    banner = page.locator("section.risk-banner")
    assert _words(banner.locator("h2")) == _("Please check in about safety")
    # One sentence: the shared card. The private one, three days ago, raises nothing.
    assert [" ".join(text.split()) for text in banner.locator("li").all_inner_texts()] == [said]
    headings = [" ".join(text.split()) for text in page.locator("main h2").all_inner_texts()]
    assert headings.index(_("Please check in about safety")) < headings.index(_("Records since the last session"))

    # The same brief on a 360 px phone: the check-in readable, nothing sideways.
    small = open_journey("phone", lang)
    page = small.start(f"/t/clients/{client.id}/brief", who=therapist, name="safety-brief-phone")
    banner = page.locator("section.risk-banner")
    assert [" ".join(text.split()) for text in banner.locator("li").all_inner_texts()] == [said]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
