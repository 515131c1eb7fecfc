"""My patterns on the client's page, in the API and on the therapist's side: English and Spanish,
the minimum said in words, switched-off sections gone everywhere, bad input a clear 4xx."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from app.models import Client, Therapist, Visibility
from app.models.types import utcnow
from tests.factories import browser, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, entry_at

ES = {"Accept-Language": "es"}


def _moods(session: Session, client: Client, count: int, *, visibility: Visibility = Visibility.shared) -> None:
    """Mornings at 4 and evenings at 7, from three weeks back."""
    mood = assign_since(session, client, days=30, slug="mood_log")
    start = (utcnow() - timedelta(days=21)).replace(hour=0, minute=0, second=0, microsecond=0)
    for n in range(count):
        hour, value = (9, 4) if n % 2 else (20, 7)
        at = start + timedelta(days=n, hours=hour)
        entry_at(session, client, mood, at, answers={"mood": value}, visibility=visibility)


@pytest.fixture
def people(session: Session) -> tuple[Therapist, Client]:
    therapist = make_therapist(session)
    return therapist, make_client(session, therapist=therapist, name="Robin Vale")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_says_what_it_needs_before_seven_entries(app, session, people) -> None:
    _therapist, client = people
    _moods(session, client, 3)
    phone = signed_in(browser(app), session, client)
    page = phone.get("/c/patterns")
    assert page.status_code == 200
    text = _text(page.text)
    assert "After 7 mood entries at different times of day we can show your pattern. You have 3 so far." in text
    assert 'href="/c/patterns"' in page.text and 'aria-current="page"' in page.text
    spanish = _text(phone.get("/c/patterns", headers=ES).text)
    assert "Mis patrones" in spanish
    assert "Después de 7 anotaciones de ánimo a distintas horas del día podremos mostrarte tu patrón." in spanish
    assert "Llevas 3 hasta ahora." in spanish


def test_the_page_speaks_with_a_chart_and_its_table_from_seven(app, session, people) -> None:
    _therapist, client = people
    _moods(session, client, 8)
    phone = signed_in(browser(app), session, client)
    page = phone.get("/c/patterns")
    text = _text(page.text)
    assert (
        "Your mood tended to be highest in the evening (on average 7 of 10) and lowest in the morning (4 of 10)."
    ) in text
    assert "Based on 8 entries." in text and "not a rule" in text
    assert 'role="img"' in page.text and "<table>" in page.text and "Average mood by time of day" in text
    spanish = _text(phone.get("/c/patterns", headers=ES).text)
    assert (
        "Tu ánimo tendió a ser más alto por la noche (de media 7 de 10) y más bajo por la mañana (4 de 10)."
    ) in spanish
    # htmx asks for the page's block alone, and the answer says it varies with that.
    fragment = phone.get("/c/patterns", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "HX-Request" in fragment.headers["vary"]


def test_the_api_returns_the_same_insights(app, session, people) -> None:
    _therapist, client = people
    _moods(session, client, 8)
    phone = signed_in(browser(app), session, client)
    body = phone.get("/api/v1/insights").json()
    [mood_times, mood_context] = body["sections"]
    assert mood_times["section"] == "mood_times" and mood_times["ready"] is True
    assert mood_times["figures"]["entries"] == 8
    assert {group["key"]: group["average_mood"] for group in mood_times["figures"]["times_of_day"]} == {
        "morning": 4.0,
        "evening": 7.0,
    }
    assert mood_context["ready"] is False and (mood_context["have"], mood_context["needs"]) == (0, 10)
    spanish = phone.get("/api/v1/insights", headers=ES).json()
    assert spanish["sections"][0]["title"] == "Ánimo según la hora y el día de la semana"
    spec = app.openapi()["paths"]["/api/v1/insights"]["get"]
    assert spec["tags"] == ["insights"]


def test_switched_off_sections_leave_the_page_and_the_api(app, session, people) -> None:
    therapist, client = people
    _moods(session, client, 8)
    desk = signed_in(browser(app), session, therapist)
    client_page = desk.get(f"/t/clients/{client.id}")
    assert 'name="on" value="mood_times" checked' in client_page.text
    saved = desk.post(f"/t/clients/{client.id}/patterns", data={"on": ["mood_context"]}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?patterns=saved#patterns-heading")
    phone = signed_in(browser(app), session, client)
    page = phone.get("/c/patterns").text
    assert 'id="mood_times"' not in page and 'id="mood_context"' in page
    assert [item["section"] for item in phone.get("/api/v1/insights").json()["sections"]] == ["mood_context"]
    assert 'id="mood_times"' not in desk.get(f"/t/clients/{client.id}/patterns").text
    # Everything off: the page says so kindly, the API lists nothing.
    desk.post(f"/t/clients/{client.id}/patterns", data={}, follow_redirects=False)
    assert phone.get("/api/v1/insights").json()["sections"] == []
    assert "Patterns show here once" in _text(phone.get("/c/patterns").text)


def test_bad_switches_are_a_clear_4xx_and_change_nothing(app, session, people) -> None:
    therapist, client = people
    desk = signed_in(browser(app), session, therapist)
    bad = desk.post(f"/t/clients/{client.id}/patterns", data={"on": ["mood_times", "horoscope"]})
    assert bad.status_code == 422 and "Choose from the listed sections." in bad.text
    spanish = desk.post(f"/t/clients/{client.id}/patterns", data={"on": ["x" * 5000]}, headers=ES)
    assert spanish.status_code == 422 and "Elige entre las secciones de la lista." in spanish.text
    session.refresh(client)
    assert client.patterns_off == []
    other = signed_in(browser(app), session, make_therapist(session))
    assert other.post(f"/t/clients/{client.id}/patterns", data={}).status_code == 404
    assert other.get(f"/t/clients/{client.id}/patterns").status_code == 404
    session.refresh(client)
    assert client.patterns_off == []
    phone = signed_in(browser(app), session, client)
    assert phone.post("/c/patterns", data={}).status_code in (403, 405)
    assert phone.get("/api/v1/insights", params={"section": "mood_times"}).status_code == 200
    assert browser(app).get("/api/v1/insights").status_code == 401


def test_the_therapist_sees_shared_entries_only(app, session, people) -> None:
    therapist, client = people
    _moods(session, client, 8)
    mood = assign_since(session, client, days=30, slug="mood_log")
    start = (utcnow() - timedelta(days=10)).replace(hour=14, minute=0, second=0, microsecond=0)
    for n in range(3):
        answers = {"mood": 0, "activities": ["in_bed"], "note": "#hiddenlow"}
        entry_at(session, client, mood, start + timedelta(days=n), answers=answers, visibility=Visibility.private)
    desk = signed_in(browser(app), session, therapist)
    page = _text(desk.get(f"/t/clients/{client.id}/patterns").text)
    assert "Based on 8 entries." in page and "afternoon" not in page.lower() and "hiddenlow" not in page
    mine = _text(signed_in(browser(app), session, client).get("/c/patterns").text)
    assert "Based on 11 entries." in mine and "lowest in the afternoon" in mine


def test_the_therapist_api_counts_shared_entries_and_respects_the_switches(app, session, people) -> None:
    therapist, client = people
    _moods(session, client, 8)
    _moods(session, client, 4, visibility=Visibility.private)
    desk = signed_in(browser(app), session, therapist)
    url = f"/api/v1/therapist/clients/{client.id}/insights"
    body = desk.get(url).json()
    assert body["sections"][0]["figures"]["entries"] == 8  # the four private ones are left out
    assert (
        signed_in(browser(app), session, client).get("/api/v1/insights").json()["sections"][0]["figures"]["entries"]
        == 12
    )
    desk.post(f"/t/clients/{client.id}/patterns", data={"on": ["mood_context"]}, follow_redirects=False)
    assert [item["section"] for item in desk.get(url).json()["sections"]] == ["mood_context"]
    assert signed_in(browser(app), session, make_therapist(session)).get(url).status_code == 404
    assert app.openapi()["paths"]["/api/v1/therapist/clients/{client_id}/insights"]["get"]["tags"] == ["therapist"]
