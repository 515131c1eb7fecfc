"""What every benchmark shares: recording figures, the machine they ran on,
starting a server process and reading its memory, and (for pages rendered
in-process) scratch databases, the app on them and timing a page."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"

HEADER = """\
# Benchmarks

Rows are appended by `make bench` (`python -m bench [name ...]`); each run of a
benchmark adds one dated row here and prints the same figures as one JSON line.

How the figures are produced:

- Everything runs on this machine over loopback: the app is started as a real
  server process (uvicorn, as `between serve` runs it) on a free 127.0.0.1 port
  with its own temporary database, and the load comes from a separate process.
- Absolute numbers depend on the machine, so every comparison is a **ratio to a
  baseline measured in the same run** on the same machine (for example the
  entries API against a bare FastAPI endpoint under the same uvicorn settings).
  Compare ratios across rows, not raw throughput.
- Latencies are measured by the load generator, end to end (p50/p99, ms).
  Server CPU per request (user + system time from `/proc/PID/stat`) is steadier
  than throughput on a busy machine and does not depend on how fast the load
  generator is. Memory is the serving process's resident set (`VmRSS`) and its
  peak (`VmHWM`) from `/proc/PID/status`, read after the run.
- The machine column ends with the 1-minute load average when the row was
  written: a high one means other work shared the cores during the run.
- Each benchmark is bounded in request count and in time.

| date | benchmark | machine | python | figures |
|---|---|---|---|---|
"""


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python version and current load: what a row's figures depend on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "ram_gib": _ram_gib(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "load_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def _ram_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown"


def record(name: str, figures: Mapping[str, Any]) -> None:
    """Print the figures as one JSON line and append a dated row to docs/benchmarks.md."""
    now = datetime.now(UTC).replace(microsecond=0)
    host = machine()
    print(json.dumps({"benchmark": name, "date": now.isoformat(), **host, **figures}), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if not RESULTS.exists():
        RESULTS.write_text(HEADER)
    ram = f", {host['ram_gib']} GiB" if host["ram_gib"] is not None else ""
    row = [
        now.strftime("%Y-%m-%d %H:%M UTC"),
        name,
        f"{host['cores']} cores{ram}, {host['cpu']}, load {host['load_1m']}",
        host["python"],
        ", ".join(f"{key}={_fmt(value)}" for key, value in figures.items()),
    ]
    with RESULTS.open("a") as out:
        out.write("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 100:
            return str(round(value))
        return f"{value:.3g}"
    return str(value)


# --- helpers for benchmarks that start a server -------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak, in MiB, from /proc/PID/status."""
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = round(int(rest.split()[0]) / 1024, 1)
    return {
        "rss_mib": found.get("VmRSS", float("nan")),
        "rss_peak_mib": found.get("VmHWM", float("nan")),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/PID/stat.

    CPU per request is steadier than requests per second on a busy machine, and it
    does not depend on how fast the load generator is.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    # The command name may contain spaces; the fields after its closing bracket do not.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted sequence."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@contextlib.contextmanager
def server(
    args: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/healthz",
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python ARGS` until it answers on 127.0.0.1:PORT, and stop it afterwards.

    Its output goes to a log file so a slow reader never blocks the server; the log
    is shown when the server fails to come up.
    """
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(process, f"http://127.0.0.1:{port}{ready_path}", timeout=timeout, log=log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


def _wait_ready(process: subprocess.Popen[bytes], url: str, *, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s:\n{log.read_text()[-4000:]}")


# --- helpers for benchmarks that render pages in-process ----------------------------------


@contextlib.contextmanager
def scratch_databases(tmp: Path, name: str) -> Iterator[list[tuple[str, str]]]:
    """A fresh SQLite database file, and a fresh PostgreSQL database too when
    TEST_DATABASE_URL is set: [(backend, url), ...]. The PostgreSQL one is dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    runs = [("sqlite", f"sqlite:///{tmp / f'{name}.db'}")]
    pg = os.environ.get("TEST_DATABASE_URL", "")
    pg_name = None
    base = make_url(pg).set(drivername="postgresql+psycopg") if pg else None
    try:
        if base is not None:
            pg_name = f"between_bench_{os.getpid()}_{secrets.token_hex(4)}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
            admin.dispose()
            runs.append(("postgresql", base.set(database=pg_name).render_as_string(hide_password=False)))
        yield runs
    finally:
        if base is not None and pg_name:
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()


def in_process_app(url: str, tmp: Path) -> tuple[Any, Any]:
    """A migrated engine on `url` and the app on it, as the test suite builds them: (engine, app)."""
    from app.core import migrate
    from app.core.db import build_engine
    from app.core.settings import Environment, Settings
    from app.main import create_app

    engine = build_engine(url)
    migrate.upgrade(engine)
    settings = Settings(
        environment=Environment.test,
        database_url=url,
        data_dir=tmp / "data",
        secret_key="bench-secret-key-" + "x" * 32,
        base_url="http://testserver",
    )
    return engine, create_app(settings, engine=engine)


def signed_in_therapist(session: Any, *, email: str, name: str) -> tuple[Any, str]:
    """A therapist account and the token of a signed-in browser session: (therapist, token)."""
    from app.models import SessionKind, TherapistCreate
    from app.services import accounts, device_sessions

    therapist = accounts.create_therapist(
        session, data=TherapistCreate(email=email, display_name=name, password="correct horse battery")
    )
    _device, token = device_sessions.start(session, kind=SessionKind.therapist, therapist_id=therapist.id, days=1)
    session.commit()
    return therapist, token


def library_versions(session: Any, slugs: Sequence[str]) -> dict[str, Any]:
    """The current version of each library record type named, by slug."""
    from sqlmodel import select

    from app.models import RecordTemplate, TemplateVersion

    versions = {}
    for slug in slugs:
        template = session.exec(select(RecordTemplate).where(RecordTemplate.slug == slug)).one()
        versions[slug] = session.exec(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id,
                TemplateVersion.number == template.current_version,
            )
        ).one()
    return versions


def measure_page(client: Any, engine: Any, path: str, *, repeat: int, check: Any = None) -> tuple[float, int, float]:
    """Median wall time (ms), SQL query count, and median CPU time of the process (ms) of GET `path`.

    One request warms up (and is handed to `check`, when given), one is counted, then
    `repeat` are timed.
    """
    import statistics

    queries = count_queries(client, engine, path, check=check)
    timings, cpu = zip(*(time_request(client, path) for _ in range(repeat)), strict=True)
    return statistics.median(timings), queries, statistics.median(cpu)


def count_queries(client: Any, engine: Any, path: str, *, check: Any = None) -> int:
    """The SQL statements one GET `path` runs, after a first request that warms up (and is
    handed to `check`, when given)."""
    from app.core.db import counting_statements

    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    if check is not None:
        check(response)
    with counting_statements(engine) as statements:
        client.get(path)
    return len(statements)


def time_request(client: Any, path: str) -> tuple[float, float]:
    """Wall time and CPU time of the process (ms) of one GET `path`."""
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(path)
    wall = (time.perf_counter() - started) * 1000
    # The app and the test client share this process: its CPU time per request is
    # steadier than wall time on a machine busy with other work.
    cpu = (time.process_time() - cpu_started) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return wall, cpu
