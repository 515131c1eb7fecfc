"""The client's phone pages and the therapist's pages, end to end through HTML forms."""

from __future__ import annotations

import re
import uuid

from sqlmodel import select

from app.models import Assignment, Entry, Visibility
from tests.factories import (
    browser,
    current_version,
    make_assignment,
    make_client,
    make_entry,
    make_therapist,
    signed_in,
)


def _form_ids(html: str) -> tuple[str, str]:
    entry_id = re.search(r'name="entry_id" value="([^"]+)"', html)
    version_id = re.search(r'name="template_version_id" value="([^"]+)"', html)
    assert entry_id and version_id
    return entry_id.group(1), version_id.group(1)


def test_mood_log_in_three_taps(web, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    phone = signed_in(web, session, client)
    today = phone.get("/c")
    assert f"/c/record/{assignment.id}" in today.text  # tap 1: the task
    form = phone.get(f"/c/record/{assignment.id}")
    assert 'type="radio" name="a.mood" value="7"' in form.text  # tap 2: a number
    entry_id, version_id = _form_ids(form.text)
    saved = phone.post(  # tap 3: save
        f"/c/record/{assignment.id}",
        data={"entry_id": entry_id, "template_version_id": version_id, "a.mood": "7"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    entry = session.exec(select(Entry)).one()
    assert entry.answers == {"mood": 7}
    assert entry.visibility == Visibility.shared
    assert "Done for today" in phone.get("/c").text


def test_submitting_the_same_form_twice_stores_one_entry(web, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    phone = signed_in(web, session, client)
    entry_id, version_id = _form_ids(phone.get(f"/c/record/{assignment.id}").text)
    data = {"entry_id": entry_id, "template_version_id": version_id, "a.mood": "3"}
    phone.post(f"/c/record/{assignment.id}", data=data)
    phone.post(f"/c/record/{assignment.id}", data=data)
    assert len(session.exec(select(Entry)).all()) == 1


def test_invalid_form_shows_messages_and_stores_nothing(web, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    phone = signed_in(web, session, client)
    entry_id, version_id = _form_ids(phone.get(f"/c/record/{assignment.id}").text)
    response = phone.post(
        f"/c/record/{assignment.id}",
        data={"entry_id": entry_id, "template_version_id": version_id, "a.note": "forgot the mood"},
    )
    assert response.status_code == 422
    assert "Please answer this one." in response.text
    assert "forgot the mood" in response.text  # what was typed is kept
    assert session.exec(select(Entry)).all() == []


def test_nothing_to_report_and_private_visibility(web, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    phone = signed_in(web, session, client)
    entry_id, version_id = _form_ids(phone.get(f"/c/record/{assignment.id}").text)
    phone.post(
        f"/c/record/{assignment.id}",
        data={
            "entry_id": entry_id,
            "template_version_id": version_id,
            "nothing_to_report": "1",
            "visibility": "private",
        },
    )
    entry = session.exec(select(Entry)).one()
    assert entry.nothing_to_report is True
    assert entry.visibility == Visibility.private


def test_client_edits_changes_visibility_and_deletes_own_entry(web, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    entry = make_entry(session, client=client, assignment=assignment, answers={"mood": 2, "note": "first"})
    phone = signed_in(web, session, client)
    edit = phone.get(f"/c/entries/{entry.id}")
    assert "first" in edit.text
    _eid, version_id = _form_ids(edit.text)
    phone.post(
        f"/c/entries/{entry.id}",
        data={
            "entry_id": str(entry.id),
            "template_version_id": version_id,
            "a.mood": "8",
            "a.note": "changed",
            "visibility": "discuss",
        },
    )
    session.refresh(entry)
    assert entry.answers == {"mood": 8, "note": "changed"}
    assert entry.visibility == Visibility.discuss
    fragment = phone.post(
        f"/c/entries/{entry.id}/visibility", data={"visibility": "private"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<article")
    session.refresh(entry)
    assert entry.visibility == Visibility.private
    phone.post(f"/c/entries/{entry.id}/delete")
    assert "changed" not in phone.get("/c/entries").text
    session.refresh(entry)
    assert entry.deleted_at is not None and entry.answers == {}


def test_therapist_invites_assigns_and_reads_shared_entries_but_never_private_content(web, session, app) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    created = desk.post("/t/clients", data={"display_name": "Robin", "timezone": "Europe/Madrid"})
    assert created.status_code == 200
    assert "/invite/" in created.text
    code = re.search(r'class="invite-code"[^>]*>([A-Z0-9 ]+)<', created.text)
    assert code
    client_id = re.search(r"/t/clients/([0-9a-f-]{36})", created.text).group(1)  # type: ignore[union-attr]

    from tests.factories import make_template

    template = make_template(session, therapist=therapist)
    response = desk.post(
        f"/t/clients/{client_id}/assignments",
        data={
            "template_id": str(template.id),
            "instructions": "After dinner",
            "frequency": "weekdays",
            "weekdays": ["1", "3", "5"],
            "proposed_times": "21:00",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assignment = session.exec(select(Assignment)).one()
    assert assignment.weekdays == [1, 3, 5]
    assert assignment.proposed_times == ["21:00"]

    phone = browser(app)
    phone.get("/")
    token = phone.cookies["between_csrf"]
    joined = phone.post("/join", data={"code": code.group(1).replace(" ", ""), "csrf_token": token})
    assert joined.status_code == 200
    from app.models import Client

    client = session.get(Client, uuid.UUID(client_id))
    assert client is not None
    make_entry(session, client=client, assignment=assignment, answers={"mood": 6, "note": "shared words"})
    make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 1, "note": "secret words"},
        visibility=Visibility.private,
    )
    make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 4, "note": "talk about this"},
        visibility=Visibility.discuss,
    )
    page = desk.get(f"/t/clients/{client_id}")
    assert "shared words" in page.text
    assert "talk about this" in page.text and "Discuss in session" in page.text
    assert "secret words" not in page.text
    assert "1 / 10" not in page.text
    phone.close()


def test_bad_assignment_input_is_422(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    desk = signed_in(web, session, therapist)
    for data in (
        {"template_id": "nope"},
        {"template_id": str(uuid.uuid4())},
        {
            "template_id": str(current_version(session, make_assignment(session, client=client)).template_id),
            "proposed_times": "25:00",
        },
        {"template_id": str(uuid.uuid4()), "frequency": "hourly"},
    ):
        response = desk.post(f"/t/clients/{client.id}/assignments", data=data)
        assert response.status_code in (404, 422), (data, response.status_code)
    assert len(session.exec(select(Assignment)).all()) == 1


def test_devices_are_listed_and_revocable_by_client_and_therapist(web, session, app) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    phone = signed_in(web, session, client)
    settings_page = phone.get("/c/settings")
    assert "this device" in settings_page.text
    device_id = re.search(r"/c/devices/([0-9a-f-]{36})/revoke", settings_page.text).group(1)  # type: ignore[union-attr]
    desk = signed_in(browser(app), session, therapist)
    assert device_id in desk.get(f"/t/clients/{client.id}").text
    desk.post(f"/t/clients/{client.id}/devices/{device_id}/revoke")
    assert phone.get("/c", follow_redirects=False).status_code == 303
    desk.close()


def test_htmx_fragment_vs_boosted_full_page(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    fragment = desk.get("/t", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Your clients" in fragment.text
    boosted = desk.get("/t", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text
    assert fragment.headers["vary"] == "HX-Request"


def test_unlinking_keeps_the_clients_records_and_hides_them_from_the_therapist(web, session, app) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    make_entry(session, client=client, assignment=assignment, answers={"mood": 5, "note": "still mine"})
    desk = signed_in(web, session, therapist)
    assert desk.post(f"/t/clients/{client.id}/unlink", follow_redirects=False).status_code == 303
    assert desk.get(f"/t/clients/{client.id}").status_code == 404
    phone = signed_in(browser(app), session, client)
    assert "still mine" in phone.get("/c/entries").text
    phone.close()
