"""Plans made together, through the pages and the JSON API: two screens kept in step, the
client's confirmation, Today and the brief, and bad input refused with nothing changed."""

from __future__ import annotations

import re

from sqlmodel import Session, func, select

from app.models import Assignment, Plan, PlanChange, PlanState, Reminder
from app.services import reminders
from tests.factories import (
    browser,
    library_template,
    make_assignment,
    make_client,
    make_plan,
    make_therapist,
    signed_in,
)

HTMX = {"HX-Request": "true"}


def _counts(session: Session) -> tuple[int, int, int, int]:
    session.expire_all()
    return tuple(  # type: ignore[return-value]
        int(session.exec(select(func.count()).select_from(model)).one())
        for model in (Plan, PlanChange, Assignment, Reminder)
    )


def _since(html: str) -> int:
    found = re.search(r'id="plan-since" name="since" value="(\d+)"', html)
    assert found, html[:500]
    return int(found.group(1))


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
    version = _since(caught_up.text)
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

    assert _counts(session)[2] == 0  # nothing assigned before the client agrees
    confirmed = phone.post(
        f"/c/plans/{plan.id}/confirm",
        data={
            "times": ["21:30", "", ""],
            "cue": "I get home from work",
            "action": "fill in the mood log on the bus",
            "why": "To see the good days too",
            "since": str(_since(phone_saved.text)),
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
    desk.close()
    phone.close()


def test_the_client_changes_the_plan_later_and_the_therapist_sees_what_changed(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    plan = make_plan(session, client=client, assignment=assignment, times=["18:30"], confirmed=True)
    phone = signed_in(browser(app), session, client)
    page = phone.get(f"/c/plans/{plan.id}").text
    assert "Change my plan" in page
    changed = phone.post(
        f"/c/plans/{plan.id}",
        data={"times": ["19:15", ""], "cue": "I sit down after dinner", "since": str(_since(page))},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and "saved=1" in changed.headers["location"]
    session.expire_all()
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.times == ["19:15"]
    desk = signed_in(browser(app), session, therapist)
    shown = desk.get(f"/t/plans/{plan.id}").text
    assert "the client changed it" in shown and "18:30" in shown and "19:15" in shown
    brief = desk.get(f"/t/clients/{client.id}/brief").text
    assert "The client changed it 1 time since" in brief and "I sit down after dinner" in brief
    # The therapist no longer edits a confirmed plan: said plainly, nothing changes.
    before = _counts(session)
    refused = desk.post(f"/t/plans/{plan.id}", data={"cue": "mine", "since": "1"})
    assert refused.status_code == 409 and "from now on they change it" in refused.text
    assert _counts(session) == before
    phone.close()
    desk.close()


def test_bad_input_gets_a_clear_translated_answer_and_nothing_changes(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(browser(app), session, client)
    phone.cookies.set("between_lang", "es")
    before = _counts(session)
    # Times out of range, on the page and in the API.
    page = phone.post(f"/c/plans/{plan.id}", data={"times": ["25:00"], "since": "1"})
    assert page.status_code == 422 and "no es una hora" in page.text
    fragment = phone.post(f"/c/plans/{plan.id}", data={"times": ["7:99"], "since": "1"}, headers=HTMX)
    assert fragment.status_code == 422 and "Aún sin guardar" in fragment.text
    api = phone.patch(f"/api/v1/plans/{plan.id}", json={"times": ["24:30"]}, headers={"Accept-Language": "es"})
    assert api.status_code == 422 and "times" in api.json()["errors"]
    # A "why" of 10,000 characters.
    long_why = phone.patch(f"/api/v1/plans/{plan.id}", json={"why": "x" * 10_000})
    assert long_why.status_code == 422 and "1000" in long_why.json()["errors"]["why"]
    assert phone.post(f"/c/plans/{plan.id}", data={"why": "x" * 10_000, "since": "1"}).status_code == 422
    assert _counts(session) == before
    session.refresh(plan)
    assert plan.why == "" and plan.times == ["18:30"]

    # Confirmed twice: the second time is refused and changes nothing.
    assert phone.post(f"/api/v1/plans/{plan.id}/confirm", json={}).status_code == 200
    after_first = _counts(session)
    again = phone.post(f"/api/v1/plans/{plan.id}/confirm", json={})
    assert again.status_code == 409 and again.json()["detail"] == "Ya confirmaste este plan."
    page_again = phone.post(f"/c/plans/{plan.id}/confirm", data={"since": "9"})
    assert page_again.status_code == 409
    assert _counts(session) == after_first
    phone.close()


def test_a_plan_for_another_therapists_client_is_not_found(app, session) -> None:
    therapist = make_therapist(session)
    others_client = make_client(session)
    desk = signed_in(browser(app), session, therapist)
    before = _counts(session)
    assert desk.post(f"/t/clients/{others_client.id}/plans").status_code == 404
    api = desk.post(f"/api/v1/therapist/clients/{others_client.id}/plans", json={})
    assert api.status_code == 404
    plan = make_plan(session, client=others_client, template=library_template(session, "mood_log"))
    before = _counts(session)
    for method, path in (
        ("GET", f"/t/plans/{plan.id}"),
        ("POST", f"/t/plans/{plan.id}/discard"),
        ("GET", f"/api/v1/therapist/plans/{plan.id}"),
        ("PATCH", f"/api/v1/therapist/plans/{plan.id}"),
    ):
        answer = desk.request(method, path, json={} if path.startswith("/api") else None)
        assert answer.status_code == 404, path
    assert _counts(session) == before
    desk.close()


def test_the_api_makes_a_plan_from_both_sides_under_agreements(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    desk = signed_in(browser(app), session, therapist)
    phone = signed_in(browser(app), session, client)
    started = desk.post(f"/api/v1/therapist/clients/{client.id}/plans", json={"assignment_id": str(assignment.id)})
    assert started.status_code == 201
    plan_id = started.json()["id"]
    assert desk.post(f"/api/v1/therapist/clients/{client.id}/plans", json={}).json()["id"] == plan_id
    edited = desk.patch(f"/api/v1/therapist/plans/{plan_id}", json={"cue": "after lunch", "action": "rate it"})
    assert edited.status_code == 200 and edited.json()["first_line"] == "When after lunch, I will rate it."
    listed = phone.get("/api/v1/plans").json()
    assert [item["id"] for item in listed] == [plan_id]
    mine = phone.patch(f"/api/v1/plans/{plan_id}", json={"times": ["13:30"], "why": "Afternoons are hard"})
    assert mine.status_code == 200 and mine.json()["times"] == ["13:30"]
    done = phone.post(f"/api/v1/plans/{plan_id}/confirm", json={"version": mine.json()["version"]})
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    history = desk.get(f"/api/v1/therapist/plans/{plan_id}").json()["history"]
    assert [(item["kind"], item["actor"]) for item in history] == [
        ("started", "therapist"),
        ("edited", "therapist"),
        ("edited", "client"),
        ("confirmed", "client"),
    ]
    schema = desk.get("/openapi.json").json()
    tagged = {
        path
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if "agreements" in operation.get("tags", [])
    }
    assert {
        "/api/v1/plans",
        "/api/v1/plans/{plan_id}",
        "/api/v1/plans/{plan_id}/confirm",
        "/api/v1/therapist/clients/{client_id}/plans",
        "/api/v1/therapist/plans/{plan_id}",
        "/api/v1/therapist/plans/{plan_id}/discard",
    } <= tagged
    desk.close()
    phone.close()
