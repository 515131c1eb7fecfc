"""Odd input that used to crash the app: each answer is a clear, translated 4xx, and nothing
stored changes.

- JSON nested thousands of levels deep, on every route that reads a JSON body;
- a weekday written with a character that only looks like a digit ("²");
- a weekly session in the year 9999;
- NUL characters in any text (PostgreSQL refuses them in text), and any other data error the
  database raises (the catch-all);
- the pages htmx fetches as fragments (history restore) that use macros.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from jinja2 import nodes
from sqlalchemy import func, text
from sqlmodel import Session, select

from app.models import (
    Appointment,
    Assignment,
    Client,
    DeviceSession,
    Entry,
    PushSubscription,
    RecordTemplate,
    Reminder,
    Therapist,
)
from app.models.types import utcnow
from app.services import clients, reminders
from app.web.deps import SessionDep
from app.web.render import TEMPLATES_DIR, jinja
from tests.dispatch.conftest import subscription_json
from tests.factories import PASSWORD, make_assignment, make_client, make_therapist, signed_in
from tests.routes.test_pages import _form_ids
from tests.routes.therapist.test_brief import _history

SPANISH = {"Accept-Language": "es"}
TOO_DEEP_ES = "No se pudo leer: tiene demasiados niveles anidados."
NUL_ES = "Parte de lo que se envió contiene un carácter nulo, que no se puede guardar. Quítalo y vuelve a intentarlo."
DATA_ES = "Parte de lo que se envió no se puede guardar. Revísalo y vuelve a intentarlo."


def _counts(session: Session) -> dict[str, int]:
    """How many rows each table that these requests could write holds."""
    session.expire_all()
    tables = (Therapist, Client, Assignment, Entry, RecordTemplate, Reminder, PushSubscription, Appointment)
    counted = {table.__name__: session.exec(select(func.count()).select_from(table)).one() for table in tables}
    counted["DeviceSession"] = session.exec(select(func.count()).select_from(DeviceSession)).one()
    return counted


# --- JSON nested too deeply ---------------------------------------------------------------------

DEEP_BODIES = {
    "100k arrays": b"[" * 100_000,
    "50k objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    # Deep enough to refuse, shallow enough for Python's parser: refused all the same.
    "200 closed arrays": b"[" * 200 + b"]" * 200,
    "inside a valid object": b'{"token": "x", "minutes": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
}


@pytest.fixture
def phone(web: TestClient, session: Session) -> tuple[TestClient, Client, Assignment]:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    return signed_in(web, session, client), client, assignment


@pytest.mark.parametrize(
    "path",
    ["/push/snooze", "/push/seen", "/push/subscription-change", "/api/v1/push/subscriptions", "/api/v1/entries"],
)
def test_json_nested_too_deeply_is_a_translated_400_on_every_json_route(
    app: Any, session: Session, phone: tuple[TestClient, Client, Assignment], path: str
) -> None:
    web, _client, _assignment = phone
    if path.startswith("/push/"):
        # The service worker's routes need no sign-in: try them as a stranger.
        web = TestClient(app, base_url="http://testserver")
    before = _counts(session)
    # FastAPI reads a body without a content type as JSON, and the push routes read any body.
    for content_type in ("application/json", None, "text/plain"):
        for name, body in DEEP_BODIES.items():
            headers = {**SPANISH, "Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            answer = web.post(path, content=body, headers=headers)
            assert answer.status_code == 400, (content_type, name, answer.text[:300])
            assert answer.json()["detail"] == TOO_DEEP_ES
    assert _counts(session) == before


def test_json_nested_a_little_is_still_read(phone: tuple[TestClient, Client, Assignment], session: Session) -> None:
    web, _client, assignment = phone
    nested: Any = "deep but fine"
    for _ in range(20):
        nested = {"n": [nested]}
    answer = web.post(
        "/api/v1/entries",
        json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4, "note": "[[{{"}},
    )
    assert answer.status_code == 201, answer.text
    # Twenty levels inside an answer: read, then refused by the field's own rules (not a 400).
    odd = web.post(
        "/api/v1/entries",
        json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4, "note": nested}},
    )
    assert odd.status_code == 422


# --- a weekday that only looks like a digit -----------------------------------------------------


@pytest.mark.parametrize("day", ["²", "³", "①", "٣"])
def test_a_weekday_that_only_looks_like_a_digit_is_a_translated_422(
    phone: tuple[TestClient, Client, Assignment], session: Session, day: str
) -> None:
    web, _client, assignment = phone
    prefix = f"r-{assignment.id}-"
    form = {
        "timezone": "Europe/Madrid",
        "day_boundary": "00:00",
        prefix + "shown": "1",
        prefix + "times": ["08:30"],
        prefix + "weekdays": ["1", day],
        prefix + "random_count": "0",
        prefix + "random_min_gap_minutes": "30",
    }
    before = _counts(session)
    answer = web.post("/c/reminders", data=form, headers=SPANISH)
    assert answer.status_code == 422
    assert f"“{day}” no es un día de la semana." in answer.text
    assert _counts(session) == before
    errors: dict[str, str] = {}
    assert reminders.parse_weekdays([day], errors) == [] and "weekdays" in errors


# --- a weekly session in the year 9999 ----------------------------------------------------------


def test_a_session_in_the_year_9999_is_a_translated_422(web: TestClient, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="America/New_York")
    page = signed_in(web, session, therapist)
    before = _counts(session)
    for repeat in ("weekly", "biweekly", "none"):
        for day, at in (("9999-12-01", "10:00"), ("9999-12-31", "23:30")):
            answer = page.post(
                f"/t/clients/{client.id}/sessions",
                data={
                    "date": day,
                    "time": at,
                    "timezone": "America/New_York",
                    "duration_minutes": "480",
                    "repeat": repeat,
                },
                headers=SPANISH,
            )
            assert answer.status_code == 422, (repeat, day)
            assert "Las sesiones se pueden planificar hasta con dos años de antelación." in answer.text
    for repeat in ("weekly", "none"):
        for starts_at in ("9999-06-01T10:00:00+00:00", "9999-12-31T23:59:59+00:00", "9999-12-31T23:00:00-12:00"):
            answer = page.post(
                f"/api/v1/therapist/clients/{client.id}/sessions",
                json={"starts_at": starts_at, "timezone": "UTC", "duration_minutes": 480, "repeat": repeat},
                headers=SPANISH,
            )
            assert answer.status_code == 422, (repeat, starts_at, answer.text)
            assert answer.json()["detail"] == "Las sesiones se pueden planificar hasta con dos años de antelación."
    assert _counts(session) == before

    # Moving a session there is refused the same way; the session stays where it was.
    soon = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    created = page.post(
        f"/api/v1/therapist/clients/{client.id}/sessions", json={"starts_at": soon.isoformat(), "timezone": "UTC"}
    )
    assert created.status_code == 201
    session_id = created.json()[0]["id"]
    moved = page.patch(f"/api/v1/therapist/sessions/{session_id}", json={"starts_at": "9999-12-31T23:59:00+00:00"})
    assert moved.status_code == 422
    by_page = page.post(f"/t/sessions/{session_id}/move", data={"date": "9999-12-31", "time": "23:30"})
    assert by_page.status_code == 422
    session.expire_all()
    stored = session.get(Appointment, uuid.UUID(session_id))
    assert stored is not None and stored.starts_at == soon


# --- NUL characters -----------------------------------------------------------------------------


def _nul_cases(session: Session, web: TestClient) -> list[tuple[str, TestClient, dict[str, Any]]]:
    """(path, browser, request options) for forms, JSON and multipart that each carry a NUL."""
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    anonymous = TestClient(web.app, base_url="http://testserver")
    desk = signed_in(TestClient(web.app, base_url="http://testserver"), session, therapist)
    phone = signed_in(TestClient(web.app, base_url="http://testserver"), session, client)
    entry = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4, "note": "a\x00b"}}
    return [
        ("/signin", anonymous, {"data": {"email": "someone@example.org\x00", "password": PASSWORD}}),
        (
            "/signup",
            anonymous,
            {"data": {"email": "new@example.org", "display_name": "Dr\x00 New", "password": PASSWORD}},
        ),
        (
            "/signup",
            anonymous,
            {
                "files": {
                    "email": (None, "new@example.org"),
                    "display_name": (None, "Dr\x00 New"),
                    "password": (None, PASSWORD),
                }
            },
        ),
        ("/join", anonymous, {"data": {"code": "ABCD\x00EFG"}}),
        ("/t/clients", desk, {"data": {"display_name": "Robin\x00", "timezone": "UTC"}}),
        (
            "/t/templates",
            desk,
            {
                "data": {
                    "title": "Sleep\x00 log",
                    "instructions": "",
                    "fields-0-label": "Hours",
                    "fields-0-type": "number",
                }
            },
        ),
        (
            f"/t/clients/{client.id}/assignments",
            desk,
            {"data": {"template_id": str(assignment.template_id), "instructions": "Each \x00 evening"}},
        ),
        (f"/c/record/{assignment.id}", phone, {"data": {"a.mood": "4", "a.note": "fine\x00"}}),
        ("/api/v1/entries", phone, {"json": entry}),
        ("/api/v1/entries", phone, {"content": json.dumps(entry).encode(), "headers": {}}),
        ("/api/v1/push/subscriptions", phone, {"json": subscription_json("https://push.example.org/\x00")}),
        ("/push/subscription-change", anonymous, {"json": {"old_endpoint": "https://push.example.org/a\x00"}}),
        ("/t/clients?name=Ro%00bin", desk, {"data": {"display_name": "Robin", "timezone": "UTC"}}),
    ]


def test_nul_characters_are_refused_at_input_with_a_translated_422(web: TestClient, session: Session) -> None:
    cases = _nul_cases(session, web)
    before = _counts(session)
    for path, browser, options in cases:
        headers = {**SPANISH, "Accept": "application/json", **options.pop("headers", {})}
        answer = browser.post(path, headers=headers, **options)
        assert answer.status_code == 422, (path, answer.status_code, answer.text[:300])
        assert answer.json()["detail"] == NUL_ES, path
    assert _counts(session) == before
    # A page (not the API) gets the same words on a page.
    page = cases[0][1].post("/signin", data={"email": "a\x00@example.org", "password": "x"}, headers=SPANISH)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "carácter nulo" in page.text


def test_text_that_merely_mentions_nul_is_kept(phone: tuple[TestClient, Client, Assignment], session: Session) -> None:
    web, _client, assignment = phone
    # A backslash before "u0000", and "%00" typed as text: neither is a NUL character.
    note = "C:\\u0000 and 100%00 sure"
    answer = web.post(
        "/api/v1/entries",
        json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4, "note": note}},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["answers"]["note"] == note
    entry_id, version_id = _form_ids(web.get(f"/c/record/{assignment.id}").text)
    by_form = web.post(
        f"/c/record/{assignment.id}",
        data={"entry_id": entry_id, "template_version_id": version_id, "a.mood": "5", "a.note": note},
        follow_redirects=False,
    )
    assert by_form.status_code == 303
    session.expire_all()
    assert sorted(entry.answers.get("note") for entry in session.exec(select(Entry))) == [note, note]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_data_error_from_the_database_is_a_translated_422_and_rolls_back(
    app: Any, web: TestClient, session: Session, database_url: str
) -> None:
    """The catch-all: whatever input check is missed, the database's own refusal of the data
    (here PostgreSQL refusing NUL in text) is a 422, never a 500, and nothing is kept."""
    therapist = make_therapist(session)

    def _writes_then_fails(request: Request, db: SessionDep) -> None:
        clients.create(db, therapist=db.get(Therapist, therapist.id), display_name="Kept?", timezone="UTC")
        # A value that reached the database unchecked (the route's input checks are bypassed here).
        db.connection().execute(text("SELECT :name"), {"name": request.headers["x-name"].replace("~", "\x00")})
        db.commit()

    app.add_api_route("/api/v1/test-data-error", _writes_then_fails, methods=["GET"])
    app.add_api_route("/test-data-error", _writes_then_fails, methods=["GET"])
    before = _counts(session)
    api = web.get("/api/v1/test-data-error", headers={**SPANISH, "x-name": "a~b"})
    assert api.status_code == 422
    assert api.json()["detail"] == DATA_ES
    page = web.get("/test-data-error", headers={**SPANISH, "x-name": "a~b"})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert DATA_ES in page.text
    assert _counts(session) == before


# --- fragments htmx fetches (history restore) ---------------------------------------------------

FRAGMENT = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def test_the_brief_and_progress_render_as_fragments(web: TestClient, session: Session, app: Any) -> None:
    therapist, client, _mood, _questionnaire, _upcoming = _history(session)
    desk = signed_in(web, session, therapist)
    brief = desk.get(f"/t/clients/{client.id}/brief", headers=FRAGMENT)
    assert brief.status_code == 200
    assert "<html" not in brief.text and 'class="heatmap"' in brief.text and "<svg" in brief.text
    phone = signed_in(TestClient(app, base_url="http://testserver"), session, client)
    progress = phone.get("/c/progress", headers=FRAGMENT)
    assert progress.status_code == 200
    assert "<html" not in progress.text and "<svg" in progress.text


def _defined(node: nodes.Node) -> set[str]:
    """Names a template part defines: imports, macros, {% set %}, loop and {% with %} targets."""
    names: set[str] = set()
    for found in node.find_all((nodes.Import, nodes.FromImport, nodes.Macro, nodes.Name)):
        if isinstance(found, nodes.Import):
            names.add(found.target)
        elif isinstance(found, nodes.FromImport):
            names.update(item[1] if isinstance(item, tuple) else item for item in found.names)
        elif isinstance(found, nodes.Macro) or found.ctx in ("store", "param"):
            names.add(found.name)
    return names


def _used(node: nodes.Node) -> set[str]:
    return {name.name for name in node.find_all(nodes.Name) if name.ctx == "load"}


def _tree(name: str) -> nodes.Template:
    return jinja.parse((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def _parents(tree: nodes.Template) -> list[nodes.Template]:
    """The templates this one extends, nearest first."""
    found = []
    extends = next(tree.find_all(nodes.Extends), None)
    while extends is not None and isinstance(extends.template, nodes.Const):
        parent = _tree(extends.template.value)
        found.append(parent)
        extends = next(parent.find_all(nodes.Extends), None)
    return found


def test_every_block_sees_every_name_it_uses_when_rendered_alone() -> None:
    """`render(..., block=...)` renders one block for htmx. A block sees only its own imports
    and assignments, never the template's top level, an enclosing block or a parent template:
    a macro imported outside it is undefined there, and the fragment fails."""
    problems = []
    paths = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert len(paths) > 30 and TEMPLATES_DIR / "pages" / "therapist" / "brief.html" in paths
    for path in paths:
        tree = _tree(str(path.relative_to(TEMPLATES_DIR)))
        everything = _defined(tree).union(*(_defined(parent) for parent in _parents(tree)))
        for block in tree.find_all(nodes.Block):
            outside = everything - _defined(block)
            missing = sorted(_used(block) & outside)
            if missing:
                problems.append(f"{path.relative_to(TEMPLATES_DIR)} block {block.name}: {missing}")
    assert problems == []
