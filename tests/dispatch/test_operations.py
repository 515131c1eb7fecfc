"""What a dispatcher tells its operator: its heartbeat, its health port, and its metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.models import DispatcherHeartbeat
from app.services import reminders
from app.services.reminders import subscriptions
from tests.dispatch.conftest import Sink, client_with_reminder, dispatch, due_now, subscription_json
from tests.dispatch.load import dispatcher_env
from tests.peers import ROOT, free_port, wait_until

H = DispatcherHeartbeat.__table__  # type: ignore[attr-defined]


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _last_beat(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "between_dispatcher_last_heartbeat_timestamp_seconds":
            return float(family.samples[0].value)
    return 0.0


def _beats(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [(row.name, row.pid) for row in connection.execute(select(H.c.name, H.c.pid))]


def test_between_dispatcher_serves_its_health_and_leaves_no_heartbeat_behind(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = dispatcher_env(database_url, str(tmp_path), dispatch_heartbeat_seconds=0.5)
    log = tmp_path / "dispatcher.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "dispatcher", "--health-port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, what="the dispatcher's /readyz", limit=60, every=0.1)
        report = httpx.get(f"{base}/readyz").json()
        assert report["status"] == "ok" and report["heartbeat_age_seconds"] < 60
        assert report["dispatchers"] == {"fresh": 1, "stale": 0}
        assert httpx.get(f"{base}/livez").json() == {"status": "ok"}
        [(name, pid)] = _beats(engine)
        assert pid == process.pid and name.endswith(f":{process.pid}")
        metrics = {family.name: family for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text)}
        assert {"between_dispatcher_last_heartbeat_timestamp_seconds", "between_dispatch_backlog"} <= set(metrics)
        [beat] = metrics["between_dispatcher_last_heartbeat_timestamp_seconds"].samples
        # The heartbeat keeps being written (every half second here).
        wait_until(
            lambda: beat.value < _last_beat(httpx.get(f"{base}/metrics").text),
            what="a newer heartbeat",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert process.returncode == 0, log.read_text()[-3000:]
    assert _beats(engine) == []  # stopped cleanly: gone, not stale
    # Its log is JSON lines.
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert any(json.loads(line)["msg"].startswith("reminder dispatcher") for line in lines)


def test_deliveries_count_outcomes_lateness_and_push_answers(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
    before = {
        "sent": _value("between_reminder_outcomes_total", {"status": "sent"}),
        "2xx": _value("between_push_responses_total", {"status_class": "2xx"}),
        "4xx": _value("between_push_responses_total", {"status_class": "4xx"}),
        "late": _value("between_reminder_lateness_seconds_count", {"channel": "push"}),
        "expired": _value("between_push_subscriptions_expired_total"),
        "email": _value("between_reminder_email_fallbacks_total", {"result": "sent"}),
        "missed": _value("between_reminder_outcomes_total", {"status": "missed"}),
    }
    client, _assignment, reminder = client_with_reminder(session, now=start)
    for name in ("phone", "old-tablet"):
        subscriptions.add_subscription(
            session, client=client, data=subscription_json(f"{sink.base}/{name}"), settings=dispatch_settings
        )
    session.commit()
    sink.script["/old-tablet"] = [(410, {}, 0.0)]
    # Another client without a device, who asked for email instead.
    other, _a, other_reminder = client_with_reminder(session, now=start)
    other.email = "other@example.org"
    session.add(other)
    reminders.update_preferences(session, client=other, email_fallback=True, now=start)
    session.commit()
    assert other_reminder.next_due_at == reminder.next_due_at

    dispatch(dispatcher, due_now(reminder))

    assert _value("between_reminder_outcomes_total", {"status": "sent"}) == before["sent"] + 1
    assert _value("between_push_responses_total", {"status_class": "2xx"}) == before["2xx"] + 1
    assert _value("between_push_responses_total", {"status_class": "4xx"}) == before["4xx"] + 1
    assert _value("between_push_subscriptions_expired_total") == before["expired"] + 1
    assert _value("between_reminder_lateness_seconds_count", {"channel": "push"}) == before["late"] + 1
    # Development without SMTP notes the mail as sent (app/core/email.py).
    assert _value("between_reminder_email_fallbacks_total", {"result": "sent"}) == before["email"] + 1
    assert _value("between_reminder_outcomes_total", {"status": "missed"}) == before["missed"]
