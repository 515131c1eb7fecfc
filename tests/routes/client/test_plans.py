"""A plan made together, on the client's phone: changed later (the therapist sees what changed),
and bad input refused in the client's language with nothing changed."""

from __future__ import annotations

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
from tests.routes.plan_helpers import HTMX, counts, since


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
        data={"times": ["19:15", ""], "cue": "I sit down after dinner", "since": str(since(page))},
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
    before = counts(session)
    refused = desk.post(f"/t/plans/{plan.id}", data={"cue": "mine", "since": "1"})
    assert refused.status_code == 409 and "from now on they change it" in refused.text
    assert counts(session) == before
    phone.close()
    desk.close()


def test_bad_input_gets_a_clear_translated_answer_and_nothing_changes(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(browser(app), session, client)
    phone.cookies.set("between_lang", "es")
    before = counts(session)
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
    assert counts(session) == before
    session.refresh(plan)
    assert plan.why == "" and plan.times == ["18:30"]

    # Confirmed twice: the second time is refused and changes nothing.
    assert phone.post(f"/api/v1/plans/{plan.id}/confirm", json={}).status_code == 200
    after_first = counts(session)
    again = phone.post(f"/api/v1/plans/{plan.id}/confirm", json={})
    assert again.status_code == 409 and again.json()["detail"] == "Ya confirmaste este plan."
    page_again = phone.post(f"/c/plans/{plan.id}/confirm", data={"since": "9"})
    assert page_again.status_code == 409
    assert counts(session) == after_first
    phone.close()
