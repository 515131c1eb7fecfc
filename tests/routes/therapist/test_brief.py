"""The pre-session brief and the client's progress page: content, privacy, authorization."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import col, select

from app.core.days import local_day
from app.core.db import counting_statements
from app.models import Appointment, AuditEvent, Entry, Therapist, Visibility
from app.models.types import utcnow
from tests.factories import browser, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import (
    assign_since,
    daily_entries,
    entry_at,
    future_session,
    past_session,
    phq9,
)

SECRET = "kept-for-myself-7f3a"


def _history(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin", timezone="America/New_York")
    mood = assign_since(session, client, days=40)
    questionnaire = assign_since(session, client, days=40, slug="phq9", frequency="weekly")
    past_session(session, therapist, client, days_ago=10)
    upcoming = future_session(session, therapist, client, days=1)
    daily_entries(session, client, mood, days=[1, 2, 3, 5, 6, 8, 9], answers={"mood": 6})
    daily_entries(
        session, client, mood, days=[4], answers={"mood": 2, "note": "Bring this up"}, visibility=Visibility.discuss
    )
    daily_entries(session, client, mood, days=[7], answers={"mood": 9, "note": SECRET}, visibility=Visibility.private)
    late = (utcnow() - timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    entry_at(session, client, mood, late, logged_after=timedelta(hours=20), answers={"mood": 4})
    daily_entries(session, client, questionnaire, days=[3], answers=phq9(item9=1, rest=2))
    daily_entries(session, client, questionnaire, days=[20], answers=phq9(item9=0, rest=1))
    daily_entries(
        session, client, questionnaire, days=[9], answers=phq9(item9=3, rest=3), visibility=Visibility.private
    )
    return therapist, client, mood, questionnaire, upcoming


def test_the_brief_shows_heatmap_trends_agenda_risk_and_backfill(web, session) -> None:
    therapist, client, _mood, _questionnaire, upcoming = _history(session)
    page = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/brief")
    assert page.status_code == 200
    html = page.text
    assert 'class="heatmap"' in html and "state-done" in html
    assert "<svg" in html and "<title" in html and "<desc" in html
    assert 'class="visually-hidden"' in html  # the data table behind each chart
    assert "style=" not in html  # strict CSP: classes only
    assert "Bring this up" in html  # the agenda
    assert "Please check in about safety" in html
    # The latest shared PHQ-9: eight items at 2 and item 9 at 1 make 17.
    assert "PHQ-9" in html and "<strong>17</strong>" in html and "Moderately severe" in html
    assert "Written up later" in html and "20 h later" in html
    assert f"/t/sessions/{upcoming.id}/notes" in html
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "brief.read")).all()
    assert len(events) == 1 and events[0].client_id == client.id


def test_private_entries_count_but_never_show(web, session) -> None:
    therapist, client, mood, questionnaire, _upcoming = _history(session)
    page = signed_in(web, session, therapist)
    html = page.get(f"/t/clients/{client.id}/brief").text
    api = page.get(f"/api/v1/therapist/clients/{client.id}/brief")
    adherence = page.get(f"/api/v1/therapist/clients/{client.id}/adherence")
    assert api.status_code == 200 and adherence.status_code == 200
    for text in (html, api.text, adherence.text):
        assert SECRET not in text
    body = api.json()
    mood_points = {p["value"] for s in body["trends"] if s["key"] == "mood" for p in s["points"]}
    assert 9.0 not in mood_points and 6.0 in mood_points
    phq_points = [p["value"] for s in body["questionnaires"] if s["key"] == "phq9" for p in s["points"]]
    assert 27.0 not in phq_points  # the private PHQ-9 (all 3s) is not there
    assert all(risk["entry_id"] for risk in body["risks"])
    assert len(body["risks"]) == 1  # the shared item-9 answer, not the private one
    assert [item["answers"]["note"] for item in body["agenda"]] == ["Bring this up"]
    # ...but the private day counts as done.
    records = {r["assignment_id"]: r for r in adherence.json()["records"]}
    days = {d["day"]: d["state"] for d in records[str(mood.id)]["days"]}
    private_day = session.exec(
        select(Entry.occurred_at).where(Entry.visibility == Visibility.private, Entry.assignment_id == mood.id)
    ).one()
    assert days[local_day(private_day, timezone=client.timezone).isoformat()] == "done"
    assert records[str(questionnaire.id)]["done"] >= 2


def test_notes_are_saved_with_htmx_and_stay_the_therapists(app, web, session) -> None:
    therapist, client, *_rest, upcoming = _history(session)
    page = signed_in(web, session, therapist)
    saved = page.post(
        f"/t/sessions/{upcoming.id}/notes",
        data={"notes": "Explore the Tuesday dip"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert "Saved." in saved.text and "<html" not in saved.text
    session.expire_all()
    assert session.get(Appointment, upcoming.id).notes == "Explore the Tuesday dip"  # type: ignore[union-attr]
    plain = page.post(f"/t/sessions/{upcoming.id}/notes", data={"notes": "Second thought"}, follow_redirects=False)
    assert plain.status_code == 303
    assert "Second thought" in page.get(f"/t/clients/{client.id}/brief?session={upcoming.id}").text
    with browser(app) as phone:
        signed_in(phone, session, client)
        progress = phone.get("/c/progress")
        assert progress.status_code == 200
        assert "Second thought" not in progress.text
        assert phone.get(f"/t/clients/{client.id}/brief", follow_redirects=False).status_code in (303, 307)
        assert phone.post(
            f"/t/sessions/{upcoming.id}/notes", data={"notes": "mine"}, follow_redirects=False
        ).status_code in (303, 307)
        assert phone.get(f"/api/v1/therapist/clients/{client.id}/brief").status_code == 401
        assert "Second thought" not in phone.get("/api/v1/sessions/upcoming").text
    session.expire_all()
    assert session.get(Appointment, upcoming.id).notes == "Second thought"  # type: ignore[union-attr]


def test_another_therapist_gets_404_everywhere(app, web, session) -> None:
    _therapist, client, _mood, _questionnaire, upcoming = _history(session)
    intruder = signed_in(web, session, make_therapist(session))
    for path in (
        f"/t/clients/{client.id}/brief",
        f"/t/clients/{client.id}/brief?session={upcoming.id}",
        f"/api/v1/therapist/clients/{client.id}/brief",
        f"/api/v1/therapist/clients/{client.id}/adherence",
    ):
        response = intruder.get(path)
        assert response.status_code == 404, path
        assert "Robin" not in response.text and SECRET not in response.text
    assert intruder.post(f"/t/sessions/{upcoming.id}/notes", data={"notes": "x"}).status_code == 404
    # Their own client with the other therapist's session id: still 404.
    newest = session.exec(select(Therapist).order_by(col(Therapist.created_at).desc())).first()
    assert newest is not None and newest.id != client.therapist_id
    theirs = make_client(session, therapist=newest)
    assert intruder.get(f"/t/clients/{theirs.id}/brief?session={upcoming.id}").status_code == 404
    assert intruder.get(f"/api/v1/therapist/clients/{theirs.id}/brief?session={upcoming.id}").status_code == 404


def test_brief_without_sessions_and_for_a_past_session(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    mood = assign_since(session, client, days=20)
    daily_entries(session, client, mood, days=[1, 2, 3], answers={"mood": 5})
    page = signed_in(web, session, therapist)
    response = page.get(f"/t/clients/{client.id}/brief")
    assert response.status_code == 200
    assert "No session scheduled yet." in response.text
    earlier = past_session(session, therapist, client, days_ago=2.5)
    old = page.get(f"/t/clients/{client.id}/brief?session={earlier.id}")
    assert old.status_code == 200
    body = page.get(f"/api/v1/therapist/clients/{client.id}/brief?appointment={earlier.id}").json()
    assert body["session"]["id"] == str(earlier.id)
    # The parameter's first name still works for clients written against it.
    legacy = page.get(f"/api/v1/therapist/clients/{client.id}/brief?session={earlier.id}").json()
    assert legacy["session"]["id"] == str(earlier.id)
    assert body["as_of"] <= body["session"]["starts_at"]


def test_brief_queries_do_not_grow_with_entries(web, session, engine) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    mood = assign_since(session, client, days=60)
    past_session(session, therapist, client, days_ago=7)
    daily_entries(session, client, mood, days=[1, 2])
    daily_entries(session, client, mood, days=[2], visibility=Visibility.discuss)
    page = signed_in(web, session, therapist)
    page.get(f"/t/clients/{client.id}/brief")
    with counting_statements(engine) as few:
        page.get(f"/t/clients/{client.id}/brief")
    daily_entries(session, client, mood, days=list(range(3, 50)), visibility=Visibility.discuss)
    with counting_statements(engine) as many:
        page.get(f"/t/clients/{client.id}/brief")
    assert len(few) == len(many)


def test_client_progress_includes_private_entries_and_no_shame(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    mood = assign_since(session, client, days=30)
    daily_entries(session, client, mood, days=[1, 2, 4, 5, 6, 20, 21, 22, 23, 24, 25], answers={"mood": 7})
    daily_entries(session, client, mood, days=[3], answers={"mood": 1, "note": SECRET}, visibility=Visibility.private)
    future_session(session, therapist, client, days=2)
    phone = signed_in(web, session, client)
    page = phone.get("/c/progress")
    assert page.status_code == 200
    assert "You logged 6 of the last 6 days." in page.text or "You logged 6 of the last 7 days." in page.text
    assert "Your best run" in page.text
    assert "Next session" in page.text
    assert "<svg" in page.text and ">1</td>" in page.text  # the private mood value is the client's own
    visible = re.sub(r"<[^>]+>", " ", page.text).lower()
    for word in ("failed", "missed", "broken"):
        assert word not in visible
