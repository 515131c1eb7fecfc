"""Error reports (Sentry) carry no personal data: the real SDK, with a transport that keeps
what it would send in the process instead of sending it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from fastapi import Request
from fastapi.testclient import TestClient
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from sqlalchemy.engine import Engine

from app.core import error_reporting
from app.core.settings import Settings
from app.main import create_app

MARKER = "Wombat3Lantern"


class KeepInProcess(Transport):
    """Keeps every envelope the SDK would send; no network."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == "event" and item.payload.json is not None:
                    found.append(item.payload.json)
        return found


@pytest.fixture
def transport() -> Iterator[KeepInProcess]:
    kept = KeepInProcess()
    yield kept
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def test_off_without_a_dsn(settings: Settings) -> None:
    assert error_reporting.init(settings) is False
    assert not sentry_sdk.get_client().is_active()


def _fails(request: Request) -> None:
    answer = f"{MARKER} answer in a local variable"
    note = {"note": MARKER, "email": f"{MARKER.lower()}@example.org"}
    logging.getLogger("between.test").warning("about to fail for %s", MARKER)  # kept as a breadcrumb
    raise ValueError(f"could not store {answer} {note}")


def test_a_500_is_reported_without_body_cookies_headers_query_user_or_locals(
    settings: Settings, engine: Engine, transport: KeepInProcess
) -> None:
    dsn = "https://0123456789abcdef0123456789abcdef@errors.example.org/42"
    assert error_reporting.init(settings.model_copy(update={"sentry_dsn": dsn}), transport=transport)
    app = create_app(settings, engine=engine)
    app.add_api_route("/test-only/fails/{entry_id}", _fails, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as web:
        answer = web.post(
            f"/test-only/fails/1234?name={MARKER}&email={MARKER}",
            json={"answers": {"note": MARKER}},
            headers={
                "Authorization": f"Bearer {MARKER}",
                "Cookie": f"between_session={MARKER}",
                "X-Forwarded-For": "198.51.100.7",
                "User-Agent": f"{MARKER}-phone",
            },
        )
        assert answer.status_code == 500
        logging.getLogger("between.test").error("saving failed for %s", MARKER)
    sentry_sdk.flush(timeout=5)

    events = transport.events()
    assert len(events) == 2
    for event in events:
        text = json.dumps(event)
        assert MARKER not in text and MARKER.lower() not in text
        assert "198.51.100.7" not in text
        assert "user" not in event
    crash = next(event for event in events if event.get("exception"))
    [error] = crash["exception"]["values"]
    assert error["type"] == "ValueError"
    assert error["value"] == error_reporting.REMOVED
    frames = error["stacktrace"]["frames"]
    assert any(frame.get("function") == "_fails" for frame in frames)
    assert all("vars" not in frame for frame in frames)
    assert crash["request"] == {"method": "POST", "url": "http://testserver/test-only/fails/1234"}
    # The route template names the request; the breadcrumb keeps the log line's template.
    assert crash["transaction"] == "/test-only/fails/{entry_id}"
    crumbs = [crumb.get("message") for crumb in crash.get("breadcrumbs", {}).get("values", [])]
    assert "about to fail for %s" in crumbs
    logged = next(event for event in events if not event.get("exception"))
    assert logged["logentry"]["formatted"] == "saving failed for %s"
    assert "params" not in logged["logentry"]


def test_scrub_removes_what_an_sdk_might_still_collect() -> None:
    event: dict[str, Any] = {
        "request": {
            "method": "GET",
            "url": f"https://between.example/t?q={MARKER}",
            "query_string": f"q={MARKER}",
            "data": {"answers": MARKER},
            "cookies": {"between_session": MARKER},
            "headers": {"Authorization": f"Bearer {MARKER}", "Cookie": MARKER},
            "env": {"REMOTE_ADDR": "198.51.100.7"},
        },
        "user": {"email": MARKER, "ip_address": "198.51.100.7"},
        "extra": {"answers": MARKER},
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": MARKER,
                    "stacktrace": {"frames": [{"function": "f", "vars": {"a": MARKER}}]},
                }
            ]
        },
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {"b": MARKER}}]}}]},
        "logentry": {"message": "failed for %s", "params": [MARKER], "formatted": f"failed for {MARKER}"},
        "breadcrumbs": {"values": [{"category": "httplib", "data": {"url": f"https://push.example/{MARKER}"}}]},
        "contexts": {"response": {"status_code": 500, "headers": {"Set-Cookie": MARKER}}},
    }
    scrubbed = error_reporting.scrub(event)
    assert MARKER not in json.dumps(scrubbed)
    assert "198.51.100.7" not in json.dumps(scrubbed)
    assert scrubbed["request"] == {"method": "GET", "url": "https://between.example/t"}
    assert scrubbed["exception"]["values"][0]["type"] == "KeyError"
