"""Voice notes through two replicas: a 1 MB recording uploaded through one and played
through the other from the database, against the same bytes served from a file.

Two app servers share one fresh, migrated database but each has its own data directory,
as on two hosts. Notes are uploaded through the first (`between serve --no-dispatcher`,
signed in with a client's bearer token). The second (bench/_voice_app.py: the same app
plus one baseline route) plays a note back whole, from the database, and the baseline
sends the same 1 MB from a file with Starlette's FileResponse after the same checks, as
voice notes were served before they moved into the database: one process, one set of
middleware, only where the audio comes from differs. A few keep-alive httpx workers
fetch from each in alternating rounds.

Figures: plays per second and p50/p99 per play for both; `slowdown`, the database's p50
over the file's (target ≤ 2); server CPU per play for both; a 64 KiB piece from the
middle (a browser seeking) and the last 100 bytes, p50; upload p50 through the other
replica; the playing server's memory. Every body is checked against the recording.
Run on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too.

BENCH_VOICE_PLAYS (default 200 per side) and BENCH_VOICE_WORKERS (default 2) change the load.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import cpu_seconds, free_port, memory, percentile, record, server

PLAYS = int(os.environ.get("BENCH_VOICE_PLAYS", "200"))
WORKERS = int(os.environ.get("BENCH_VOICE_WORKERS", "2"))
UPLOADS = 10
ROUNDS = 4
WARMUP = 10
SIZE = 1_000_000
TIME_LIMIT = 60.0  # seconds per measured phase; the run stops early rather than hang
TARGET_SLOWDOWN = 2.0

# A WebM header (what the upload sniffs) and then bytes that differ from place to place.
RECORDING = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + os.urandom(SIZE))[:SIZE]
DIGEST = hashlib.sha256(RECORDING).digest()


@dataclass
class Phase:
    done: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        self.done += other.done
        self.seconds += other.seconds
        self.cpu += other.cpu
        self.latencies += other.latencies

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.done * 1000 if self.done else float("nan")

    def ms(self, q: float) -> float:
        return round(percentile(self.latencies, q) * 1000, 2)


def _prepare(database_url: str) -> str:
    """Migrate a fresh database and sign a client's phone in; returns its bearer token."""
    from sqlmodel import Session

    from app.core import migrate
    from app.core.db import build_engine
    from app.models import SessionKind, TherapistCreate
    from app.models.types import utcnow
    from app.services import accounts, clients, device_sessions

    engine = build_engine(database_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        therapist = accounts.create_therapist(
            session, data=TherapistCreate(email="bench@between.example", display_name="Bench", password="x" * 16)
        )
        client = clients.create(session, therapist=therapist, display_name="Bench client")
        device, token = device_sessions.start(
            session, kind=SessionKind.client, client_id=client.id, days=1, label="bench"
        )
        device.confirmed_at = utcnow()  # the client's own phone: it may hear their notes
        session.add(device)
        session.commit()
    engine.dispose()
    return token


def _upload(port: int, token: str) -> tuple[str, list[float]]:
    """Upload the recording UPLOADS times through one replica; returns one note's id and the times."""
    times = []
    note_id = ""
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as client:
        for _n in range(UPLOADS):
            note_id = str(uuid.uuid4())
            started = time.perf_counter()
            response = client.post(
                f"http://127.0.0.1:{port}/api/v1/voice-notes",
                data={"id": note_id},
                files={"file": ("note.webm", RECORDING, "audio/webm")},
            )
            times.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
    return note_id, times


async def _load(url: str, *, count: int, headers: dict[str, str], expect: bytes | None = None) -> Phase:
    latencies: list[float] = []
    remaining = count
    deadline = time.monotonic() + TIME_LIMIT
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(url)
            body = response.content
            latencies.append(time.perf_counter() - started)
            if response.status_code not in (200, 206):
                raise RuntimeError(f"GET {url} answered {response.status_code}: {body[:300]!r}")
            wanted = RECORDING if expect is None else expect
            if len(body) != len(wanted) or (expect is None and hashlib.sha256(body).digest() != DIGEST):
                raise RuntimeError(f"GET {url} gave {len(body)} bytes that are not the recording")
            if expect is not None and body != expect:
                raise RuntimeError(f"GET {url} gave the wrong piece")

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30.0) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(WORKERS)))
        seconds = time.perf_counter() - started
    return Phase(done=len(latencies), seconds=seconds, latencies=latencies)


def _phase(url: str, pid: int, *, count: int, headers: dict[str, str], expect: bytes | None = None) -> Phase:
    before = cpu_seconds(pid)
    phase = asyncio.run(_load(url, count=count, headers=headers, expect=expect))
    phase.cpu = cpu_seconds(pid) - before
    return phase


def _run(backend: str, database_url: str, tmp: Path) -> dict[str, Any]:
    token = _prepare(database_url)
    recording = tmp / "recording.webm"
    recording.write_bytes(RECORDING)
    secret = secrets.token_urlsafe(48)
    port_a, port_b = free_port(), free_port()

    def replica(port: int, host: str) -> dict[str, str]:
        return {
            "DATABASE_URL": database_url,
            "BETWEEN_ENVIRONMENT": "development",
            "BETWEEN_DATA_DIR": str(tmp / host),
            "BETWEEN_SECRET_KEY": secret,
            "BETWEEN_BASE_URL": f"http://127.0.0.1:{port}",
            "BETWEEN_UPLOAD_MAX": str(10 * UPLOADS),
        }

    serve = ["-m", "app.cli", "serve", "--no-dispatcher", "--host", "127.0.0.1"]
    playing = ["-m", "bench._voice_app", "--file", str(recording)]
    with (
        server([*serve, "--port", str(port_a)], port=port_a, env=replica(port_a, "host-a")),
        server([*playing, "--port", str(port_b)], port=port_b, env=replica(port_b, "host-b")) as app_process,
    ):
        note_id, upload_times = _upload(port_a, token)
        auth = {"Authorization": f"Bearer {token}"}
        pid = app_process.pid
        file_url = f"http://127.0.0.1:{port_b}/bench/voice-file/{note_id}"
        note_url = f"http://127.0.0.1:{port_b}/api/v1/voice-notes/{note_id}"
        _phase(file_url, pid, count=WARMUP, headers=auth)
        _phase(note_url, pid, count=WARMUP, headers=auth)
        # Alternating rounds: a burst of other work on the machine hits both sides.
        from_file, from_database = Phase(), Phase()
        for _round in range(ROUNDS):
            from_file.add(_phase(file_url, pid, count=PLAYS // ROUNDS, headers=auth))
            from_database.add(_phase(note_url, pid, count=PLAYS // ROUNDS, headers=auth))
        middle = SIZE // 2
        seek = _phase(
            note_url,
            pid,
            count=PLAYS // 2,
            headers={**auth, "Range": f"bytes={middle}-{middle + 65535}"},
            expect=RECORDING[middle : middle + 65536],
        )
        tail = _phase(note_url, pid, count=PLAYS // 2, headers={**auth, "Range": "bytes=-100"}, expect=RECORDING[-100:])
        app_memory = memory(pid)
        # Neither host wrote the recording to its own disk.
        on_disk = [path for path in tmp.rglob("*") if path.parent.name == "voice"]
        if on_disk:
            raise RuntimeError(f"voice files written to disk: {on_disk[:3]}")

    slowdown = percentile(from_database.latencies, 50) / percentile(from_file.latencies, 50)
    return {
        "backend": backend,
        "note_bytes": SIZE,
        "plays": from_database.done,
        "workers": WORKERS,
        "db_per_s": round(from_database.per_second, 1),
        "file_per_s": round(from_file.per_second, 1),
        "db_p50_ms": from_database.ms(50),
        "db_p99_ms": from_database.ms(99),
        "file_p50_ms": from_file.ms(50),
        "file_p99_ms": from_file.ms(99),
        "slowdown": round(slowdown, 2),
        "target_slowdown": TARGET_SLOWDOWN,
        "db_cpu_ms_per_play": round(from_database.cpu_ms, 2),
        "file_cpu_ms_per_play": round(from_file.cpu_ms, 2),
        "seek_64k_p50_ms": seek.ms(50),
        "tail_100_p50_ms": tail.ms(50),
        "upload_p50_ms": round(percentile(upload_times, 50) * 1000, 1),
        "rss_mib": app_memory["rss_mib"],
        "rss_peak_mib": app_memory["rss_peak_mib"],
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="between-bench-voice-") as tmp:
        runs = [("sqlite", f"sqlite:///{Path(tmp) / 'between.db'}")]
        pg = os.environ.get("TEST_DATABASE_URL", "")
        pg_name = None
        if pg:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            base = make_url(pg).set(drivername="postgresql+psycopg")
            pg_name = f"between_bench_voice_{os.getpid()}_{secrets.token_hex(4)}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
            admin.dispose()
            runs.append(("postgresql", base.set(database=pg_name).render_as_string(hide_password=False)))
        try:
            for backend, url in runs:
                folder = Path(tmp) / backend
                folder.mkdir()
                record("voice", _run(backend, url, folder))
        finally:
            if pg_name:
                from sqlalchemy import create_engine, text
                from sqlalchemy.engine import make_url

                admin = create_engine(make_url(pg).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
