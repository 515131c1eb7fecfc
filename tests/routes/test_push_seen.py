"""A reminder seen: the service worker's beacon (POST /push/seen) and the page a reminder
opens both say so, and delivery health shows it per device, to the client and the therapist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.settings import Settings
from app.models import Client, OccurrenceStatus, ReminderOccurrence, Therapist
from app.models.types import utcnow
from app.services import reminders
from tests.dispatch.conftest import subscription_json
from tests.factories import browser, make_assignment, make_client, signed_in

JSON = {"Accept": "application/json"}
ENDPOINT = "https://push.example.org/phone-1"


@pytest.fixture
def sent(session: Session, settings: Settings) -> dict[str, Any]:
    """A client with a reminder sent a minute ago to their phone, and its snooze token."""
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["09:00"])
    )
    now = utcnow()
    occurrence = ReminderOccurrence(
        reminder_id=reminder.id,
        client_id=client.id,
        due_at=now - timedelta(minutes=1),
        status=OccurrenceStatus.sent,
        sent_at=now - timedelta(minutes=1),
        attempts=1,
    )
    phone = reminders.add_subscription(session, client=client, data=subscription_json(ENDPOINT), settings=settings)
    phone.sent_count = phone.accepted_count = 1
    session.add_all([occurrence, phone])
    session.commit()
    token = reminders.snooze_token(
        secret=settings.secret_key, client_id=client.id, reminder_id=reminder.id, expires=now + timedelta(hours=12)
    )
    return {
        "client": client,
        "assignment": assignment,
        "reminder": reminder,
        "occurrence": occurrence,
        "phone": phone,
        "token": token,
    }


def _beacon(web: TestClient, token: str, occurrence: Any, endpoint: str = ENDPOINT, **headers: str) -> Any:
    return web.post(
        "/push/seen",
        json={"token": token, "occurrence": str(occurrence), "endpoint": endpoint},
        headers={**JSON, **headers},
    )


def test_the_workers_beacon_needs_only_the_token_and_counts_for_its_device(
    web: TestClient, session: Session, sent: dict[str, Any]
) -> None:
    occurrence, phone = sent["occurrence"], sent["phone"]
    # No cookie, no CSRF token: what a service worker can send.
    answer = _beacon(web, sent["token"], occurrence.id)
    assert answer.status_code == 204, answer.text
    session.refresh(occurrence)
    session.refresh(phone)
    first = occurrence.seen_at
    assert first is not None
    assert (phone.seen_count, phone.last_seen_at) == (1, first)
    # "Not today" after a tap on another of the client's devices: the first sign stays, each
    # device counts its own.
    assert _beacon(web, sent["token"], occurrence.id).status_code == 204
    session.refresh(occurrence)
    session.refresh(phone)
    assert occurrence.seen_at == first and phone.seen_count == 2
    # Without an endpoint (the worker could not read its subscription): still seen.
    assert _beacon(web, sent["token"], occurrence.id, endpoint="").status_code == 204


def test_a_beacon_for_what_is_not_the_clients_own_changes_nothing(
    web: TestClient, session: Session, settings: Settings, sent: dict[str, Any]
) -> None:
    occurrence, phone = sent["occurrence"], sent["phone"]
    stranger = make_client(session)
    stranger_reminder = reminders.save(
        session,
        client=stranger,
        assignment_id=make_assignment(session, client=stranger).id,
        data=reminders.ReminderInput(times=["09:00"]),
    )
    session.commit()
    theirs = reminders.snooze_token(
        secret=settings.secret_key,
        client_id=stranger.id,
        reminder_id=stranger_reminder.id,
        expires=utcnow() + timedelta(hours=1),
    )
    assert _beacon(web, theirs, occurrence.id).status_code == 404  # another client's token
    assert _beacon(web, sent["token"], uuid.uuid4()).status_code == 404  # no such occurrence
    assert _beacon(web, sent["token"][:-2] + "AA", occurrence.id).status_code == 404  # tampered
    bad = _beacon(web, sent["token"], "not-an-id", **{"Accept-Language": "es"})
    assert bad.status_code == 422 and "No se pudo leer este recordatorio." in bad.text
    assert web.post("/push/seen", content=b"[1]", headers=JSON).status_code == 422
    # A valid token, but this browser is signed in as someone else.
    other = signed_in(browser(web.app), session, stranger)
    assert _beacon(other, sent["token"], occurrence.id).status_code == 403
    other.close()
    session.refresh(occurrence)
    session.refresh(phone)
    assert occurrence.seen_at is None and phone.seen_count == 0


def test_opening_the_page_a_reminder_opens_counts_as_seen(
    web: TestClient, session: Session, sent: dict[str, Any]
) -> None:
    client, assignment, occurrence = sent["client"], sent["assignment"], sent["occurrence"]
    phone = signed_in(web, session, client)
    # A mangled or unknown id is ignored: the page opens all the same.
    for junk in ("nonsense", str(uuid.uuid4())):
        assert phone.get(f"/c/record/{assignment.id}?occurrence={junk}").status_code == 200
    session.refresh(occurrence)
    assert occurrence.seen_at is None
    assert phone.get(f"/c/barriers/new?assignment={assignment.id}&occurrence={occurrence.id}").status_code == 200
    session.refresh(occurrence)
    assert occurrence.seen_at is not None
    # Not the device's own sign: the device's count waits for its worker's beacon.
    session.refresh(sent["phone"])
    assert sent["phone"].seen_count == 0


def test_someone_elses_reminder_in_the_link_is_not_marked(
    web: TestClient, session: Session, sent: dict[str, Any]
) -> None:
    stranger = make_client(session)
    assignment = make_assignment(session, client=stranger)
    page = signed_in(web, session, stranger).get(f"/c/record/{assignment.id}?occurrence={sent['occurrence'].id}")
    assert page.status_code == 200
    session.refresh(sent["occurrence"])
    assert sent["occurrence"].seen_at is None


def test_delivery_health_shows_sent_accepted_and_seen_per_device_to_client_and_therapist(
    web: TestClient, session: Session, sent: dict[str, Any]
) -> None:
    client: Client = sent["client"]
    _beacon(web, sent["token"], sent["occurrence"].id)
    phone = signed_in(browser(web.app), session, client)
    mine = phone.get("/c/reminders/health", headers={"HX-Request": "true"}).text
    phone.close()
    assert "1 delivered · " in mine and "1 seen" in mine
    assert "Sent: 1 · accepted by the push service: 1 · seen: 1" in mine
    assert "last seen" in mine
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    desk = signed_in(web, session, therapist)
    theirs = desk.get(f"/t/clients/{client.id}", headers={"Accept-Language": "es"}).text
    assert "1 visto" in theirs
    assert "Enviados: 1 · aceptados por el servicio de notificaciones: 1 · vistos: 1" in theirs
