"""Creating entries over HTTP, against a bare FastAPI endpoint measured in the same run.

Both servers run as separate processes under the same uvicorn settings on
loopback (the app as `between serve --no-dispatcher` on a fresh, migrated SQLite
database, signed in with a client's bearer device token); a few keep-alive httpx
workers POST the same kind of JSON body to each, in alternating rounds.
Figures: entries/s, bare requests/s, their ratio (target ≥ 0.5), client-side
p50/p99 latency, server CPU per request (and how busy each server was, with the
load generator's CPU per request: the bare endpoint is cheap enough that the
Python load generator, not the server, may set its pace), and the serving
process's memory after the run. Every 201 is checked against the rows actually stored.

BENCH_ENTRIES (default 2000) and BENCH_WORKERS (default 4) change the load.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import cpu_seconds, free_port, memory, percentile, record, server

COUNT = int(os.environ.get("BENCH_ENTRIES", "2000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
WARMUP = 200
ROUNDS = 4
TIME_LIMIT = 60.0  # seconds per measured phase; the run stops early rather than hang


@dataclass
class Phase:
    """Requests answered, wall time, server CPU time and each request's latency."""

    done: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    load_cpu: float = 0.0  # the load generator's own CPU time
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        self.done += other.done
        self.seconds += other.seconds
        self.cpu += other.cpu
        self.load_cpu += other.load_cpu
        self.latencies += other.latencies

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.done * 1000 if self.done else float("nan")

    @property
    def load_cpu_ms(self) -> float:
        return self.load_cpu / self.done * 1000 if self.done else float("nan")

    @property
    def busy(self) -> float:
        """Share of the wall time the server spent on CPU: near 1, the server is the
        bottleneck; well below, something else is (often the load generator)."""
        return self.cpu / self.seconds if self.seconds else float("nan")


def _prepare(database_url: str) -> tuple[str, str]:
    """Migrate a fresh database and sign a client in; returns (assignment id, bearer token)."""
    from sqlmodel import Session, select

    from app.core import migrate
    from app.core.db import build_engine
    from app.models import AssignmentCreate, RecordTemplate, SessionKind, TherapistCreate
    from app.services import accounts, assignments, clients, device_sessions, library

    engine = build_engine(database_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        library.sync(session)
        therapist = accounts.create_therapist(
            session,
            data=TherapistCreate(email="bench@between.example", display_name="Bench", password="x" * 16),
        )
        client = clients.create(session, therapist=therapist, display_name="Bench client")
        mood_log = session.exec(select(RecordTemplate).where(RecordTemplate.slug == "mood_log")).first()
        if mood_log is None:
            raise RuntimeError("the library has no mood_log template: is app.services.library.sync in place?")
        assignment = assignments.assign(
            session,
            therapist=therapist,
            client=client,
            data=AssignmentCreate(template_id=mood_log.id),
        )
        _device, token = device_sessions.start(
            session, kind=SessionKind.client, client_id=client.id, days=1, label="bench"
        )
        session.commit()
        assignment_id = str(assignment.id)
    engine.dispose()
    return assignment_id, token


def _count_entries(database_url: str) -> int:
    from sqlalchemy import func
    from sqlmodel import Session, select

    from app.core.db import build_engine
    from app.models import Entry

    engine = build_engine(database_url)
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(Entry)).one()
    engine.dispose()
    return int(count)


def _body(assignment_id: str, n: int) -> dict[str, Any]:
    # Shaped like a phone's mood log, timed a few minutes ago as an offline sync would send.
    occurred = datetime.now(UTC) - timedelta(minutes=n % 30)
    return {
        "id": str(uuid.uuid4()),
        "assignment_id": assignment_id,
        "answers": {
            "mood": n % 11,
            "emotions": {"calm": 40, "anxious": n % 101},
            "note": f"walk #{n}",
        },
        "visibility": "shared",
        "occurred_at": occurred.isoformat(),
    }


async def _load(port: int, *, count: int, headers: dict[str, str], assignment_id: str) -> Phase:
    url = f"http://127.0.0.1:{port}/api/v1/entries"
    # Bodies are built before the clock starts: the load generator should cost the server nothing.
    bodies = [_body(assignment_id, n) for n in range(count)]
    latencies: list[float] = []
    next_index = 0
    deadline = time.monotonic() + TIME_LIMIT
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < count and time.monotonic() < deadline:
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:300]}")

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(WORKERS)))
        seconds = time.perf_counter() - started
    return Phase(done=len(latencies), seconds=seconds, latencies=latencies)


@dataclass(frozen=True)
class Target:
    port: int
    pid: int
    headers: dict[str, str]


def _phase(target: Target, *, count: int, assignment_id: str) -> Phase:
    cpu_before = cpu_seconds(target.pid)
    load_before = time.process_time()
    phase = asyncio.run(_load(target.port, count=count, headers=target.headers, assignment_id=assignment_id))
    phase.cpu = cpu_seconds(target.pid) - cpu_before
    # Includes building the bodies, which is small next to sending them.
    phase.load_cpu = time.process_time() - load_before
    return phase


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="between-bench-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'between.db'}"
        assignment_id, token = _prepare(database_url)

        bare_port, port = free_port(), free_port()
        env = {
            "DATABASE_URL": database_url,
            "BETWEEN_ENVIRONMENT": "development",
            "BETWEEN_DATA_DIR": tmp,
            "BETWEEN_SECRET_KEY": secrets.token_urlsafe(48),
            "BETWEEN_BASE_URL": f"http://127.0.0.1:{port}",
            # The per-person write limit still counts every request (its cost is measured),
            # but it must not turn the run into a stream of 429s.
            "BETWEEN_API_WRITE_MAX": str(10 * (COUNT + WARMUP)),
        }
        serve = ["-m", "app.cli", "serve", "--no-dispatcher", "--host", "127.0.0.1"]
        with (
            server(["-m", "bench._bare", "--port", str(bare_port)], port=bare_port) as bare_process,
            server([*serve, "--port", str(port)], port=port, env=env) as app_process,
        ):
            bare_target = Target(bare_port, bare_process.pid, {})
            app_target = Target(port, app_process.pid, {"Authorization": f"Bearer {token}"})
            for target in (bare_target, app_target):
                _phase(target, count=WARMUP, assignment_id=assignment_id)
            # Alternating short rounds: a burst of load from elsewhere on the machine
            # hits both sides instead of skewing the ratio.
            bare, phase = Phase(), Phase()
            for _round in range(ROUNDS):
                bare.add(_phase(bare_target, count=COUNT // ROUNDS, assignment_id=assignment_id))
                phase.add(_phase(app_target, count=COUNT // ROUNDS, assignment_id=assignment_id))
            bare_memory = memory(bare_process.pid)
            app_memory = memory(app_process.pid)

        stored = _count_entries(database_url)
        expected = WARMUP + phase.done
        if stored != expected:
            raise RuntimeError(f"{expected} entries were answered 201 but {stored} are stored")

    ratio = phase.per_second / bare.per_second if bare.per_second else 0.0
    record(
        "entries",
        {
            "entries": phase.done,
            "workers": WORKERS,
            # API writes taken from the shared (database) rate-limit counter at once.
            "rate_limit_batch": int(os.environ.get("BETWEEN_RATE_LIMIT_BATCH", "10")),
            "entries_per_s": round(phase.per_second, 1),
            "bare_per_s": round(bare.per_second, 1),
            "ratio": round(ratio, 3),
            "target_ratio": 0.5,
            "p50_ms": round(percentile(phase.latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(phase.latencies, 99) * 1000, 2),
            "bare_p50_ms": round(percentile(bare.latencies, 50) * 1000, 2),
            "bare_p99_ms": round(percentile(bare.latencies, 99) * 1000, 2),
            # Server CPU per request: steadier than throughput on a shared machine.
            "cpu_ms_per_entry": round(phase.cpu_ms, 2),
            "bare_cpu_ms_per_request": round(bare.cpu_ms, 2),
            "cpu_ratio": round(bare.cpu_ms / phase.cpu_ms, 3) if phase.cpu_ms else 0.0,
            # Whether the server or the load generator set the pace: a bare server busy
            # well under 1 core while the generator spends more CPU per request than it
            # does means the bare figure is the generator's ceiling, not the server's.
            "server_busy": round(phase.busy, 2),
            "bare_server_busy": round(bare.busy, 2),
            "loadgen_cpu_ms_per_request": round(bare.load_cpu_ms, 2),
            "rss_mib": app_memory["rss_mib"],
            "rss_peak_mib": app_memory["rss_peak_mib"],
            "bare_rss_mib": bare_memory["rss_mib"],
        },
    )


if __name__ == "__main__":
    main()
