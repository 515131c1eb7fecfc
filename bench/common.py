"""What every benchmark shares: recording figures, the machine they ran on,
starting a server process and reading its memory."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
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
