"""A silent device as people see it: the client, on their reminders page, with the fix in one tap;
the therapist, on the client's page, as a delivery problem in calm words; in English and Spanish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.settings import Settings
from app.models import Client, PushSubscription, Therapist
from app.models.types import utcnow
from app.services import reminders
from app.services.reminders import subscriptions
from tests.dispatch.conftest import subscription_json
from tests.factories import browser, make_assignment, make_client, make_silent, signed_in

DAY = timedelta(days=1)
HX = {"HX-Request": "true"}
ENDPOINT = "https://push.example.org/quiet-phone"


@pytest.fixture
def silent(session: Session, settings: Settings) -> tuple[Client, PushSubscription]:
    """A client whose phone's push service took the last five reminders, one a day, and who
    has not opened Between on it nor tapped one since it was set up nine days ago."""
    client = make_client(session)
    client.email = "client@example.org"
    client.email_fallback = True
    assignment = make_assignment(session, client=client)
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["09:00"])
    )
    now = utcnow()
    phone = subscriptions.add_subscription(session, client=client, data=subscription_json(ENDPOINT), settings=settings)
    make_silent(session, phone=phone, reminder=reminder, at=now)
    session.add(client)
    session.commit()
    return client, phone


def test_the_client_sees_the_silent_phone_and_its_fix(
    web: TestClient, session: Session, silent: tuple[Client, PushSubscription]
) -> None:
    client, _phone = silent
    page = signed_in(web, session, client).get("/c/reminders")
    assert page.status_code == 200
    text = page.text
    assert "Reminders may not be showing on this device." in text
    assert "Its push service took the last 5 reminders, but nothing has shown up as seen there for 3 days" in text
    assert "Until then, your reminders also come by email." in text
    assert "data-push-renew" in text and "Set up this device again" in text
    assert 'form="send-test-notification"' in text and 'id="send-test-notification"' in text
    assert "1 may not be showing reminders" in text
    # Never the client's fault, never red.
    assert "alert" not in text.split("data-silent-device", 1)[1].split("</li>", 1)[0]

    es = web.get("/c/reminders/health", headers={**HX, "Accept-Language": "es"}).text
    assert "Puede que los recordatorios no se estén mostrando en este dispositivo." in es
    assert "Volver a activar en este dispositivo" in es
    assert "Enviar una prueba" in es
    assert "Mientras tanto, tus recordatorios también llegan por correo." in es


def test_opening_between_from_a_reminder_on_the_phone_clears_it(
    web: TestClient, session: Session, silent: tuple[Client, PushSubscription]
) -> None:
    client, phone = silent
    device = signed_in(web, session, client)
    # Opened on its own (the page checks its subscription on every opening): still silent.
    answer = device.post(
        "/api/v1/push/subscriptions", json=subscription_json(ENDPOINT), headers={"Accept": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    session.refresh(phone)
    assert phone.last_open_at is None
    assert "Reminders may not be showing on this device." in device.get("/c/reminders").text
    # Opened from a reminder: the reminder appeared on this phone.
    answer = device.post(
        "/api/v1/push/subscriptions",
        json={**subscription_json(ENDPOINT), "from_reminder": True},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    session.refresh(phone)
    assert phone.last_open_at is not None
    assert "Reminders may not be showing on this device." not in device.get("/c/reminders").text


def test_the_therapist_sees_a_delivery_problem_not_a_failing_client(
    web: TestClient, session: Session, silent: tuple[Client, PushSubscription]
) -> None:
    client, _phone = silent
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    desk = signed_in(browser(web.app), session, therapist)
    text = desk.get(f"/t/clients/{client.id}").text
    assert "Reminders may not be showing on this device." in text
    assert "usually a phone setting that turned notifications off, not something the client did" in text
    assert "Meanwhile their reminders also go out by email, as they chose." in text
    assert "data-push-renew" not in text  # the fix is the client's, on their device

    es = desk.get(f"/t/clients/{client.id}", headers={"Accept-Language": "es"}).text
    assert "no a algo que haya hecho el paciente" in es
    assert "1 puede no estar mostrando recordatorios" in es


def test_the_caseload_mentions_it_without_a_warning(
    web: TestClient, session: Session, silent: tuple[Client, PushSubscription]
) -> None:
    client, _phone = silent
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    desk = signed_in(web, session, therapist)
    text = desk.get("/t").text
    assert '<dd class="delivery-note">Reminders may not be showing on their phone</dd>' in text
    es = desk.get("/t", headers={"Accept-Language": "es"}).text
    assert '<dd class="delivery-note">Puede que los recordatorios no se muestren en su teléfono</dd>' in es
