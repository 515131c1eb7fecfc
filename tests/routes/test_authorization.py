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
)
from tests.factories import browser, make_assignment, make_client, make_entry, make_template, make_therapist, signed_in

SECRET = "zebra-secret-private-words"
SHARED = "otter-shared-words"
CLIENT_NAME = "Quillon Aster"


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

    # A private "Not today, because…" check-in: its reason and note never reach anyone else.
    session.add(
        BarrierCheckin(
            id=uuid.uuid4(),
            client_id=client_a.id,
            assignment_id=assignment.id,
            day=utcnow().date() - timedelta(days=1),
            reason="too_upsetting",
            note=SECRET,
            visibility=Visibility.private,
            content_hash="x",
        )
    )

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
    subscription = reminders.add_subscription(
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
    }
    world = World(ids, therapist_a, therapist_b, client_a, client_b)
    world.plans = [(row.state.value, row.version, row.why) for row in (plan, draft)]
    world.plan_changes = len(session.exec(select(PlanChange)).all())
    return world


# Extra path parameters named by later parts map to objects of client A / therapist A here.
EXTRA_PARAMS: dict[str, str] = {
    # Voice notes: who may play one is tested with real recordings in tests/routes/test_voice_notes.py.
    "note_id": str(uuid.uuid4()),
}

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
