"""The client's reminder settings, their devices' push subscriptions, snoozing from a
notification and the test notification, through the HTTP routes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.settings import Environment, Settings
from app.models import AssignmentCreate, Client, PushSubscription, Reminder, Therapist
from app.models.types import utcnow
from app.services import assignments, clients, reminders
from tests.dispatch.conftest import subscription_json
from tests.factories import browser, make_assignment, make_client, make_template, make_therapist, signed_in
from tests.peers import PushPeer


def _form(assignment_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """What the settings page posts for one record, with the client-wide fields."""
    prefix = f"r-{assignment_id}-"
    data: dict[str, Any] = {
        "timezone": "Europe/Madrid",
        "day_boundary": "00:00",
        "email": "",
        prefix + "shown": "1",
        prefix + "times": ["08:30", "21:00", ""],
        prefix + "weekdays": ["1", "2", "3", "4", "5"],
        prefix + "quiet_start": "",
        prefix + "quiet_end": "",
        prefix + "random_count": "0",
        prefix + "random_start": "",
        prefix + "random_end": "",
        prefix + "random_min_gap_minutes": "30",
    }
    for key, value in overrides.items():
        data[
            key
            if key in ("timezone", "day_boundary", "email", "email_fallback", "lock_screen_detail")
            else prefix + key
        ] = value
    return data


def _reminder(session: Session, assignment_id: uuid.UUID) -> Reminder | None:
    session.expire_all()
    return reminders.for_assignment(session, assignment_id=assignment_id)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test notification goes to the npm push peer, which listens on loopback: the push
    endpoint rules refuse that unless this test setting says otherwise."""
    return settings.model_copy(update={"push_allow_loopback": True})


@pytest.fixture
def person(session: Session) -> tuple[Client, Any]:
    client = make_client(session)
    return client, make_assignment(session, client=client)


# --- the settings page -------------------------------------------------------------------------


def test_settings_page_shows_each_record_and_the_push_button(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    page = signed_in(web, session, client).get("/c/reminders")
    assert page.status_code == 200
    assert f'name="r-{assignment.id}-times"' in page.text
    assert "Turn on reminders on this phone" in page.text
    assert 'data-public-key="B' in page.text  # an uncompressed P-256 point starts with 0x04
    assert "<script>" not in page.text and "style=" not in page.text
    # Linked from the navigation and from Today.
    assert 'href="/c/reminders"' in web.get("/c").text


def test_saving_times_on_weekdays_stores_them_and_shows_the_next_local_times(
    web: TestClient, session: Session, person
) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    phone = signed_in(web, session, client)
    saved = phone.post("/c/reminders", data=_form(assignment.id, lock_screen_detail="1"), follow_redirects=False)
    assert saved.status_code == 303
    reminder = _reminder(session, assignment.id)
    assert reminder is not None
    assert reminder.times == ["08:30", "21:00"]
    assert reminder.weekdays == [1, 2, 3, 4, 5]
    assert reminder.next_due_at is not None
    session.refresh(client)
    assert client.timezone == "Europe/Madrid"
    assert client.lock_screen_detail is True
    local = reminder.next_due_at.astimezone(ZoneInfo("Europe/Madrid"))
    assert local.strftime("%H:%M") in ("08:30", "21:00") and local.isoweekday() <= 5
    page = phone.get("/c/reminders")
    assert "Next: " in page.text
    assert local.strftime("%H:%M") in page.text.split("Next: ", 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"times": ["25:00"]}, "times", "is not a time of day"),
        ({"weekdays": []}, "weekdays", "Choose at least one day."),
        (
            {"random_count": "3", "random_start": "20:00", "random_end": "09:00"},
            "random_end",
            "The window must end after it starts.",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Unknown time zone."),
        ({"day_boundary": "09:00"}, "day_boundary", "at the latest at 06:00"),
        ({"email_fallback": "1"}, "email", "Add your email address"),
    ],
)
def test_bad_input_is_422_next_to_the_field_and_nothing_is_stored(
    web: TestClient, session: Session, person, overrides: dict[str, Any], field: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    phone = signed_in(web, session, client)
    answer = phone.post("/c/reminders", data=_form(assignment.id, **overrides))
    assert answer.status_code == 422
    assert message in answer.text
    element = field if field in ("timezone", "day_boundary", "email") else f"r-{assignment.id}-{field}"
    # The message sits next to the field, tied to it for screen readers.
    assert f'id="{element}-error"' in answer.text
    assert f'{element}-error"' in answer.text.split(f'id="{element}-error"')[0]
    assert _reminder(session, assignment.id) is None
    session.refresh(client)
    assert client.timezone == "UTC" and client.email_fallback is False


def test_a_mistake_in_one_record_keeps_the_other_records_as_they_were(web: TestClient, session: Session) -> None:
    client = make_client(session)
    first = make_assignment(session, client=client, proposed_times=["09:00"])
    second = make_assignment(session, client=client)
    data = {**_form(first.id), **_form(second.id, times=["8.30"])}
    answer = signed_in(web, session, client).post("/c/reminders", data=data)
    assert answer.status_code == 422
    stored = _reminder(session, first.id)
    assert stored is not None and stored.times == ["09:00"]  # still the therapist's proposal
    assert _reminder(session, second.id) is None
    # The page shows what was typed, not what is stored.
    assert 'value="8.30"' in answer.text


def test_proposed_times_prefill_and_the_client_has_the_final_say(web: TestClient, session: Session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client, proposed_times=["07:15", "19:45"])
    phone = signed_in(web, session, client)
    page = phone.get("/c/reminders")
    assert 'value="07:15"' in page.text and 'value="19:45"' in page.text
    assert "Suggested together with your therapist: 07:15, 19:45" in page.text
    phone.post("/c/reminders", data=_form(assignment.id, times=["10:00"]))
    reminder = _reminder(session, assignment.id)
    assert reminder is not None and reminder.times == ["10:00"]


def test_random_prompts_quiet_hours_and_day_boundary_are_stored(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    data = _form(
        assignment.id,
        day_boundary="03:00",
        quiet_start="22:00",
        quiet_end="07:00",
        random_count="3",
        random_start="10:00",
        random_end="18:00",
        random_min_gap_minutes="60",
    )
    assert signed_in(web, session, client).post("/c/reminders", data=data, follow_redirects=False).status_code == 303
    reminder = _reminder(session, assignment.id)
    assert reminder is not None
    assert (reminder.quiet_start, reminder.quiet_end) == (time(22, 0), time(7, 0))
    assert (reminder.random_count, reminder.random_start, reminder.random_end) == (3, time(10, 0), time(18, 0))
    assert reminder.random_min_gap_minutes == 60
    session.refresh(client)
    assert client.day_boundary == time(3, 0)


def test_email_fallback_needs_and_keeps_the_address(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    phone = signed_in(web, session, client)
    bad = phone.post("/c/reminders", data=_form(assignment.id, email="not-an-address", email_fallback="1"))
    assert bad.status_code == 422
    phone.post("/c/reminders", data=_form(assignment.id, email="me@example.org", email_fallback="1"))
    session.refresh(client)
    assert client.email == "me@example.org" and client.email_fallback is True


def test_pause_everything_and_resume(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    phone = signed_in(web, session, client)
    phone.post("/c/reminders", data=_form(assignment.id))
    assert phone.post("/c/reminders/pause", data={"paused": "1"}, follow_redirects=False).status_code == 303
    reminder = _reminder(session, assignment.id)
    assert reminder is not None and reminder.next_due_at is None
    assert "All reminders are paused" in phone.get("/c/reminders").text
    phone.post("/c/reminders/pause", data={"paused": "0"})
    reminder = _reminder(session, assignment.id)
    assert reminder is not None and reminder.next_due_at is not None


def test_forms_need_the_csrf_token(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    phone = signed_in(web, session, client)
    del phone.headers["X-CSRF-Token"]
    assert phone.post("/c/reminders", data=_form(assignment.id)).status_code == 403
    assert phone.post("/c/reminders/pause", data={"paused": "1"}).status_code == 403
    assert _reminder(session, assignment.id) is None


# --- wiring in the services --------------------------------------------------------------------


def test_assigning_with_proposed_times_creates_the_clients_reminder(session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    template = make_template(session, therapist=therapist)
    assignment = assignments.assign(
        session,
        therapist=therapist,
        client=client,
        data=AssignmentCreate(template_id=template.id, proposed_times=["21:00", "08:30"], weekdays=[1, 3, 5]),
    )
    session.commit()
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None
    assert reminder.times == ["08:30", "21:00"] and reminder.weekdays == [1, 3, 5]
    assert reminder.next_due_at is not None
    # Without proposed times, nothing is imposed on the client.
    plain = make_assignment(session, client=client)
    assert reminders.for_assignment(session, assignment_id=plain.id) is None


def test_moving_time_zone_reschedules_every_reminder(session: Session) -> None:
    client = make_client(session, timezone="Europe/London")
    assignment = make_assignment(session, client=client)
    now = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["09:00"]), now=now
    )
    session.commit()
    assert reminder.next_due_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    clients.update_preferences(session, client=client, timezone="America/New_York", now=now)
    session.commit()
    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 EDT


# --- push subscriptions ------------------------------------------------------------------------


def test_subscriptions_api_adds_lists_and_removes_own_devices(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    phone = signed_in(web, session, client)
    added = phone.post(
        "/api/v1/push/subscriptions",
        json=subscription_json("https://push.example.org/send/abc"),
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36"},
    )
    assert added.status_code == 201, added.text
    device = added.json()
    assert device["device"] == "Chrome / Android"
    listed = phone.get("/api/v1/push/subscriptions").json()
    assert [item["id"] for item in listed] == [device["id"]]
    assert "Set up on 1 device" in phone.get("/c/reminders").text

    other = signed_in(browser(web.app), session, make_client(session))
    assert other.get("/api/v1/push/subscriptions").json() == []
    assert other.delete(f"/api/v1/push/subscriptions/{device['id']}").status_code == 404
    assert other.post(f"/c/reminders/devices/{device['id']}/remove").status_code == 404
    other.close()
    assert session.get(PushSubscription, uuid.UUID(device["id"])) is not None

    assert phone.delete(f"/api/v1/push/subscriptions/{device['id']}").status_code == 204
    session.expire_all()
    assert session.exec(select(PushSubscription)).all() == []


def test_removing_a_device_from_the_page(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    phone = signed_in(web, session, client)
    device = phone.post("/api/v1/push/subscriptions", json=subscription_json("https://push.example.org/x")).json()
    removed = phone.post(
        f"/c/reminders/devices/{device['id']}/remove", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert removed.status_code == 200
    assert "data-delivery-health" in removed.text and "<html" not in removed.text
    session.expire_all()
    assert session.exec(select(PushSubscription)).all() == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"endpoint": "https://push.example.org/x"}),
        json.dumps({"endpoint": "https://push.example.org/x", "keys": {"p256dh": "abc", "auth": "def"}}),
        json.dumps({"endpoint": 5, "keys": {"p256dh": "a", "auth": "b"}}),
    ],
)
def test_malformed_subscriptions_are_422_and_not_stored(web: TestClient, session: Session, person, body: str) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    answer = signed_in(web, session, client).post(
        "/api/v1/push/subscriptions", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert "detail" in answer.json()
    assert session.exec(select(PushSubscription)).all() == []


def test_plain_http_push_endpoints_are_refused_and_loopback_only_with_the_test_setting(
    web: TestClient, session: Session, person, settings: Settings, engine
) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    phone = signed_in(web, session, client)
    refused = phone.post("/api/v1/push/subscriptions", json=subscription_json("http://push.example.org/x"))
    assert refused.status_code == 422
    assert "secure (https)" in refused.json()["detail"]
    # This module's settings allow loopback (the push peer listens there) ...
    assert phone.post("/api/v1/push/subscriptions", json=subscription_json("http://127.0.0.1:9/x")).status_code == 201

    from app.main import create_app

    # ... which nothing else does: not the default settings of any environment.
    for environment in (Environment.test, Environment.development):
        strict = settings.model_copy(update={"environment": environment, "push_allow_loopback": False})
        with signed_in(
            TestClient(create_app(strict, engine=engine), base_url="http://testserver"), session, client
        ) as live:
            answer = live.post("/api/v1/push/subscriptions", json=subscription_json("http://127.0.0.1:9/y"))
            assert answer.status_code == 422
    assert len(session.exec(select(PushSubscription)).all()) == 1


def test_public_key_is_the_one_on_the_page(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    key = web.get("/push/public-key").json()["publicKey"]
    assert f'data-public-key="{key}"' in signed_in(web, session, client).get("/c/reminders").text


# --- snoozing from a notification ---------------------------------------------------------------


def _token(settings: Settings, client_id: uuid.UUID, reminder_id: uuid.UUID, *, hours: int = 1) -> str:
    return reminders.snooze_token(
        secret=settings.secret_key,
        client_id=client_id,
        reminder_id=reminder_id,
        expires=utcnow() + timedelta(hours=hours),
    )


def _saved_reminder(session: Session, client: Client, assignment: Any) -> Reminder:
    # Half a day from now in the client's zone: no scheduled time falls inside a snooze.
    far = (utcnow().astimezone(ZoneInfo(client.timezone)) + timedelta(hours=12)).strftime("%H:%M")
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=[far])
    )
    session.commit()
    return reminder


def test_snooze_from_the_service_worker_needs_only_the_token(
    web: TestClient, session: Session, person, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    reminder = _saved_reminder(session, client, assignment)
    # No cookie, no CSRF token: what a service worker can send.
    answer = web.post(
        "/push/snooze",
        json={"token": _token(settings, client.id, reminder.id), "minutes": 30},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    session.refresh(reminder)
    assert reminder.snoozed_until is not None
    assert timedelta(minutes=29) < reminder.snoozed_until - utcnow() <= timedelta(minutes=30)
    assert reminder.next_due_at == reminder.snoozed_until


def test_snooze_from_the_record_page_form(web: TestClient, session: Session, person, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    reminder = _saved_reminder(session, client, assignment)
    token = _token(settings, client.id, reminder.id)
    phone = signed_in(web, session, client)
    page = phone.get(f"/c/record/{assignment.id}?snooze={token}")
    assert "Remind me in 15 min" in page.text and "Remind me in 60 min" in page.text
    answer = phone.post("/push/snooze", data={"token": token, "minutes": "60"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/c?snoozed=60"
    assert "remind you again in 60 minutes" in phone.get("/c?snoozed=60").text


def test_snooze_for_someone_elses_reminder_is_refused(
    web: TestClient, session: Session, person, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    client, assignment = person
    reminder = _saved_reminder(session, client, assignment)
    stranger = make_client(session)
    json_headers = {"Accept": "application/json"}
    # A token naming another client for this reminder: 404, as if it did not exist.
    forged = web.post(
        "/push/snooze", json={"token": _token(settings, stranger.id, reminder.id), "minutes": 15}, headers=json_headers
    )
    assert forged.status_code == 404
    # A valid token, but the browser is signed in as someone else: 403.
    other = signed_in(browser(web.app), session, stranger)
    assert (
        other.post(
            "/push/snooze",
            json={"token": _token(settings, client.id, reminder.id), "minutes": 15},
            headers=json_headers,
        ).status_code
        == 403
    )
    other.close()
    # Tampered, signed with another secret, expired, or a snooze length we do not offer.
    token = _token(settings, client.id, reminder.id)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    foreign = reminders.snooze_token(
        secret="another-secret-" + "y" * 32,
        client_id=client.id,
        reminder_id=reminder.id,
        expires=utcnow() + timedelta(hours=1),
    )
    expired = _token(settings, client.id, reminder.id, hours=-1)
    for bad, status in ((tampered, 404), (foreign, 404), (expired, 404), ("", 404)):
        assert web.post("/push/snooze", json={"token": bad, "minutes": 15}, headers=json_headers).status_code == status
    assert web.post("/push/snooze", json={"token": token, "minutes": 45}, headers=json_headers).status_code == 422
    session.refresh(reminder)
    assert reminder.snoozed_until is None


def test_subscription_change_moves_the_device_to_the_new_endpoint(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    phone = signed_in(web, session, client)
    phone.post("/api/v1/push/subscriptions", json=subscription_json("https://push.example.org/old"))
    fresh = subscription_json("https://push.example.org/new")
    anonymous = browser(web.app)
    unknown = anonymous.post(
        "/push/subscription-change", json={"old_endpoint": "https://push.example.org/nope", "subscription": fresh}
    )
    assert unknown.status_code == 404
    moved = anonymous.post(
        "/push/subscription-change", json={"old_endpoint": "https://push.example.org/old", "subscription": fresh}
    )
    assert moved.status_code == 201
    anonymous.close()
    session.expire_all()
    [stored] = session.exec(select(PushSubscription)).all()
    assert stored.endpoint == "https://push.example.org/new" and stored.client_id == client.id


# --- delivery health and the test notification --------------------------------------------------


def test_test_notification_reaches_every_device_at_the_push_peer(
    web: TestClient, session: Session, person, push_peer: PushPeer
) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    phone = signed_in(web, session, client)
    key = phone.get("/push/public-key").json()["publicKey"]
    hashes = []
    for _device in range(2):
        peer_subscription = push_peer.subscribe(key)
        hashes.append(peer_subscription["clientHash"])
        added = phone.post(
            "/api/v1/push/subscriptions",
            json={"endpoint": peer_subscription["endpoint"], "keys": peer_subscription["keys"]},
        )
        assert added.status_code == 201, added.text

    answer = phone.post("/c/reminders/test", headers={"HX-Request": "true"})

    assert answer.status_code == 200
    assert "Sent to 2 devices" in answer.text
    for client_hash in hashes:
        [message] = push_peer.messages(client_hash)
        notification = json.loads(message)["notification"]
        assert notification["title"] == "Between"
        assert notification["body"] == "Notifications work on this device."
    health = reminders.delivery_health(session, client=client)
    assert health.last_delivered_at is not None
    # The health card on the page says so too.
    assert "None yet" not in phone.get("/c/reminders/health", headers={"HX-Request": "true"}).text


def test_test_notification_without_a_device_says_what_to_do(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    answer = signed_in(web, session, client).post("/c/reminders/test")
    assert answer.status_code == 200
    assert "No device has reminders turned on yet" in answer.text


def test_therapist_sees_delivery_health_only_for_own_clients(web: TestClient, session: Session, person) -> None:  # type: ignore[no-untyped-def]
    client, _assignment = person
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    phone = signed_in(browser(web.app), session, client)
    phone.post("/api/v1/push/subscriptions", json=subscription_json("https://push.example.org/seen"))
    phone.close()
    desk = signed_in(web, session, therapist)
    page = desk.get(f"/t/clients/{client.id}")
    assert "Reminder delivery" in page.text and "Set up on 1 device" in page.text
    assert "Send me a test notification" not in page.text
