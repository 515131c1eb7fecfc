"""The reminder dispatcher: 10,000 reminders due in the same minute, on PostgreSQL, sent by TWO
`between dispatcher` processes through pywebpush.

A fresh, migrated PostgreSQL database gets 10,000 clients, each with one reminder due at the
start of a coming minute and one device whose endpoint is a loopback push sink (its own process;
it counts each message by its Topic and timestamps it). The sink answers each message after a
realistic network round trip (BENCH_SINK_DELAY_MS, default 30 ms; a real push service is never
on loopback). Two `between dispatcher` processes, started before the minute with default
settings (APScheduler tick, one aiohttp session each), share the burst through the database.

Measured in the same run, against the same sink and with the same payload:

- webpush_async: pywebpush's own `webpush_async()` called one message at a time with a fresh
  VAPID token each, as a user of the library would write it (BENCH_NAIVE messages, default 300);
- floor: what nothing can avoid, in one process with no I/O: a fresh ephemeral key and
  `http_ece` aes128gcm encryption per message, the VAPID header from the per-origin cache;
  measured before and right after the burst, and compared as the mean of the two (both are
  reported: on a shared machine the two differed by up to a fifth within one run);
- send_only: `PushSender.send` (app/dispatch/webpush.py) in this process, 200 at a time, against
  the sink, without the database: with the floor, it splits the dispatchers' CPU into
  encryption, pywebpush + aiohttp, and the dispatcher's own work (claiming and recording).

Figures: reminders, dispatchers, sink_delay_ms, seconds_to_all_sent (from the due minute to the
last receipt), per_s (first to last receipt), webpush_async_per_s, floor_per_s, the two ratios,
p50/p99 lateness (receipt minus due instant, s), duplicates and lost (by Topic at the sink,
checked against the database), and CPU per message: of each dispatcher process while the burst
ran (user + system from /proc, divided by the messages that process sent, from its /metrics),
of PostgreSQL's server processes and of the sink over the same time (per message of the burst),
of the floor, of send_only and of webpush_async.
Targets: all out with p99 lateness <= 10 s, 0 duplicates, 0 lost, per_s >= 0.4 x floor_per_s.

BENCH_DATABASE_URL (default: TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test)
names the server; a temporary database is created on it and dropped afterwards.
BENCH_REMINDERS (default 10000) changes the size.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
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
SEND_SAMPLE = 3000
DISPATCHERS = 2
# How long the loopback push sink waits before answering each message (every run).
SINK_DELAY_MS = float(os.environ.get("BENCH_SINK_DELAY_MS", "30"))
TIME_LIMIT = 180.0
SUBJECT = "mailto:bench@example.org"


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


def floor(keys: Any, p256dh: str, auth: str, endpoint: str) -> tuple[float, float]:
    """http_ece encryption with a fresh ephemeral key per message and the cached VAPID header,
    no I/O: (messages per second, CPU ms per message)."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    from app.core.push_rules import b64url_decode
    from app.dispatch.vapid import VapidSigner

    signer = VapidSigner(keys)
    payload = _payload()
    receiver, secret = b64url_decode(p256dh), b64url_decode(auth)
    started, cpu = time.perf_counter(), time.process_time()
    for _n in range(FLOOR_SAMPLE):
        http_ece.encrypt(
            payload,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=receiver,
            auth_secret=secret,
            version="aes128gcm",
        )
        signer.authorization(endpoint)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return FLOOR_SAMPLE / elapsed, 1000 * cpu / FLOOR_SAMPLE


async def webpush_async_baseline(keys: Any, p256dh: str, auth: str, base: str) -> tuple[float, float]:
    """pywebpush.webpush_async() one message at a time, a fresh token each: (per s, CPU ms/message)."""
    from pywebpush import webpush_async

    payload = _payload().decode()
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(NAIVE_SAMPLE):
        await webpush_async(
            {"endpoint": f"{base}/naive/{n}", "keys": {"p256dh": p256dh, "auth": auth}},
            data=payload,
            vapid_private_key=keys.private_key_b64,
            vapid_claims={"sub": keys.subject},
            ttl=1800,
            headers={"Urgency": "high"},
        )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return NAIVE_SAMPLE / elapsed, 1000 * cpu / NAIVE_SAMPLE


async def send_only(keys: Any, p256dh: str, auth: str, base: str) -> tuple[float, float]:
    """The dispatcher's send path alone, 200 at a time, no database: (per s, CPU ms/message)."""
    from app.dispatch.vapid import VapidSigner
    from app.dispatch.webpush import PushSender, Target
    from app.services.push_endpoints import EndpointRules

    sender = PushSender(VapidSigner(keys), timeout=10, concurrency=200, rules=EndpointRules(allow_loopback=True))
    payload = _payload()
    targets = [Target(f"{base}/send-only/{n}", p256dh, auth) for n in range(SEND_SAMPLE)]
    await sender.send(targets[0], payload, ttl=1800)  # the connection pool and token, as in a running dispatcher
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender.send(target, payload, ttl=1800) for target in targets))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await sender.aclose()
    return SEND_SAMPLE / elapsed, 1000 * cpu / SEND_SAMPLE


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process on this machine (backends, WAL writer,
    checkpointer…), by pid: the database's share of the same cores."""
    cpu = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    cpu[int(entry.name)] = _cpu_seconds(int(entry.name))
            except OSError:  # gone meanwhile
                continue
    return cpu


def _sent_by(port: int) -> int:
    """Occurrences a dispatcher process recorded as sent, from its own /metrics."""
    import httpx

    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    pattern = r'^between_reminder_outcomes_total\{status="(?:sent|retried_sent)"\} ([0-9.e+]+)$'
    return int(sum(float(value) for value in re.findall(pattern, body, re.MULTILINE)))


def _percentile(values: list[float], q: float) -> float:
    from bench.common import percentile

    return percentile(values, q)


def burst(url: str, keys: Any, sink: Any, data_dir: Path, engine: Any) -> dict[str, Any]:
    """Seed COUNT reminders due at a coming minute, let two dispatcher processes send them."""
    from bench.common import free_port
    from tests.dispatch.load import dispatcher_env, seed_due_reminders
    from tests.peers import wait_until
    from tests.processes import start_dispatcher, stop_processes

    due_at = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (due_at - datetime.now(UTC)).total_seconds() < 30:
        due_at += timedelta(minutes=1)  # leave time to seed and to start the processes
    seed_due_reminders(engine, count=COUNT, due_at=due_at, sink_base=sink.base)
    env = dispatcher_env(url, str(data_dir), vapid_private_key=keys.private_key_b64, vapid_subject=keys.subject)
    env.pop("BETWEEN_DISPATCH_TICK_SECONDS", None)  # the default tick, as deployed
    ports = [free_port() for _n in range(DISPATCHERS)]
    processes = [
        start_dispatcher(env, data_dir / f"dispatcher-{n}.log", "--health-port", str(port))
        for n, port in enumerate(ports, 1)
    ]
    try:
        for port in ports:
            wait_until(lambda p=port: _answers(p), what="a dispatcher's health port", limit=60, every=0.2)
        # CPU from just before the minute: starting up is not sending.
        time.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds() - 0.5))
        before = [_cpu_seconds(process.pid) for process in processes]
        database_before, sink_before = _postgres_cpu(), _cpu_seconds(sink.process.pid)
        limit = time.monotonic() + TIME_LIMIT
        while time.monotonic() < limit and sink.count() < COUNT:
            time.sleep(0.25)
        time.sleep(1.0)  # the last outcomes recorded
        cpu = [_cpu_seconds(process.pid) - start for process, start in zip(processes, before, strict=True)]
        database = sum(seconds - database_before.get(pid, 0.0) for pid, seconds in _postgres_cpu().items())
        sink_cpu = _cpu_seconds(sink.process.pid) - sink_before
        sent = [_sent_by(port) for port in ports]
    finally:
        stop_processes(processes)
    return {"due_at": due_at, "cpu": cpu, "sent": sent, "database_cpu": database, "sink_cpu": sink_cpu, **sink.stats()}


def _answers(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def run() -> dict[str, Any]:
    from app.core import migrate
    from app.core.db import build_engine
    from app.dispatch.dispatcher import run_loop
    from app.dispatch.vapid import VapidKeys
    from app.models import ReminderOccurrence
    from bench.common import free_port
    from tests.dispatch.conftest import device_keys
    from tests.dispatch.load import SinkProcess

    url, name = _create_database()
    engine = build_engine(url)
    sink = SinkProcess(free_port(), delay=SINK_DELAY_MS / 1000.0)
    keys = VapidKeys.generate(SUBJECT)
    try:
        migrate.upgrade(engine)
        p256dh, auth = device_keys()
        floor_rate, floor_cpu = floor(keys, p256dh, auth, sink.base)
        naive_rate, naive_cpu = run_loop(webpush_async_baseline(keys, p256dh, auth, sink.base))
        send_rate, send_cpu = run_loop(send_only(keys, p256dh, auth, sink.base))
        with tempfile.TemporaryDirectory() as data_dir:
            stats = burst(url, keys, sink, Path(data_dir), engine)
        # Again right after the burst: the machine's speed drifts over a run of a minute or two
        # (other work on its cores), and the burst is compared with the mean of the two.
        floor_after_rate, floor_after_cpu = floor(keys, p256dh, auth, sink.base)
        O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
        with engine.connect() as connection:
            statuses: dict[Any, int] = dict(
                connection.execute(select(O.c.status, func.count()).group_by(O.c.status)).all()
            )
            occurrence_ids = {row[0].hex for row in connection.execute(select(O.c.id))}
    finally:
        sink.stop()
        engine.dispose()
        _drop_database(name)

    # The baselines carry no Topic (the sink counts only the dispatchers' messages), send_only's
    # do not either: every Topic at the sink is one occurrence.
    topics: dict[str, int] = {t: n for t, n in stats["topics"].items() if t}
    received = list(stats["times"])
    due = stats["due_at"].timestamp()
    lateness = [max(0.0, moment - due) for moment in received if moment]
    delivered = set(topics) & occurrence_ids
    sent_statuses = sum(n for s, n in statuses.items() if str(s) in ("sent", "retried_sent"))
    span = (max(received) - min(received)) if received else 0.0
    floor_mean = (floor_rate + floor_after_rate) / 2
    per_s = round(len(delivered) / span, 1) if span > 0 else float("nan")
    figures: dict[str, Any] = {
        "reminders": COUNT,
        "dispatchers": DISPATCHERS,
        "sink_delay_ms": SINK_DELAY_MS,
        "seconds_to_all_sent": round(max(received) - due, 2) if received else float("nan"),
        "per_s": per_s,
        "webpush_async_per_s": round(naive_rate, 1),
        "floor_per_s": round(floor_mean, 1),
        "floor_before_per_s": round(floor_rate, 1),
        "floor_after_per_s": round(floor_after_rate, 1),
        "per_s_vs_webpush_async": round(per_s / naive_rate, 1),
        "per_s_vs_floor": round(per_s / floor_mean, 2),
        "p50_lateness_s": round(_percentile(lateness, 50), 2),
        "p99_lateness_s": round(_percentile(lateness, 99), 2),
        "duplicates": sum(n - 1 for n in topics.values() if n > 1),
        "lost": COUNT - min(len(delivered), sent_statuses),
    }
    for n, (cpu, sent) in enumerate(zip(stats["cpu"], stats["sent"], strict=True), 1):
        figures[f"dispatcher{n}_sent"] = sent
        figures[f"dispatcher{n}_cpu_ms_per_message"] = round(1000 * cpu / sent, 3) if sent else float("nan")
    figures["postgres_cpu_ms_per_message"] = round(1000 * stats["database_cpu"] / COUNT, 3)
    figures["sink_cpu_ms_per_message"] = round(1000 * stats["sink_cpu"] / COUNT, 3)
    figures["floor_cpu_ms_per_message"] = round((floor_cpu + floor_after_cpu) / 2, 3)
    figures["send_only_cpu_ms_per_message"] = round(send_cpu, 3)
    figures["send_only_per_s"] = round(send_rate, 1)
    figures["webpush_async_cpu_ms_per_message"] = round(naive_cpu, 3)
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
