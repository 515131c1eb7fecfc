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


def test_the_clients_download_holds_their_plans_with_every_change(app, session) -> None:
    import io
    import json
    import zipfile

    client = make_client(session)
    assignment = make_assignment(session, client=client)
    plan = make_plan(session, client=client, assignment=assignment, why="For the evenings", confirmed=True)
    phone = signed_in(browser(app), session, client)
    archive = zipfile.ZipFile(io.BytesIO(phone.get("/c/export.zip").content))
    [kept] = json.loads(archive.read("plans.json"))
    assert kept["id"] == str(plan.id) and kept["why"] == "For the evenings" and kept["state"] == "confirmed"
    assert [change["kind"] for change in kept["history"]] == ["started", "edited", "confirmed"]
    assert "plans.json" in archive.read("README.txt").decode()
    phone.close()


def test_today_invites_only_into_a_draft_of_the_clients_own_therapist(app, session) -> None:
    from app.services import clients

    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    make_plan(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(browser(app), session, client)
    assert "Your therapist is making a plan with you" in phone.get("/c").text
    clients.unlink(session, therapist=therapist, client_id=client.id)
    session.commit()
    assert "Your therapist is making a plan with you" not in phone.get("/c").text
    phone.close()


def test_confirming_what_the_phone_had_not_shown_yet_keeps_the_phones_words_and_shows_the_plan_again(
    app, session
) -> None:
    from app.models import PlanState, PlanTherapistEdit
    from app.services import plans

    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(browser(app), session, client)
    seen = since(phone.get(f"/c/plans/{plan.id}").text)
    # Meanwhile the therapist rewrites the cue.
    plans.edit_as_therapist(
        session, therapist=therapist, plan_id=plan.id, data=PlanTherapistEdit(cue="I close the laptop", since=seen)
    )
    session.commit()
    answer = phone.post(
        f"/c/plans/{plan.id}/confirm",
        data={"times": ["18:30"], "why": "My own reason", "since": str(seen)},
        follow_redirects=False,
    )
    assert answer.status_code == 409 and "I close the laptop" in answer.text and "My own reason" in answer.text
    session.refresh(plan)
    assert plan.state is PlanState.draft and plan.why == "My own reason" and plan.cue == "I close the laptop"
    # The therapist's screen, still saving into a plan confirmed meanwhile, reloads into it.
    plans.confirm(session, client=client, plan_id=plan.id)
    session.commit()
    desk = signed_in(browser(app), session, therapist)
    late = desk.post(f"/t/plans/{plan.id}", data={"why": "x", "since": "1"}, headers=HTMX)
    assert late.headers.get("hx-refresh") == "true"
    session.refresh(plan)
    assert plan.why == "My own reason"
    phone.close()
    desk.close()


def test_the_drafts_last_save_arriving_after_confirm_leaves_the_confirmed_page_alone(app, session) -> None:
    # One tap on "Confirm" also leaves the field being typed in: the draft's save-as-you-go and
    # the confirm go out together, and the save may reach the server second.
    client = make_client(session, therapist=make_therapist(session))
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(browser(app), session, client)
    seen = since(phone.get(f"/c/plans/{plan.id}").text)
    words = {"times": ["18:30"], "why": "For my evenings", "since": str(seen)}
    confirmed = phone.post(f"/c/plans/{plan.id}/confirm", data=words, follow_redirects=False)
    assert "confirmed=1" in confirmed.headers["location"]
    before = counts(session)

    late = phone.post(f"/c/plans/{plan.id}", data=words, headers=HTMX, follow_redirects=False)

    assert late.status_code == 204 and "hx-redirect" not in late.headers
    assert counts(session) == before  # nothing saved again, no change in the plan's history
    # The confirmed plan's own form (a page, not a fragment) still saves and says so.
    changed = phone.post(f"/c/plans/{plan.id}", data={**words, "why": "For me"}, follow_redirects=False)
    assert changed.status_code == 303 and "saved=1" in changed.headers["location"]
