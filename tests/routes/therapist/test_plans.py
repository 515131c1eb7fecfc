"""Plan together on the therapist's screen, with the client's phone joining: two screens kept
in step, the client's confirmation, Today and the brief; another therapist's client not found."""

from __future__ import annotations

import re

from sqlmodel import select

from app.models import Assignment, Plan, PlanState
from app.services import reminders
from tests.factories import browser, library_template, make_client, make_plan, make_therapist, signed_in
from tests.routes.plan_helpers import HTMX, counts, since


def test_a_plan_made_on_two_screens_and_confirmed_on_the_phone(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    desk = signed_in(browser(app), session, therapist)
    phone = signed_in(browser(app), session, client)

    assert "Plan together" in desk.get(f"/t/clients/{client.id}").text
    opened = desk.post(f"/t/clients/{client.id}/plans", follow_redirects=False)
    assert opened.status_code == 303
    page = desk.get(opened.headers["location"])
    plan = session.exec(select(Plan)).one()
    # The code on the therapist's screen is the plan's address on the phone, drawn inline.
    assert "<svg" in page.text and page.headers["cache-control"] == "no-store"
    assert 'hx-trigger="every 2s"' in page.text
    # Today on the phone invites the client in.
    today = phone.get("/c").text
    assert "Your therapist is making a plan with you" in today and f"/c/plans/{plan.id}" in today

    # The therapist chooses the record and writes the cue; the phone, on version 1, catches up.
    mood = library_template(session, "mood_log")
    saved = desk.post(
        f"/t/plans/{plan.id}",
        data={"record": f"template:{mood.id}", "cue": "I get home from work", "since": "1"},
        headers=HTMX,
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    caught_up = phone.get(f"/c/plans/{plan.id}/sync?since=1&state=draft", headers=HTMX)
    assert caught_up.status_code == 200
    assert 'id="plan-field-cue" hx-swap-oob="true"' in caught_up.text and "I get home from work" in caught_up.text
    assert "Your therapist changed" in caught_up.text and "Mood log" in caught_up.text
    version = since(caught_up.text)
    # Nothing new since: no swap at all.
    assert phone.get(f"/c/plans/{plan.id}/sync?since={version}&state=draft", headers=HTMX).status_code == 204

    # The phone writes its words and times; the therapist's screen gets them, not its own echo.
    phone_saved = phone.post(
        f"/c/plans/{plan.id}",
        data={"times": ["21:30", "", ""], "action": "fill in the mood log on the bus", "since": str(version)},
        headers=HTMX,
    )
    assert phone_saved.status_code == 200
    desk_view = desk.get(f"/t/plans/{plan.id}/sync?since={version}&state=draft", headers=HTMX).text
    assert "21:30" in desk_view and "The client changed" in desk_view
    assert 'id="plan-field-cue"' not in desk_view

    assert counts(session)[2] == 0  # nothing assigned before the client agrees
    confirmed = phone.post(
        f"/c/plans/{plan.id}/confirm",
        data={
            "times": ["21:30", "", ""],
            "cue": "I get home from work",
            "action": "fill in the mood log on the bus",
            "why": "To see the good days too",
            "since": str(since(phone_saved.text)),
        },
        follow_redirects=False,
    )
    assert confirmed.status_code == 303 and "confirmed=1" in confirmed.headers["location"]
    session.expire_all()
    plan = session.exec(select(Plan)).one()
    assert plan.state is PlanState.confirmed
    assignment = session.exec(select(Assignment)).one()
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.times == ["21:30"]
    # The therapist's screen, still polling the draft, reloads into the confirmed plan.
    assert desk.get(f"/t/plans/{plan.id}/sync?since=1&state=draft", headers=HTMX).headers["hx-refresh"] == "true"
    shown = desk.get(f"/t/plans/{plan.id}").text
    assert "the client confirmed it" in shown and "When I get home from work, I will fill in the mood log" in shown

    # Today: the plan's first line with the record, the reason behind a <details>.
    today = phone.get("/c").text
    assert "When I get home from work, I will fill in the mood log on the bus." in today
    assert re.search(r"<details>\s*<summary>Why this matters to me</summary>\s*<p>To see the good days too</p>", today)
    assert "Your therapist is making a plan with you" not in today
    # The brief shows the agreement, and that it is too soon to tell.
    brief = desk.get(f"/t/clients/{client.id}/brief").text
    assert 'id="agreement"' in brief and "too soon to tell" in brief
    # The therapist API's brief says the same.
    (agreement,) = desk.get(f"/api/v1/therapist/clients/{client.id}/brief").json()["agreements"]
    assert agreement["plan_id"] == str(plan.id) and agreement["outcome"] == "too_soon"
    assert agreement["first_line"] == "When I get home from work, I will fill in the mood log on the bus."
    assert agreement["why"] == "To see the good days too" and agreement["changes_since_confirmed"] == 0
    desk.close()
    phone.close()


def test_a_plan_for_another_therapists_client_is_not_found(app, session) -> None:
    therapist = make_therapist(session)
    others_client = make_client(session)
    desk = signed_in(browser(app), session, therapist)
    before = counts(session)
    assert desk.post(f"/t/clients/{others_client.id}/plans").status_code == 404
    api = desk.post(f"/api/v1/therapist/clients/{others_client.id}/plans", json={})
    assert api.status_code == 404
    plan = make_plan(session, client=others_client, template=library_template(session, "mood_log"))
    before = counts(session)
    for method, path in (
        ("GET", f"/t/plans/{plan.id}"),
        ("POST", f"/t/plans/{plan.id}/discard"),
        ("GET", f"/api/v1/therapist/plans/{plan.id}"),
        ("PATCH", f"/api/v1/therapist/plans/{plan.id}"),
    ):
        answer = desk.request(method, path, json={} if path.startswith("/api") else None)
        assert answer.status_code == 404, path
    assert counts(session) == before
    desk.close()
