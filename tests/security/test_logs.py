"""No clinical content, name or email address ever reaches a log line.

A real uvicorn server (started as `between serve` starts it: uvicorn logging through the root
logger, at INFO) serves the app on the test's database. A therapist, a client, a form, an
assignment, entries, session notes and a sign-up all carry a marker string in every field a
person types (names, emails, answers, notes, instructions, titles, labels). The run goes
through the main routes as each side would, and through their error paths: invalid input
that echoes the marker back to the person, unknown paths and query strings carrying it, a
500 whose exception message and local variables hold it, and a database error that names it.
Every log record of the run (root logger and uvicorn's loggers), formatted as production
formats it, and everything the process wrote to stdout and stderr, must be free of it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.core.logs import JsonFormatter
from app.core.security import csrf_token
from app.core.settings import Settings
from app.main import create_app
from app.models import Appointment, Assignment, Client, Entry, SessionKind, Therapist
from app.services import device_sessions
from app.web.render import SESSION_COOKIE, csrf_cookie_name
from tests.factories import current_version, make_assignment, make_client, make_template, make_therapist
from tests.peers import free_port, wait_until

MARKER = "Quokka7Zephyr"
# Loggers of this test's own peers, not of the app: the HTTP client that drives the run
# (it logs the URLs it asks for) and the SMTP peer that receives the sign-up email.
NOT_THE_APP = ("httpx", "httpcore", "mail.log")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self.seen or record.name.startswith(NOT_THE_APP):
            return
        self.seen.add(id(record))
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)  # what `between serve` runs with (BETWEEN_LOG_LEVEL)
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)
    root.setLevel(level)


class _Inbox:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, smtp_session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    # As app/cli/__init__.py runs it: uvicorn's own lines through the root logger, no raw access log.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="info", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), what="the server to start", limit=30)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _signed_in(base_url: str, session: Session, settings: Settings, who: Therapist | Client) -> httpx.Client:
    if isinstance(who, Therapist):
        _device, token = device_sessions.start(session, kind=SessionKind.therapist, therapist_id=who.id, days=1)
    else:
        device, token = device_sessions.start(session, kind=SessionKind.client, client_id=who.id, days=1)
        device.confirmed_at = device.created_at
    session.commit()
    csrf = csrf_token(settings.secret_key, session=token)
    http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)
    http.cookies.set(SESSION_COOKIE, token)
    http.cookies.set(csrf_cookie_name(secure=settings.secure_cookies), csrf)
    http.headers["X-CSRF-Token"] = csrf
    return http


def _world(session: Session) -> tuple[Therapist, Client, Assignment]:
    therapist = make_therapist(session, email=f"{MARKER.lower()}.t@example.org", name=f"Dr {MARKER}")
    client = make_client(session, therapist=therapist, name=f"{MARKER} Client")
    fields = [
        {"key": "mood", "type": "scale", "label": f"{MARKER} mood", "min": 0, "max": 10, "required": True},
        {"key": "note", "type": "short_text", "label": f"{MARKER} anything else?"},
    ]
    template = make_template(session, therapist=therapist, title=f"{MARKER} form", fields=fields)
    assignment = make_assignment(session, client=client, template=template, instructions=f"{MARKER} each evening")
    client.email = f"{MARKER.lower()}.c@example.org"
    session.add(client)
    session.commit()
    return therapist, client, assignment


def _fail_with_marker() -> None:
    secret = f"{MARKER} in a local variable"
    raise RuntimeError(f"could not handle {secret}")


def _database_fault_with_marker() -> None:
    raise OperationalError(f"UPDATE entry SET note = '{MARKER}'", {"note": MARKER}, Exception(f"{MARKER} lost"))


def test_no_marker_reaches_any_log_line(
    settings: Settings, engine: Any, session: Session, captured: _Capture, smtp: tuple[_Inbox, int], capfd: Any
) -> None:
    inbox, smtp_port = smtp
    settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"})
    app = create_app(settings, engine=engine)
    # The faults no route provokes on purpose: an unexpected exception, and the database failing.
    app.add_api_route("/test-only/fails", _fail_with_marker)
    app.add_api_route("/test-only/database-fault", _database_fault_with_marker)
    therapist, client, assignment = _world(session)
    answers: list[int] = []
    next_week = (date.today() + timedelta(days=7)).isoformat()

    with _serve(app) as base_url:
        desk = _signed_in(base_url, session, settings, therapist)
        phone = _signed_in(base_url, session, settings, client)
        anonymous = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)

        def seen(response: httpx.Response) -> httpx.Response:
            answers.append(response.status_code)
            return response

        # The therapist's pages, and their writes with the marker in every field.
        for path in ("/t", f"/t/clients/{client.id}", f"/t/clients/{client.id}/brief", "/t/templates"):
            assert seen(desk.get(path)).status_code == 200, path
        assert seen(desk.get(f"/t/clients/{client.id}/export.csv")).status_code == 200
        assert seen(desk.get(f"/t?q={MARKER}")).status_code == 200
        assert seen(desk.post("/t/clients", data={"display_name": f"{MARKER} Second"})).status_code == 303
        too_long = seen(desk.post("/t/clients", data={"display_name": MARKER * 20}))
        assert too_long.status_code == 422
        template_id = str(assignment.template_id)
        assigned = seen(
            desk.post(
                f"/t/clients/{client.id}/assignments",
                data={"template_id": template_id, "instructions": f"{MARKER} twice", "frequency": "daily"},
            )
        )
        assert assigned.status_code in (303, 409), assigned.text[:300]
        scheduled = seen(desk.post(f"/t/clients/{client.id}/sessions", data={"date": next_week, "time": "10:00"}))
        assert scheduled.status_code in (200, 303), scheduled.text[:300]
        session.expire_all()
        appointment = session.exec(select(Appointment).where(Appointment.client_id == client.id)).first()
        assert appointment is not None
        noted = seen(desk.post(f"/t/sessions/{appointment.id}/notes", data={"notes": f"{MARKER} talked about work"}))
        assert noted.status_code in (200, 303)
        api_notes = seen(
            desk.put(f"/api/v1/therapist/sessions/{appointment.id}/notes", json={"notes": f"{MARKER} again"})
        )
        assert api_notes.status_code < 300, api_notes.text[:300]

        # The client's phone: the entry API and the record page, valid and not.
        first = str(uuid.uuid4())
        body = {"id": first, "assignment_id": str(assignment.id), "answers": {"mood": 3, "note": f"{MARKER} today"}}
        assert seen(phone.post("/api/v1/entries", json=body)).status_code == 201
        update = {"answers": {"mood": 4, "note": f"{MARKER} later"}}
        assert seen(phone.patch(f"/api/v1/entries/{first}", json=update)).status_code == 200
        invalid = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": MARKER}}
        assert seen(phone.post("/api/v1/entries", json=invalid)).status_code == 422
        wrong_type = {"id": MARKER, "assignment_id": MARKER, "answers": MARKER, "occurred_at": MARKER}
        assert seen(phone.post("/api/v1/entries", json=wrong_type)).status_code == 422
        nul = json.dumps({**body, "id": str(uuid.uuid4()), "answers": {"note": f"{MARKER}\u0000"}})
        assert (
            seen(phone.post("/api/v1/entries", content=nul, headers={"Content-Type": "application/json"})).status_code
            == 422
        )
        deep = "[" * 200 + json.dumps(MARKER) + "]" * 200
        assert (
            seen(phone.post("/api/v1/entries", content=deep, headers={"Content-Type": "application/json"})).status_code
            == 400
        )
        broken = f'{{"note": "{MARKER}"'
        assert (
            seen(
                phone.post("/api/v1/entries", content=broken, headers={"Content-Type": "application/json"})
            ).status_code
            == 422
        )
        form = {
            "entry_id": str(uuid.uuid4()),
            "template_version_id": str(current_version(session, assignment).id),
            "a.mood": "6",
            "a.note": f"{MARKER} on the form",
            "visibility": "private",
        }
        assert seen(phone.post(f"/c/record/{assignment.id}", data=form)).status_code in (200, 303)
        bad_form = {"entry_id": MARKER, "a.mood": MARKER, "a.note": MARKER}
        assert 400 <= seen(phone.post(f"/c/record/{assignment.id}", data=bad_form)).status_code < 500
        for path in ("/c", "/api/v1/entries", "/api/v1/today", "/c/entries", "/c/export.zip"):
            assert seen(phone.get(path)).status_code == 200, path
        assert seen(phone.get(f"/api/v1/entries/{uuid.uuid4()}")).status_code == 404

        # Anyone: sign-in with a wrong password, sign-up (its email goes to the SMTP peer),
        # unknown paths and query strings that carry the marker.
        page = seen(anonymous.get("/signin"))
        found = CSRF_FIELD.search(page.text)
        assert found
        token = found.group(1)
        wrong = {"email": therapist.email, "password": f"{MARKER} wrong", "csrf_token": token}
        assert 400 <= seen(anonymous.post("/signin", data=wrong)).status_code < 500
        page = seen(anonymous.get("/signup"))
        found = CSRF_FIELD.search(page.text)
        assert found
        signup = {
            "email": f"{MARKER.lower()}.new@example.org",
            "display_name": f"Dr {MARKER} New",
            "password": f"{MARKER} long password",
            "csrf_token": found.group(1),
        }
        assert seen(anonymous.post("/signup", data=signup)).status_code in (200, 303)
        assert seen(anonymous.get(f"/nowhere/{MARKER}?name={MARKER}")).status_code == 404
        assert seen(anonymous.get(f"/signin?next={MARKER}&email={MARKER}")).status_code == 200

        # Faults: a 500 and a database error, both naming the marker.
        # Each on a connection of its own: uvicorn drops the connection of an unhandled exception.
        assert seen(httpx.get(f"{base_url}/test-only/database-fault", timeout=60)).status_code == 503
        try:
            assert seen(httpx.get(f"{base_url}/test-only/fails", timeout=60)).status_code == 500
        except httpx.TransportError:
            answers.append(500)  # dropped after (or instead of) its 500
        for http in (desk, phone, anonymous):
            http.close()

    wait_until(lambda: inbox.count >= 1, what="the sign-up email", limit=30)
    output = capfd.readouterr()
    lines = captured.lines
    # The capture works: one access line per request, the faults logged (without their messages).
    access = [json.loads(line) for line in lines if '"logger":"between.access"' in line]
    assert len(access) >= len(answers)
    assert {entry["status"] for entry in access} >= {200, 201, 303, 400, 404, 422, 500, 503}
    assert all(set(entry) >= {"request_id", "route", "method", "status", "duration_ms"} for entry in access)
    assert any('"RuntimeError"' in line for line in lines)
    assert any("sqlalchemy.exc.OperationalError" in line for line in lines)
    assert any('"route":"unmatched"' in line for line in lines)

    leaks = [
        line for line in [*lines, *output.out.splitlines(), *output.err.splitlines()] if MARKER.lower() in line.lower()
    ]
    assert leaks == []
    # The marker did go in: what was stored carries it.
    session.expire_all()
    assert any(MARKER in json.dumps(entry.answers) for entry in session.exec(select(Entry)))
