"""The client's time zone comes from their phone: taken at join, asked about when the phone is
somewhere else ("Not now" remembered for that zone a few days), and reminders follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from app.models import Client, ClientZoneChange, Reminder
from app.services import invites, phone_zone, reminders
from app.services.phone_zone import Seen
from tests.factories import browser, library_template, make_assignment, make_client, make_therapist, signed_in

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, before either side's DST change


def _client_with_reminder(session, *, timezone: str | None = None):  # type: ignore[no-untyped-def]
    from app.services import clients

    therapist = make_therapist(session)
    client = clients.create(session, therapist=therapist, display_name="Ana", timezone=timezone)
    assignment = make_assignment(session, client=client, template=library_template(session, "mood_log"))
    reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["08:30"]), now=NOW
    )
    session.commit()
    return therapist, client, assignment


def _next_local(session, client: Client, zone: str) -> datetime:  # type: ignore[no-untyped-def]
    reminder = session.exec(select(Reminder).where(Reminder.client_id == client.id)).one()
    assert reminder.next_due_at is not None
    return reminder.next_due_at.astimezone(ZoneInfo(zone))


def test_a_new_client_takes_the_phones_zone_at_once_without_history(session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session)
    assert not phone_zone.known(client)
    assert phone_zone.seen(session, client=client, zone="America/New_York", now=NOW) is Seen.taken
    session.commit()
    assert client.timezone == "America/New_York" and client.timezone_set_at == NOW
    assert _next_local(session, client, "America/New_York").strftime("%H:%M") == "08:30"
    # The placeholder was never a place the client lived in: no history to keep.
    assert session.exec(select(ClientZoneChange)).all() == []
    assert phone_zone.seen(session, client=client, zone="America/New_York", now=NOW) is Seen.same


def test_another_zone_is_asked_about_and_not_now_is_remembered_for_that_zone(session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session, timezone="Europe/Madrid")
    assert phone_zone.seen(session, client=client, zone="Europe/London", now=NOW) is Seen.ask
    phone_zone.not_now(session, client=client, zone="Europe/London", now=NOW)
    session.commit()
    # The next days of the trip: not asked again, and nothing moved.
    assert phone_zone.seen(session, client=client, zone="Europe/London", now=NOW + timedelta(days=2)) is Seen.declined
    assert client.timezone == "Europe/Madrid"
    assert _next_local(session, client, "Europe/Madrid").strftime("%H:%M") == "08:30"
    # Somewhere else again: asked; after a week in London: asked again.
    assert phone_zone.seen(session, client=client, zone="Europe/Lisbon", now=NOW) is Seen.ask
    later = NOW + timedelta(days=phone_zone.DECLINE_DAYS, minutes=1)
    assert phone_zone.seen(session, client=client, zone="Europe/London", now=later) is Seen.ask
    # Home again: the trip's answer is forgotten.
    assert phone_zone.seen(session, client=client, zone="Europe/Madrid", now=NOW) is Seen.same
    assert client.zone_declined is None


def test_following_the_phone_moves_reminders_and_keeps_past_days(session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session, timezone="Europe/Madrid")
    phone_zone.follow(session, client=client, zone="America/New_York", now=NOW)
    session.commit()
    assert client.timezone == "America/New_York"
    assert _next_local(session, client, "America/New_York").strftime("%H:%M") == "08:30"
    history = session.exec(select(ClientZoneChange).order_by(ClientZoneChange.effective_from)).all()
    assert [change.timezone for change in history] == ["Europe/Madrid", "America/New_York"]
    assert history[1].effective_from == NOW


def test_joining_records_the_phones_zone(app, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(browser(app), session, therapist)
    desk.post("/t/clients", data={"display_name": "Noor"})
    desk.close()
    client = session.exec(select(Client)).one()
    assert client.timezone == "UTC" and not phone_zone.known(client)
    issued = invites.issue(session, therapist=therapist, client=client, hours=1)
    session.commit()
    phone = browser(app)
    phone.get("/join")
    joined = phone.post(
        "/join",
        data={"code": issued.code, "timezone": "America/New_York", "csrf_token": phone.cookies["between_csrf"]},
        follow_redirects=False,
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/c/welcome"
    session.refresh(client)
    assert client.timezone == "America/New_York" and phone_zone.known(client)
    me = phone.get("/api/v1/me").json()
    assert me["timezone"] == "America/New_York" and me["timezone_known"] is True
    phone.close()


def test_joining_without_a_zone_or_with_an_odd_one_still_joins(app, session) -> None:
    therapist = make_therapist(session)
    for sent in ("", "Mars/Olympus_Mons"):
        client = make_client(session, therapist=therapist)
        client.timezone_set_at = None
        session.add(client)
        issued = invites.issue(session, therapist=therapist, client=client, hours=1)
        session.commit()
        phone = browser(app)
        phone.get("/join")
        joined = phone.post(
            "/join",
            data={"code": issued.code, "timezone": sent, "csrf_token": phone.cookies["between_csrf"]},
            follow_redirects=False,
        )
        assert joined.status_code == 303
        session.refresh(client)
        assert client.timezone == "UTC" and not phone_zone.known(client)
        # The welcome page asks instead (the no-JavaScript way).
        assert 'name="timezone"' in phone.get("/c/welcome").text
        phone.close()


def test_the_phone_reports_and_the_client_answers(web, session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session, timezone="Europe/Madrid")
    phone = signed_in(web, session, client)
    same = phone.post("/c/zone/phone", data={"timezone": "Europe/Madrid", "next": "/c"})
    assert same.status_code == 204
    asked = phone.post("/c/zone/phone", data={"timezone": "America/New_York", "next": "/c/entries"})
    assert asked.status_code == 200 and asked.headers["between-zone"] == "ask"
    assert "Your phone is on New York time" in asked.text
    assert 'name="next" value="/c/entries"' in asked.text

    later = phone.post(
        "/c/zone",
        data={"timezone": "America/New_York", "answer": "later", "next": "/c/entries"},
        follow_redirects=False,
    )
    assert later.status_code == 303 and later.headers["location"] == "/c/entries"
    assert phone.post("/c/zone/phone", data={"timezone": "America/New_York"}).status_code == 204
    session.refresh(client)
    assert client.timezone == "Europe/Madrid"

    moved = phone.post(
        "/c/zone",
        data={"timezone": "America/New_York", "answer": "follow"},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200 and "New York time" in moved.text
    session.refresh(client)
    assert client.timezone == "America/New_York"


def test_bad_answers_are_clear_and_change_nothing(web, session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session, timezone="Europe/Madrid")
    phone = signed_in(web, session, client)
    assert phone.post("/c/zone/phone", data={"timezone": "Nowhere/Land"}).status_code == 422
    bad_zone = phone.post("/c/zone", data={"timezone": "Nowhere/Land", "answer": "follow"})
    assert bad_zone.status_code == 422 and "Unknown time zone" in bad_zone.text
    no_answer = phone.post("/c/zone", data={"timezone": "America/New_York", "answer": "maybe"})
    assert no_answer.status_code == 422
    # Only this app's own pages are followed after answering.
    away = phone.post(
        "/c/zone",
        data={"timezone": "Europe/Madrid", "answer": "later", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/c"
    session.refresh(client)
    assert client.timezone == "Europe/Madrid"


def test_me_is_the_signed_in_clients_profile(web, session) -> None:
    _therapist, client, _assignment = _client_with_reminder(session, timezone="Asia/Tokyo")
    assert web.get("/api/v1/me").status_code == 401
    phone = signed_in(web, session, client)
    me = phone.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {
        "display_name": "Ana",
        "locale": None,
        "timezone": "Asia/Tokyo",
        "timezone_known": True,
        "day_boundary": "00:00",
    }
    schema = phone.get("/openapi.json").json()
    answer = schema["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/ProfilePublic"}
    assert set(schema["components"]["schemas"]["ProfilePublic"]["properties"]) >= {
        "display_name",
        "locale",
        "timezone",
        "day_boundary",
    }


def test_a_therapist_has_no_client_profile(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    assert desk.get("/api/v1/me").status_code == 401
