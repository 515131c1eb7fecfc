"""Every route, called by everyone who should not reach another person's data.

The routes are enumerated from the application object, so a new route is
covered the day it is added; a path parameter this test does not know fails
the test until someone says which object it names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.settings import Environment, Settings
from app.models import (
    Assignment,
    BarrierCheckin,
    DeviceSession,
    Entry,
    Plan,
    PlanChange,
    PushSubscription,
    Reminder,
    SessionAgenda,
    Visibility,
    VoiceNote,
)
from app.services.reminders import subscriptions
from tests.factories import browser, make_assignment, make_client, make_entry, make_template, make_therapist, signed_in

SECRET = "zebra-secret-private-words"
SHARED = "otter-shared-words"
CLIENT_NAME = "Quillon Aster"
# The start of a WebM recording, as the upload sniffs it.
WEBM_HEAD = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"


@dataclass
class World:
    ids: dict[str, str]
    therapist_a: Any
    therapist_b: Any
    client_a: Any
    client_b: Any
    # Client A's plans as (state, version, why), and how many changes they have.
    plans: list[tuple[str, int, str]] = field(default_factory=list)
    plan_changes: int = 0


def _world(session: Session) -> World:
    therapist_a = make_therapist(session, name="Therapist A")
    therapist_b = make_therapist(session, name="Therapist B")
    client_a = make_client(session, therapist=therapist_a, name=CLIENT_NAME)
    client_b = make_client(session, therapist=therapist_b, name="Client B")
    template_a = make_template(session, therapist=therapist_a, title="A's own form")
    assignment = make_assignment(session, client=client_a, template=template_a)
    shared = make_entry(session, client=client_a, assignment=assignment, answers={"mood": 5, "note": SHARED})
    make_entry(
        session,
        client=client_a,
        assignment=assignment,
        answers={"mood": 1, "note": SECRET},
        visibility=Visibility.private,
    )
    from datetime import timedelta

    from app.models import SessionKind
    from app.models.types import utcnow
    from app.services import device_sessions

    # A private "Not today, because…" check-in: its reason, note and voice note never reach anyone else.
    checkin_id = uuid.uuid4()
    session.add(
        BarrierCheckin(
            id=checkin_id,
            client_id=client_a.id,
            assignment_id=assignment.id,
            day=utcnow().date() - timedelta(days=1),
            reason="too_upsetting",
            note=SECRET,
            visibility=Visibility.private,
            content_hash="x",
        )
    )
    session.flush()
    from app.services import voice_notes

    # Its recording holds the secret words, so a route that played it would show them.
    spoken = voice_notes.store(
        session, client=client_a, data=WEBM_HEAD + SECRET.encode(), max_bytes=10_000, max_seconds=60
    ).note
    voice_notes.attach_checkin(session, note=spoken, checkin_id=checkin_id)

    device, _token = device_sessions.start(session, kind=SessionKind.client, client_id=client_a.id, days=1)
    from app.services import appointments

    [appointment] = appointments.schedule(
        session, therapist=therapist_a, client_id=client_a.id, starts_at=utcnow() + timedelta(days=2), timezone="UTC"
    )
    # A's note for that session, kept private: never on the therapist's brief or anyone's page.
    session.add(SessionAgenda(appointment_id=appointment.id, client_id=client_a.id, note=SECRET, note_private=True))
    from app.services import reminders
    from tests.dispatch.conftest import subscription_json

    reminders.save(session, client=client_a, assignment_id=assignment.id, data=reminders.ReminderInput(times=["08:30"]))
    subscription = subscriptions.add_subscription(
        session,
        client=client_a,
        data=subscription_json("https://push.example.org/client-a"),
        settings=Settings(environment=Environment.test, secret_key="x" * 32),
    )
    session.commit()
    # A plan made together, confirmed, and a draft being made: shared with A's therapist only.
    from tests.factories import make_plan

    plan = make_plan(session, client=client_a, assignment=assignment, times=["08:30"], why=SHARED, confirmed=True)
    draft = make_plan(session, client=client_a, assignment=assignment, times=["08:30"], why=SHARED)
    session.commit()
    ids = {
        "client_id": str(client_a.id),
        # The draft: more routes act on one (the therapist's edits, confirming, putting aside).
        "plan_id": str(draft.id),
        "entry_id": str(shared.id),
        "assignment_id": str(assignment.id),
        "device_id": str(device.id),
        "appointment_id": str(appointment.id),
        "template_id": str(template_a.id),
        "subscription_id": str(subscription.id),
        "token": "not-a-real-invite-token",
        # The private check-in's voice note.
        "note_id": str(spoken.id),
    }
    world = World(ids, therapist_a, therapist_b, client_a, client_b)
    world.plans = [(row.state.value, row.version, row.why) for row in (plan, draft)]
    world.plan_changes = len(session.exec(select(PlanChange)).all())
    return world


# Extra path parameters named by later parts map to objects of client A / therapist A here.
# Voice notes ({note_id}) are the private check-in's recording, in _world; who may play an
# entry's is tested with real recordings in tests/routes/api/test_voice_notes.py.
EXTRA_PARAMS: dict[str, str] = {}

# Routes anyone may call (they hold no one's data).
PUBLIC = {
    "/",
    "/healthz",
    # Probes for load balancers and Docker; /metrics answers only loopback or a token (404 here).
    "/livez",
    "/readyz",
    "/signin",
    "/signup",
    # Sign-up's own steps: a new link for an unconfirmed account, and the emailed link.
    "/signup/resend",
    "/signup/verify",
    "/signup/verify/{token}",
    "/join",
    "/invite/{token}",
    "/language",
    "/signout",
    "/openapi.json",
    "/api/docs",
    "/docs/oauth2-redirect",
    "/sw.js",
    "/sw-offline.js",
    "/manifest.webmanifest",
    "/offline",
    "/locked",
    # The VAPID public key: public by design (every browser subscribes with it).
    "/push/public-key",
}


# Routes that end the caller's own sessions: calling them would only sign the actor out.
SELF_ONLY = {"/t/signout-everywhere", "/c/signout-everywhere"}


def _routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, APIRoute) and context.path not in SELF_ONLY:
            for method in sorted((context.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, context.path))
    # A broken enumeration must not pass quietly.
    assert len(found) > 30, found
    return found


def _fill(path: str, ids: dict[str, str]) -> str:
    import re

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        known = {**ids, **EXTRA_PARAMS}
        if name not in known:
            pytest.fail(f"path parameter {{{name}}} in {path} is unknown to the authorization test: map it")
        return known[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def _call(web: TestClient, method: str, url: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return web.get(url, follow_redirects=False)
    if url.startswith("/api/"):
        return web.request(method, url, json={}, follow_redirects=False)
    return web.request(method, url, data={"visibility": "private", "display_name": "x"}, follow_redirects=False)


DENIED = {303, 401, 403, 404, 405, 410, 422}


def test_no_one_reaches_another_persons_data_through_any_route(app, session) -> None:
    world = _world(session)
    actors = {
        "anonymous": browser(app),
        "client B": signed_in(browser(app), session, world.client_b),
        "therapist B": signed_in(browser(app), session, world.therapist_b),
    }
    problems = []
    for method, path in _routes(app):
        if path in PUBLIC:
            continue
        url = _fill(path, world.ids)
        names_object = "{" in path
        for actor, web in actors.items():
            response = _call(web, method, url)
            body = response.text
            if SECRET in body or SHARED in body or CLIENT_NAME in body:
                problems.append(f"{actor} {method} {path}: saw client A's data ({response.status_code})")
            if names_object and response.status_code not in DENIED:
                problems.append(f"{actor} {method} {path}: status {response.status_code}")
            if actor == "anonymous" and response.status_code not in DENIED:
                problems.append(f"anonymous {method} {path}: status {response.status_code}")
            if response.status_code >= 500:
                problems.append(f"{actor} {method} {path}: server error {response.status_code}")
    for web in actors.values():
        web.close()
    assert problems == []
    # Nothing of A's changed.
    session.expire_all()
    assert session.exec(select(Assignment)).one().ended_at is None
    assert all(entry.deleted_at is None for entry in session.exec(select(Entry)))
    assert all(device.revoked_at is None for device in session.exec(select(DeviceSession)))
    # Client A's reminder and push device are as they were.
    [subscription] = session.exec(select(PushSubscription)).all()
    assert subscription.client_id == world.client_a.id and subscription.expired_at is None
    [reminder] = session.exec(select(Reminder)).all()
    assert reminder.times == ["08:30"] and reminder.snoozed_until is None and not reminder.paused
    private = session.exec(select(Entry).where(Entry.visibility == Visibility.private)).one()
    assert private.answers["note"] == SECRET
    [agenda] = session.exec(select(SessionAgenda)).all()
    assert agenda.note == SECRET and agenda.note_private and agenda.picks == []
    [checkin] = session.exec(select(BarrierCheckin)).all()
    assert checkin.note == SECRET and checkin.client_id == world.client_a.id
    [spoken] = session.exec(select(VoiceNote)).all()
    assert spoken.barrier_checkin_id == checkin.id and str(spoken.id) == world.ids["note_id"]
    # A's plans: the one confirmed and the draft, as they were, with no change by anyone else.
    states = sorted((plan.state.value, plan.version, plan.why) for plan in session.exec(select(Plan)))
    assert states == sorted(world.plans)
    assert len(session.exec(select(PlanChange)).all()) == world.plan_changes


def test_private_content_never_reaches_the_own_therapist(app, session) -> None:
    world = _world(session)
    desk = signed_in(browser(app), session, world.therapist_a)
    seen_shared = False
    for method, path in _routes(app):
        if (
            method != "GET"
            or path in PUBLIC
            or path.startswith("/c")
            or path.startswith("/api/v1/entries")
            or path.startswith("/api/v1/today")
            or path.startswith("/api/v1/assignments")
        ):
            continue
        response = desk.get(_fill(path, world.ids), follow_redirects=False)
        assert SECRET not in response.text, path
        if path == "/api/v1/voice-notes/{note_id}":  # the private check-in's recording
            assert response.status_code == 404, path
        assert response.status_code < 500, path
        seen_shared = seen_shared or SHARED in response.text
    desk.close()
    assert seen_shared, "the therapist's pages should show the shared entry"


def test_client_api_is_scoped_to_the_client(app, session) -> None:
    world = _world(session)
    other = signed_in(browser(app), session, world.client_b)
    listed = other.get("/api/v1/entries").json()
    assert listed == []
    reuse = other.post(
        "/api/v1/entries",
        json={"id": world.ids["entry_id"], "assignment_id": world.ids["assignment_id"], "answers": {"mood": 1}},
    )
    assert reuse.status_code == 404
    steal_id = other.post(
        "/api/v1/entries",
        json={"id": world.ids["entry_id"], "assignment_id": str(uuid.uuid4()), "answers": {"mood": 1}},
    )
    assert steal_id.status_code == 404
    other.close()


# The therapist's exports, named here so that losing one of them fails loudly.
THERAPIST_EXPORTS = ("/export.csv", "/report", "/export.fhir.json")


def test_therapist_exports_never_hold_private_entries(app, session) -> None:
    world = _world(session)
    routes = {path for _method, path in _routes(app)}
    desk = signed_in(browser(app), session, world.therapist_a)
    for suffix in THERAPIST_EXPORTS:
        assert f"/t/clients/{{client_id}}{suffix}" in routes, suffix
        response = desk.get(f"/t/clients/{world.ids['client_id']}{suffix}")
        assert response.status_code == 200, suffix
        assert SHARED in response.text, suffix
        assert SECRET not in response.text, suffix
    desk.close()


def test_client_data_rights_routes_act_only_on_the_caller(app, session) -> None:
    world = _world(session)
    other = signed_in(browser(app), session, world.client_b)
    download = other.get("/c/export.zip")
    assert download.status_code == 200
    assert SECRET.encode() not in download.content and SHARED.encode() not in download.content
    assert CLIENT_NAME not in other.get("/c/privacy").text
    # Deleting is for one's own account, and only after confirming.
    assert other.post("/c/delete-account", data={}).status_code == 422
    other.post("/c/delete-account", data={"confirm": "yes"})
    session.expire_all()
    assert len(session.exec(select(Entry)).all()) == 2
    other.close()


# My patterns, named here so that losing one of them fails loudly; each is in the matrix above.
PATTERN_ROUTES = {
    ("GET", "/c/patterns"),
    ("GET", "/api/v1/insights"),
    ("GET", "/t/clients/{client_id}/patterns"),
    ("POST", "/t/clients/{client_id}/patterns"),
    ("GET", "/api/v1/therapist/clients/{client_id}/insights"),
}
PRIVATE_TAG = "zebraprivatetag"


def test_patterns_never_show_a_private_entry_to_anyone_else(app, session) -> None:
    """A client's private mood entries shape their own My patterns, and nobody else's view of
    them: not their therapist's, not another therapist's or client's, by any route."""
    from datetime import timedelta

    from app.models.types import utcnow
    from tests.factories import library_template

    assert set(_routes(app)) >= PATTERN_ROUTES
    world = _world(session)
    mood = make_assignment(session, client=world.client_a, template=library_template(session, "mood_log"))
    start = utcnow() - timedelta(days=20)
    for day in range(12):
        private = day % 2 == 0
        answers = {"mood": 1 if private else 7, "activities": ["in_bed" if private else "people"]}
        if private:
            answers["note"] = f"#{PRIVATE_TAG}"
        make_entry(
            session,
            client=world.client_a,
            assignment=mood,
            answers=answers,
            occurred_at=start + timedelta(days=day, hours=8 if private else 20),
            visibility=Visibility.private if private else Visibility.shared,
        )
    own = signed_in(browser(app), session, world.client_a)
    assert PRIVATE_TAG in own.get("/c/patterns").text  # the client's own view counts it
    assert PRIVATE_TAG in own.get("/api/v1/insights").text
    own.close()
    desk = signed_in(browser(app), session, world.therapist_a)
    page = desk.get(f"/t/clients/{world.ids['client_id']}/patterns")
    assert page.status_code == 200 and "In bed" not in page.text and PRIVATE_TAG not in page.text
    for method, path in _routes(app):
        if method == "GET" and path not in PUBLIC and not path.startswith("/c"):
            assert PRIVATE_TAG not in desk.get(_fill(path, world.ids), follow_redirects=False).text, path
    desk.close()
    for who in (world.therapist_b, world.client_b):
        other = signed_in(browser(app), session, who)
        for method, path in PATTERN_ROUTES:
            response = _call(other, method, _fill(path, world.ids))
            assert PRIVATE_TAG not in response.text and CLIENT_NAME not in response.text, path
        other.close()
    session.refresh(world.client_a)
    assert world.client_a.patterns_off == []
