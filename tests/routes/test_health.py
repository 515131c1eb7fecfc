"""/livez, /readyz and /metrics: what an operator's probes and Prometheus see."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from app.core import migrate
from app.core.db import build_engine
from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.main import create_app
from app.models import DispatcherHeartbeat, SessionKind
from app.models.types import utcnow
from app.services import device_sessions
from tests.conftest import PG_URL
from tests.factories import make_assignment, make_client, make_entry
from tests.tcp_proxy import TcpProxy

LOOPBACK = ("127.0.0.1", 50123)
OUTSIDE = ("203.0.113.9", 40000)
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
H = DispatcherHeartbeat.__table__  # type: ignore[attr-defined]


def _client(app, address: tuple[str, int] = LOOPBACK) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://testserver", client=address)


def _families(text: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


# --- /livez and /readyz -------------------------------------------------------------------------


def test_livez_and_readyz_answer_on_a_migrated_database(web: TestClient) -> None:
    live = web.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = web.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "current",
        "dispatchers": {"fresh": 0, "stale": 0},
    }
    # The older combined check still answers.
    assert web.get("/healthz").json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readyz_is_503_while_migrations_are_missing_or_behind(settings: Settings, tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    app = create_app(settings, engine=engine)
    # Without its start-up (that syncs the library into the tables), as a replica that
    # started before the migrations ran would answer.
    web = _client(app)
    missing = web.get("/readyz")
    assert missing.status_code == 503
    assert missing.json()["reason"] == "migrations_missing"
    migrate.upgrade(engine, "0011")
    behind = web.get("/readyz")
    assert behind.status_code == 503
    assert behind.json() == {"status": "unavailable", "reason": "migrations_pending", "migrations": "pending"}
    assert web.get("/livez").status_code == 200
    migrate.upgrade(engine)
    assert web.get("/readyz").status_code == 200
    web.close()
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_readyz_follows_the_database_through_a_cut_connection(settings: Settings, database_url: str) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.port or 5432, upstream_host=url.host or "127.0.0.1")
    engine = build_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    app = create_app(settings, engine=engine)
    try:
        with _client(app) as web:
            assert web.get("/readyz").status_code == 200
            proxy.cut()
            down = web.get("/readyz")
            assert down.status_code == 503
            assert down.json() == {"status": "unavailable", "reason": "database_unavailable"}
            assert web.get("/livez").status_code == 200
            metrics = web.get("/metrics")
            assert metrics.status_code == 200
            assert _samples(metrics.text, "between_database_up") == [({}, 0.0)]
            proxy.restore()
            assert web.get("/readyz").status_code == 200
            assert _samples(web.get("/metrics").text, "between_database_up") == [({}, 1.0)]
    finally:
        proxy.close()
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_readyz_is_503_when_the_database_port_is_closed(settings: Settings) -> None:
    proxy = TcpProxy(1)
    proxy.close()  # a port nothing listens on
    engine = build_engine(make_url(PG_URL).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    # A replica whose database was never reachable: no start-up (it would need the database).
    web = _client(create_app(settings, engine=engine))
    answer = web.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "reason": "database_unavailable"}
    assert web.get("/livez").status_code == 200
    web.close()
    engine.dispose()


# --- heartbeats ---------------------------------------------------------------------------------


def _age(engine: Engine, name: str, seconds: float) -> None:
    with engine.begin() as connection:
        connection.execute(update(H).where(H.c.name == name).values(last_beat_at=utcnow() - timedelta(seconds=seconds)))


def test_a_stale_dispatcher_heartbeat_fails_its_process_and_informs_the_others(
    app, engine: Engine, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    dispatcher = Dispatcher(engine=engine, settings=settings, name="worker-1:4242")
    dispatcher.beat()
    # The process that runs this dispatcher (a `between dispatcher`, or `between serve`).
    own = create_app(settings, engine=engine)
    own.state.dispatcher = dispatcher
    with _client(own) as mine, _client(app) as web:
        fresh = mine.get("/readyz")
        assert fresh.status_code == 200
        assert fresh.json()["dispatchers"] == {"fresh": 1, "stale": 0}
        assert fresh.json()["heartbeat_age_seconds"] < settings.dispatch_heartbeat_stale_seconds

        _age(engine, dispatcher.name, settings.dispatch_heartbeat_stale_seconds + 30)
        stale = mine.get("/readyz")
        assert stale.status_code == 503
        assert stale.json()["reason"] == "dispatcher_heartbeat_stale"
        # A web replica stays ready; it reports the dispatchers' freshness for information.
        other = web.get("/readyz")
        assert other.status_code == 200
        assert other.json()["dispatchers"] == {"fresh": 0, "stale": 1}
        metrics = web.get("/metrics").text
        assert _samples(metrics, "between_dispatchers") == [({"state": "fresh"}, 0.0), ({"state": "stale"}, 1.0)]
        [(labels, age)] = _samples(metrics, "between_dispatcher_heartbeat_age_seconds")
        assert labels == {"dispatcher": "worker-1:4242"}
        assert age > settings.dispatch_heartbeat_stale_seconds

        dispatcher.beat()
        assert mine.get("/readyz").status_code == 200
        dispatcher.forget()
        gone = mine.get("/readyz")
        assert gone.status_code == 503 and gone.json()["reason"] == "dispatcher_heartbeat_stale"
        assert web.get("/readyz").json()["dispatchers"] == {"fresh": 0, "stale": 0}


def test_the_embedded_dispatcher_must_be_running_for_readiness(settings: Settings, engine: Engine) -> None:
    app = create_app(settings, engine=engine)
    app.state.run_dispatcher = True  # as `between serve` sets it; its dispatcher is not started here
    with _client(app) as web:
        answer = web.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["reason"] == "dispatcher_not_running"


# --- /metrics -----------------------------------------------------------------------------------


@pytest.fixture
def signed_in_phone(session: Session) -> Iterator[tuple[str, str]]:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    make_entry(session, client=client, assignment=assignment, answers={"mood": 5})
    _device, token = device_sessions.start(session, kind=SessionKind.client, client_id=client.id, days=1, label="phone")
    session.commit()
    yield token, str(assignment.id)


def test_metrics_parse_name_routes_by_template_and_hold_no_ids(app, signed_in_phone) -> None:  # type: ignore[no-untyped-def]
    token, assignment_id = signed_in_phone
    entry_id = str(uuid.uuid4())
    with _client(app) as web:
        phone = {"Authorization": f"Bearer {token}"}
        created = web.post(
            "/api/v1/entries",
            json={"id": entry_id, "assignment_id": assignment_id, "answers": {"mood": 4}},
            headers=phone,
        )
        assert created.status_code == 201
        assert web.get(f"/api/v1/entries/{entry_id}", headers=phone).status_code == 200
        assert web.get(f"/api/v1/entries/{uuid.uuid4()}", headers=phone).status_code == 404
        assert web.get(f"/no/such/{uuid.uuid4()}").status_code == 404
        answer = web.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert UUID.search(text) is None
    families = _families(text)
    for name in (
        "between_http_requests",
        "between_http_request_duration_seconds",
        "between_db_pool_checked_out",
        "between_db_pool_size",
        "between_dispatch_backlog",
        "between_reminder_outcomes",
        "between_reminder_lateness_seconds",
        "between_push_responses",
        "between_push_subscriptions_pruned",
        "between_reminder_email_fallbacks",
        "between_database_up",
    ):
        assert name in families, name
    requests = {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in _samples(text, "between_http_requests_total")
    }
    assert requests[("POST", "/api/v1/entries", "201")] >= 1
    assert requests[("GET", "/api/v1/entries/{entry_id}", "200")] >= 1
    assert requests[("GET", "/api/v1/entries/{entry_id}", "404")] >= 1
    assert requests[("GET", "unmatched", "404")] >= 1
    assert _samples(text, "between_dispatch_backlog") == [({"kind": "reminders"}, 0.0), ({"kind": "retries"}, 0.0)]


def test_metrics_are_private_to_loopback_or_the_token(settings: Settings, engine: Engine) -> None:
    token = "metrics-token-" + "m" * 24
    app = create_app(settings.model_copy(update={"metrics_token": token}), engine=engine)
    with _client(app, OUTSIDE) as outside:
        refused = outside.get("/metrics")
        assert refused.status_code == 404
        assert "between_" not in refused.text
        # Looks like any unknown page (whose language form names the page itself).
        unknown = outside.get("/no-such-page")
        assert unknown.status_code == 404
        assert unknown.text.replace("/no-such-page", "/metrics") == refused.text
        assert outside.get("/metrics", headers={"Authorization": "Bearer wrong-" + "w" * 24}).status_code == 404
        assert outside.get("/metrics", headers={"Authorization": token}).status_code == 404
        allowed = outside.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and "between_http_requests_total" in allowed.text
    # Without a token set, only loopback clients.
    plain = create_app(settings, engine=engine)
    with _client(plain, OUTSIDE) as outside:
        assert outside.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    with _client(plain, ("::1", 5000)) as local:
        assert local.get("/metrics").status_code == 200


def test_a_sane_request_id_is_kept_and_any_other_replaced(web: TestClient) -> None:
    kept = web.get("/livez", headers={"X-Request-ID": "lb-7f3a.42"})
    assert kept.headers["x-request-id"] == "lb-7f3a.42"
    for odd in ("has spaces in it", "x" * 65, "<script>"):
        replaced = web.get("/livez", headers={"X-Request-ID": odd})
        assert re.fullmatch(r"[0-9a-f]{24}", replaced.headers["x-request-id"])
    first, second = web.get("/livez"), web.get("/livez")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
