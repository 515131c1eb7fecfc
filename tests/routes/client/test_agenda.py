"""The day-before page: pick entries to bring, leave a note, see a due questionnaire; bad input
answered in the person's language with nothing typed lost."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.models import Entry, SessionAgenda, Visibility
from app.models.session_agenda import NOTE_MAX
from app.models.types import utcnow
from app.services import appointments
from tests.factories import library_template, make_assignment, make_client, make_entry, make_therapist, signed_in


def _setup(web, session, *, language: str = "en"):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin Vale")
    assignment = make_assignment(session, client=client)
    assignment.created_at = utcnow() - timedelta(days=10)
    session.add(assignment)
    make_assignment(session, client=client, template=library_template(session, "phq9"))
    [upcoming] = appointments.schedule(
        session, therapist=therapist, client_id=client.id, starts_at=utcnow() + timedelta(days=1), timezone="UTC"
    )
    session.commit()
    shared = make_entry(
        session, client=client, assignment=assignment, answers={"mood": 3}, occurred_at=utcnow() - timedelta(days=2)
    )
    private = make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 1},
        visibility=Visibility.private,
        occurred_at=utcnow() - timedelta(days=1),
    )
    phone = signed_in(web, session, client)
    phone.headers["Accept-Language"] = language
    return phone, therapist, client, upcoming, shared, private


def _form(page: str) -> dict[str, str]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    appointment = re.search(r'name="appointment" value="([^"]+)"', page)
    assert token and appointment
    return {"csrf_token": token.group(1), "appointment": appointment.group(1)}


def test_the_page_offers_shared_entries_and_a_due_questionnaire(web, session) -> None:
    phone, _therapist, _client, _upcoming, shared, private = _setup(web, session)

    page = phone.get("/c/agenda")

    assert page.status_code == 200
    assert "Anything you want to bring?" in page.text
    assert f'value="{shared.id}"' in page.text
    assert str(private.id) not in page.text
    assert "PHQ-9 mood questionnaire" in page.text
    assert "Vary" in page.headers and "HX-Request" in page.headers["Vary"]


def test_today_leads_to_the_page_when_a_session_is_near(web, session) -> None:
    phone, *_rest = _setup(web, session)
    assert 'href="/c/agenda"' in phone.get("/c").text


@pytest.mark.parametrize("language", ["en", "es"])
def test_picks_and_a_note_are_saved(web, session, language: str) -> None:
    phone, _therapist, _client, upcoming, shared, _private = _setup(web, session, language=language)
    page = phone.get("/c/agenda").text

    saved = phone.post(
        "/c/agenda",
        data={**_form(page), "shown": str(shared.id), "pick": str(shared.id), "note": "Start with Tuesday."},
        follow_redirects=False,
    )

    assert saved.status_code == 303 and saved.headers["location"] == "/c/agenda?saved=1"
    session.expire_all()
    assert session.get(Entry, shared.id).visibility == Visibility.discuss  # type: ignore[union-attr]
    [agenda] = session.exec(select(SessionAgenda)).all()
    assert agenda.appointment_id == upcoming.id and agenda.note == "Start with Tuesday." and not agenda.note_private
    again = phone.get("/c/agenda?saved=1").text
    assert "Start with Tuesday." in again
    expected = "Saved. Your therapist will see it before the session." if language == "en" else "Guardado."
    assert expected in again


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Please keep the note under 2000 characters."), ("es", "Por favor, deja la nota en menos de 2000")],
)
def test_a_note_too_long_comes_back_as_written(web, session, language: str, message: str) -> None:
    phone, _therapist, _client, _upcoming, shared, _private = _setup(web, session, language=language)
    page = phone.get("/c/agenda").text
    long_note = "Tuesday " * (NOTE_MAX // 8 + 1)

    answer = phone.post(
        "/c/agenda", data={**_form(page), "shown": str(shared.id), "pick": str(shared.id), "note": long_note}
    )

    assert answer.status_code == 422
    assert message in answer.text
    assert 'aria-invalid="true"' in answer.text and 'role="alert"' in answer.text
    assert long_note.strip() in answer.text  # nothing typed is lost
    session.expire_all()
    assert session.get(Entry, shared.id).visibility == Visibility.shared  # type: ignore[union-attr]
    assert session.exec(select(SessionAgenda)).all() == []


def test_a_private_entry_or_garbage_cannot_be_picked(web, session) -> None:
    phone, _therapist, _client, _upcoming, _shared, private = _setup(web, session)
    form = _form(phone.get("/c/agenda").text)

    sneaked = phone.post("/c/agenda", data={**form, "pick": str(private.id), "note": "Hi"})
    garbage = phone.post("/c/agenda", data={**form, "pick": "not-an-id"})
    bad_session = phone.post("/c/agenda", data={**form, "appointment": "nope"})

    assert sneaked.status_code == 422 and "Hi" in sneaked.text
    assert garbage.status_code == 422 and bad_session.status_code == 422
    session.expire_all()
    assert session.get(Entry, private.id).visibility == Visibility.private  # type: ignore[union-attr]


def test_a_session_moved_meanwhile_keeps_the_note(web, session) -> None:
    phone, therapist, _client, upcoming, _shared, _private = _setup(web, session)
    form = _form(phone.get("/c/agenda").text)
    appointments.cancel(session, therapist=therapist, appointment_id=upcoming.id)
    session.commit()

    answer = phone.post("/c/agenda", data={**form, "note": "About my sister"})

    assert answer.status_code == 410
    assert "About my sister" in answer.text
    assert "This session has already started or was moved." in answer.text


def test_without_a_session_the_page_says_so_kindly(web, session) -> None:
    client = make_client(session, name="Lone")
    phone = signed_in(web, session, client)
    page = phone.get("/c/agenda")
    assert page.status_code == 200 and "No session is booked yet." in page.text


def test_the_api_reads_and_replaces_the_agenda(web, session) -> None:
    phone, _therapist, _client, upcoming, shared, private = _setup(web, session)

    before = phone.get("/api/v1/agenda").json()
    assert before["appointment_id"] == str(upcoming.id)
    assert [item["id"] for item in before["entries"]] == [str(shared.id)]
    assert [item["title"] for item in before["questionnaires_due"]] == ["PHQ-9 mood questionnaire"]

    body = {"appointment_id": str(upcoming.id), "picks": [str(shared.id)], "note": "Mine.", "note_private": True}
    after = phone.put("/api/v1/agenda", json=body)

    assert after.status_code == 200, after.text
    assert after.json()["picks"] == [str(shared.id)] and after.json()["note_private"] is True
    cases = [
        ({"note": "x" * (NOTE_MAX + 1)}, 422),
        ({"picks": [str(private.id)]}, 422),
        ({"picks": ["nope"]}, 422),
        ({"appointment_id": "00000000-0000-0000-0000-000000000000"}, 410),
    ]
    for change, status in cases:
        response = phone.put("/api/v1/agenda", json={**body, **change})
        assert response.status_code == status, (change, response.text)
        assert response.json()["detail"]
    spanish = phone.put("/api/v1/agenda", json={**body, "note": "x" * 3000}, headers={"Accept-Language": "es"})
    assert "Por favor, deja la nota" in spanish.json()["detail"]
    assert phone.get("/api/v1/agenda").json()["note"] == "Mine."


def test_the_brief_shows_the_picks_first_and_a_shared_note(web, session, app) -> None:
    phone, therapist, _client, upcoming, shared, _private = _setup(web, session)
    phone.put("/api/v1/agenda", json={"picks": [str(shared.id)], "note": "Start with Tuesday."})
    from tests.factories import browser

    desk = signed_in(browser(app), session, therapist)
    page = desk.get(f"/t/clients/{upcoming.client_id}/brief").text
    desk.close()

    agenda = page[page.index('id="agenda"') : page.index('id="written-heading"')]
    assert "Start with Tuesday." in agenda and "picked for this session" in agenda


def test_the_therapist_api_brief_has_the_note_and_the_picks_never_a_private_note(web, session, app) -> None:
    from tests.factories import browser

    phone, therapist, _client, upcoming, shared, _private = _setup(web, session)
    phone.put("/api/v1/agenda", json={"picks": [str(shared.id)], "note": "Start with Tuesday."})
    desk = signed_in(browser(app), session, therapist)
    url = f"/api/v1/therapist/clients/{upcoming.client_id}/brief"

    seen = desk.get(url).json()
    assert seen["client_note"] == "Start with Tuesday."
    assert [(item["entry_id"], item["picked"]) for item in seen["agenda"]] == [(str(shared.id), True)]

    phone.put("/api/v1/agenda", json={"picks": [str(shared.id)], "note": "Only mine.", "note_private": True})
    hidden = desk.get(url)
    desk.close()
    assert hidden.json()["client_note"] == "" and "Only mine." not in hidden.text
