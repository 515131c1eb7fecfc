"""Prometheus metrics (served at /metrics, see app/routes/health.py and docs/operations.md).

Counters and histograms live in this process's default registry: `between serve` is one
process (no forked workers), so each process is scraped on its own. Labels are route
templates, methods, statuses and outcome names only: never a raw path, an id, a name or
anything a person typed.

Figures that come from the database (pool use, the dispatch backlog, dispatchers'
heartbeats) are read when /metrics is asked for, not on every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import false, func, select
from sqlalchemy.engine import Engine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No `_created` series beside every counter and histogram: half the lines, nothing lost.
disable_created_metrics()

# --- HTTP (app/web/access.py) -------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "between_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "between_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- the reminder dispatcher (app/dispatch/dispatcher.py) ------------------------------------------

REMINDER_OUTCOMES = Counter(
    "between_reminder_outcomes",
    "Reminder occurrences by outcome: sent, retried_sent, email, missed, suppressed, and retry "
    "(a failed attempt that will be tried again).",
    ["status"],
)
REMINDER_LATENESS = Histogram(
    "between_reminder_lateness_seconds",
    "How late delivered reminders went out (sent_at minus due_at), by channel (push or email).",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
PUSH_RESPONSES = Counter(
    "between_push_responses",
    "Answers of push services by status class (2xx, 4xx, 5xx, ...; 'none' when there was no answer: "
    "a timeout, a network error or a refused endpoint).",
    ["status_class"],
)
PUSH_SUBSCRIPTIONS_EXPIRED = Counter(
    "between_push_subscriptions_expired",
    "Devices a push service reported gone (404/410): marked expired, no longer sent to.",
)
PUSH_SUBSCRIPTIONS_PRUNED = Counter(
    "between_push_subscriptions_pruned",
    "Expired devices deleted, 30 days after they expired.",
)
EMAIL_FALLBACKS = Counter(
    "between_reminder_email_fallbacks",
    "Reminders that push could not deliver and that went to the client's email instead, by result.",
    ["result"],
)
DISPATCH_TICK_ERRORS = Counter(
    "between_dispatcher_tick_errors",
    "Dispatcher ticks that failed (logged; the next tick retries).",
)


class _LastBeat:
    """When this process's dispatcher last wrote its heartbeat (none in a web-only process)."""

    at: float | None = None

    def set(self, timestamp: float) -> None:
        self.at = timestamp


DISPATCHER_LAST_HEARTBEAT = _LastBeat()


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status and 100 <= status < 600 else "none"


# --- read when scraped -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    engine: Engine
    stale_after: float


class _DatabaseCollector(Collector):
    """Pool use from the engine (no query), then backlog and heartbeats from the database."""

    def __init__(self, scrape: Scrape, *, database: bool = True) -> None:
        self.scrape = scrape
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from _pool_families(self.scrape.engine)
        if DISPATCHER_LAST_HEARTBEAT.at is not None:
            yield GaugeMetricFamily(
                "between_dispatcher_last_heartbeat_timestamp_seconds",
                "When this process's dispatcher last wrote its heartbeat (Unix time).",
                value=DISPATCHER_LAST_HEARTBEAT.at,
            )
        up = GaugeMetricFamily("between_database_up", "1 when the database answered this scrape's queries, else 0.")
        try:
            if not self.database:
                raise TimeoutError
            backlog, beats = _read_database(self.scrape.engine)
        except Exception:  # the database is down: say so, and still serve what this process knows
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        due = GaugeMetricFamily(
            "between_dispatch_backlog",
            "Work due now that no dispatcher has claimed yet: reminders past their due time, and "
            "failed deliveries whose retry time has come.",
            labels=["kind"],
        )
        for kind, count in backlog.items():
            due.add_metric([kind], count)
        yield due
        ages = GaugeMetricFamily(
            "between_dispatcher_heartbeat_age_seconds",
            "Seconds since each running dispatcher last wrote its heartbeat.",
            labels=["dispatcher"],
        )
        fresh = stale = 0
        for name, age in beats:
            ages.add_metric([name], age)
            if age > self.scrape.stale_after:
                stale += 1
            else:
                fresh += 1
        yield ages
        states = GaugeMetricFamily(
            "between_dispatchers",
            "Dispatchers with a fresh heartbeat, and with a stale one (hung, cut off or died).",
            labels=["state"],
        )
        states.add_metric(["fresh"], fresh)
        states.add_metric(["stale"], stale)
        yield states


def _pool_families(engine: Engine) -> Iterator[GaugeMetricFamily]:
    pool: Any = engine.pool
    readings = {
        "size": ("between_db_pool_size", "Connections the pool keeps open at most (not counting overflow)."),
        "checkedout": ("between_db_pool_checked_out", "Database connections in use right now."),
        "checkedin": ("between_db_pool_checked_in", "Open database connections idle in the pool."),
        "overflow": ("between_db_pool_overflow", "Connections open beyond the pool size (negative: room left)."),
    }
    for method, (name, documentation) in readings.items():
        read = getattr(pool, method, None)
        if callable(read):
            yield GaugeMetricFamily(name, documentation, value=float(read()))


def _read_database(engine: Engine) -> tuple[dict[str, int], list[tuple[str, float]]]:
    from app.models import Client, Reminder, ReminderOccurrence
    from app.models.reminder import OccurrenceStatus
    from app.services.heartbeat import beats

    R = Reminder.__table__  # type: ignore[attr-defined]
    C = Client.__table__  # type: ignore[attr-defined]
    O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
    now = datetime.now(UTC)
    with engine.connect() as connection:
        # What a dispatcher's next claim would take (app/dispatch/ledger.py: claim_due, claim_pending).
        reminders = connection.execute(
            select(func.count())
            .select_from(R.join(C, C.c.id == R.c.client_id))
            .where(R.c.paused == false(), R.c.next_due_at <= now, C.c.reminders_paused == false())
        ).scalar_one()
        retries = connection.execute(
            select(func.count())
            .select_from(O)
            .where(O.c.status == OccurrenceStatus.pending, O.c.next_attempt_at <= now)
        ).scalar_one()
        found = beats(connection, now=now)
    return {"reminders": int(reminders), "retries": int(retries)}, [(beat.name, beat.age_seconds) for beat in found]


def exposition(scrape: Scrape, *, database: bool = True) -> bytes:
    """This process's metrics, then the ones read from the engine and (unless the database
    did not answer in time) from the database now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(scrape, database=database))
    return generate_latest(REGISTRY) + generate_latest(registry)
