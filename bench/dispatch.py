"""The reminder dispatcher: 10,000 reminders due in the same minute, on PostgreSQL.

A fresh, migrated PostgreSQL database gets 10,000 clients, each with one reminder
due at the start of the next minute and one device whose endpoint is a loopback
push sink (its own process; it counts each message by its Topic and timestamps
it). The sink answers each message after a realistic network round trip
(BENCH_SINK_DELAY_MS, default 30 ms; a real push service is never on loopback):
against a sink that answers instantly, one-by-one sending looks nearly as good as
concurrent sending and the comparison with the naive loop says nothing. One
dispatcher, exactly as `between serve`/`between dispatcher` runs it (APScheduler
tick, default settings), sends them. Measured in the same run:

- naive: `pywebpush.webpush()` called in a loop, one message at a time, on a
  sample (BENCH_NAIVE, default 300), as messages per second, against the same
  sink with the same delay;
- floor: encrypting (aes128gcm) and VAPID-signing the same messages in this
  process with no I/O at all, as messages per second.

Figures: reminders, sink_delay_ms, seconds_to_all_sent (from the due minute to the last receipt),
per_s (first to last receipt), naive_per_s, floor_per_s, p50/p99 lateness (receipt minus due
instant, s), duplicates and lost (by Topic at the sink, checked against the database), and the
CPU spent per message while the burst ran: by the dispatcher's process (its event loop and
database threads; this benchmark's light polling of the sink included) and by its encryption
worker processes (`encrypt_processes` of them, the default for this machine), next to the
floor's CPU per message.
Targets: per_s >= 10 x naive_per_s and >= 0.4 x floor_per_s; everything within 10 s.

BENCH_DATABASE_URL (default: TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test)
names the server; a temporary database is created on it and dropped afterwards.
BENCH_REMINDERS (default 10000) changes the size.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COUNT = int(os.environ.get("BENCH_REMINDERS", "10000"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE", "300"))
FLOOR_SAMPLE = 3000
# How long the loopback push sink waits before answering each message (both runs).
SINK_DELAY_MS = float(os.environ.get("BENCH_SINK_DELAY_MS", "30"))
TIME_LIMIT = 120.0


def _server_url() -> str:
    return (
        os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/test"
    )


def _create_database() -> tuple[str, str]:
    name = f"between_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = make_url(_server_url()).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_database(name: str) -> None:
    url = make_url(_server_url()).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _payload() -> bytes:
    from app.dispatch.dispatcher import notification_texts

    texts = notification_texts(locale="en", title=None)
    return json.dumps(
        {
            "title": texts["title"],
            "body": texts["body"],
            "url": f"/c/record/{uuid.uuid4()}",
            "tag": f"reminder-{uuid.uuid4()}",
            "reminder": str(uuid.uuid4()),
            "occurrence": str(uuid.uuid4()),
            "snooze": "x" * 70,
            "actions": texts["actions"],
        },
        separators=(",", ":"),
    ).encode()


def floor_per_s(keys: Any, p256dh: str, auth: str, audience: str) -> float:
    """Encrypt and sign every message, no I/O: the CPU cost nothing can avoid."""
    from app.dispatch.vapid import VapidSigner
    from app.dispatch.webpush import encrypt

    signer = VapidSigner(keys)
    payload = _payload()
    started = time.perf_counter()
    for _n in range(FLOOR_SAMPLE):
        encrypt(payload, p256dh=p256dh, auth=auth)
        signer.sign(audience, int(time.time()) + 43200)
    return FLOOR_SAMPLE / (time.perf_counter() - started)


def naive_per_s(keys: Any, p256dh: str, auth: str, base: str) -> float:
    """pywebpush.webpush() one message at a time, as most examples do."""
    from pywebpush import webpush

    pem = keys.private_key_b64
    payload = _payload().decode()
    started = time.perf_counter()
    for n in range(NAIVE_SAMPLE):
        webpush(
            {"endpoint": f"{base}/naive/{n}", "keys": {"p256dh": p256dh, "auth": auth}},
            data=payload,
            vapid_private_key=pem,
            vapid_claims={"sub": keys.subject},
            ttl=1800,
            headers={"Content-Type": "application/octet-stream", "Urgency": "high"},
        )
    return NAIVE_SAMPLE / (time.perf_counter() - started)


async def _dispatch(engine: Any, settings: Any, sink: Any, due_at: datetime) -> dict[str, Any]:
    from app.dispatch.dispatcher import Dispatcher, settle_heap

    dispatcher = Dispatcher(engine=engine, settings=settings)
    settle_heap()  # as run_forever does
    # Start ticking shortly before the minute, as a long-running dispatcher would be.
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 1.0))
    dispatcher.start()
    await asyncio.sleep(0.5)  # the encryption workers start before the minute, as they would
    workers = dispatcher.sender.encryptor.worker_pids()
    cpu_before = time.process_time(), _cpu_seconds(workers)
    limit = time.monotonic() + TIME_LIMIT
    try:
        while time.monotonic() < limit:
            await asyncio.sleep(0.25)
            if await asyncio.to_thread(sink.count) >= COUNT:
                break
        cpu = time.process_time() - cpu_before[0], _cpu_seconds(workers) - cpu_before[1]
    finally:
        await dispatcher.stop()
    stats = dict(await asyncio.to_thread(sink.stats))
    stats["cpu"] = cpu
    stats["encrypt_processes"] = len(workers)
    return stats


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, from /proc (0 where it cannot be read)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _percentile(values: list[float], q: float) -> float:
    from bench.common import percentile

    return percentile(values, q)


def run() -> dict[str, Any]:
    from app.core import migrate
    from app.core.db import build_engine
    from app.core.settings import Environment, Settings
    from app.dispatch.dispatcher import run_loop
    from app.models import ReminderOccurrence
    from tests.dispatch.conftest import device_keys, free_port
    from tests.dispatch.load import SinkProcess, seed_due_reminders

    url, name = _create_database()
    engine = build_engine(url)
    sink = SinkProcess(free_port(), delay=SINK_DELAY_MS / 1000.0)
    try:
        migrate.upgrade(engine)
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                environment=Environment.test,
                database_url=url,
                data_dir=Path(data_dir),
                secret_key="bench-secret-" + "x" * 40,
                base_url="http://127.0.0.1",
                vapid_subject="mailto:bench@example.org",
                push_allow_loopback=True,  # the sink listens on loopback
            )
            from app.dispatch.vapid import VapidKeys

            keys = VapidKeys.load(settings)
            p256dh, auth = device_keys()
            floor = floor_per_s(keys, p256dh, auth, sink.base)
            naive = naive_per_s(keys, p256dh, auth, sink.base)

            due_at = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
            if (due_at - datetime.now(UTC)).total_seconds() < 15:
                due_at += timedelta(minutes=1)  # leave time to seed
            seed_due_reminders(engine, count=COUNT, due_at=due_at, sink_base=sink.base)
            stats = run_loop(_dispatch(engine, settings, sink, due_at))
        O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
        with engine.connect() as connection:
            statuses = dict(connection.execute(select(O.c.status, func.count()).group_by(O.c.status)).all())
            occurrence_ids = {row[0].hex for row in connection.execute(select(O.c.id))}
    finally:
        sink.stop()
        engine.dispose()
        _drop_database(name)

    topics: dict[str, int] = {t: n for t, n in stats["topics"].items() if t}
    received = list(stats["times"])
    due = due_at.timestamp()
    lateness = [max(0.0, moment - due) for moment in received if moment]
    delivered = set(topics) & occurrence_ids
    sent_statuses = sum(n for s, n in statuses.items() if str(s) in ("sent", "retried_sent"))
    seconds = (max(received) - due) if received else float("nan")
    # Throughput while sending: first to last receipt (the tick phase is in the lateness).
    span = (max(received) - min(received)) if received else 0.0
    figures = {
        "reminders": COUNT,
        "sink_delay_ms": SINK_DELAY_MS,
        "seconds_to_all_sent": round(seconds, 2),
        "per_s": round(len(delivered) / span, 1) if span > 0 else float("nan"),
        "naive_per_s": round(naive, 1),
        "floor_per_s": round(floor, 1),
        "p50_lateness_s": round(_percentile(lateness, 50), 2),
        "p99_lateness_s": round(_percentile(lateness, 99), 2),
        "duplicates": sum(n - 1 for n in topics.values() if n > 1),
        # CPU per message while the burst ran: the dispatcher process (event loop, database
        # threads, the benchmark's own polling) and its encryption workers.
        "dispatcher_cpu_ms_per_message": round(1000 * stats["cpu"][0] / COUNT, 3),
        "encrypt_cpu_ms_per_message": round(1000 * stats["cpu"][1] / COUNT, 3),
        "encrypt_processes": stats["encrypt_processes"],
        "lost": COUNT - min(len(delivered), sent_statuses),
    }
    figures["per_s_vs_naive"] = round(figures["per_s"] / naive, 1) if naive else float("nan")
    figures["per_s_vs_floor"] = round(figures["per_s"] / floor, 2) if floor else float("nan")
    figures["floor_cpu_ms_per_message"] = round(1000 / floor, 3) if floor else float("nan")
    return figures


def main() -> dict[str, Any]:
    figures = run()
    try:
        from bench.common import record
    except ImportError:
        print(json.dumps(figures), flush=True)
    else:
        record("dispatch", figures)
    return figures


if __name__ == "__main__":
    main()
