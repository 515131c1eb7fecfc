"""The therapist's caseload and pre-session brief with a year of data.

One therapist has 200 clients and another 20; every client has two assignments
(a mood log twice a day and a daily sleep diary: about three entries a day) and
a year of entries, plus weekly sessions. The data is bulk-inserted with
SQLAlchemy core into a fresh, migrated SQLite database (and into a fresh
PostgreSQL database too when TEST_DATABASE_URL is set). The pages are rendered
in-process through the app (TestClient), signed in as the therapist.

Per caseload size it prints one JSON line: clients, entries (all of that
therapist's clients), the median caseload page time and its SQL query count,
the same for the table view sorted by a column, and for a client's brief, each
with the median CPU time of the process per request (steadier than wall time when
other work shares the machine).
Queries are counted with a `before_cursor_execute` listener. Targets: query counts independent of the
number of clients and entries; caseload median under 150 ms.

BENCH_CASELOAD_REPEAT (default 11) sets the timed requests per page.
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.common import in_process_app, library_versions, measure_page, record, scratch_databases, signed_in_therapist

REPEAT = int(os.environ.get("BENCH_CASELOAD_REPEAT", "11"))
SIZES = (20, 200)
DAYS = 365
ZONES = ["Europe/Madrid", "America/New_York", "America/Mexico_City", "Europe/London", "Asia/Kolkata"]


def client_rows(  # type: ignore[no-untyped-def]
    therapist_id: uuid.UUID,
    count: int,
    versions: dict[str, Any],
    now: datetime,
    rng: random.Random,
    *,
    days: int = DAYS,
):
    """Clients, assignments, entries and sessions for one therapist, as plain dicts: `days`
    of history for each client (a mood log twice a day and a daily sleep diary)."""
    from app.models.types import utcnow

    clients, assignments, entries, sessions = [], [], [], []
    created = now - timedelta(days=days)
    for n in range(count):
        client_id = uuid.uuid4()
        zone = ZONES[n % len(ZONES)]
        clients.append(
            {
                "id": client_id,
                "therapist_id": therapist_id,
                "display_name": f"Client {n:03d}",
                "timezone": zone,
                "day_boundary": clock_time(3, 0) if n % 7 == 0 else clock_time(0, 0),
                "created_at": created,
                "reminders_paused": False,
                "email_fallback": False,
                "lock_screen_detail": False,
            }
        )
        # A third keep it up, a third are patchy, a third stopped three weeks ago.
        kind = n % 3
        diligence = (0.95, 0.6, 0.9)[kind]
        stopped_after = days - 21 if kind == 2 else days + 1
        plan = (("mood_log", 2, "times_per_day"), ("sleep_diary", 1, "daily"))
        for slug, per_day, frequency in plan:
            version = versions[slug]
            assignment_id = uuid.uuid4()
            assignments.append(
                {
                    "id": assignment_id,
                    "client_id": client_id,
                    "therapist_id": therapist_id,
                    "template_id": version.template_id,
                    "instructions": "",
                    "frequency": frequency,
                    "times_per_day": per_day,
                    "weekdays": [1, 2, 3, 4, 5, 6, 7],
                    "proposed_times": [],
                    "created_at": created,
                }
            )
            for day in range(days):
                if day > stopped_after or rng.random() > diligence:
                    continue
                for k in range(per_day):
                    occurred = created + timedelta(days=day, hours=8 + 6 * k, minutes=rng.randint(0, 90))
                    if occurred > now:
                        continue
                    answers = {"mood": rng.randint(2, 9)} if slug == "mood_log" else {"quality": rng.randint(1, 5)}
                    entries.append(
                        {
                            "id": uuid.uuid4(),
                            "client_id": client_id,
                            "assignment_id": assignment_id,
                            "template_version_id": version.id,
                            "answers": answers,
                            "nothing_to_report": False,
                            "visibility": "private" if rng.random() < 0.05 else "shared",
                            "score": None,
                            "occurred_at": occurred,
                            "logged_at": occurred + timedelta(minutes=rng.choice([2, 5, 30, 60 * 14])),
                            "updated_at": occurred,
                            "deleted_at": None,
                            "content_hash": secrets.token_hex(32),
                        }
                    )
        first = now - timedelta(days=days - 3, hours=n % 9, minutes=50 * (n // 9 % 10))
        week = 0
        while True:
            start = first + timedelta(weeks=week)
            if start > now + timedelta(weeks=4):
                break
            sessions.append(
                {
                    "id": uuid.uuid4(),
                    "client_id": client_id,
                    "therapist_id": therapist_id,
                    "starts_at": start,
                    "timezone": zone,
                    "duration_minutes": 50,
                    "repeat": "weekly",
                    "series_id": None,
                    "cancelled_at": None,
                    "notes": "",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
            week += 1
    return clients, assignments, entries, sessions


def _load(engine: Engine, rng: random.Random) -> dict[int, dict[str, Any]]:
    from app.models import Appointment, Assignment, Client, Entry
    from app.services import library

    now = datetime.now(UTC)
    setups: dict[int, dict[str, Any]] = {}
    with Session(engine) as session:
        library.sync(session)
        session.commit()
        versions = library_versions(session, ("mood_log", "sleep_diary"))
        for size in SIZES:
            therapist, token = signed_in_therapist(session, email=f"bench{size}@example.org", name=f"Bench {size}")
            clients, assignments, entries, sessions = client_rows(therapist.id, size, versions, now, rng)
            with engine.begin() as connection:
                connection.execute(insert(Client.__table__), clients)  # type: ignore[attr-defined]
                connection.execute(insert(Assignment.__table__), assignments)  # type: ignore[attr-defined]
                for start in range(0, len(entries), 20000):
                    connection.execute(insert(Entry.__table__), entries[start : start + 20000])  # type: ignore[attr-defined]
                connection.execute(insert(Appointment.__table__), sessions)  # type: ignore[attr-defined]
            setups[size] = {
                "token": token,
                "clients": [row["id"] for row in clients],
                "entries": len(entries),
            }
    analyze(engine)
    return setups


def analyze(engine: Engine) -> None:
    """Fresh planner statistics on PostgreSQL after a bulk load (SQLite plans without them)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()


def _run(backend: str, url: str, tmp: Path) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from app.web.render import SESSION_COOKIE

    engine, app = in_process_app(url, tmp)
    started = time.perf_counter()
    setups = _load(engine, random.Random(7))
    load_seconds = time.perf_counter() - started
    results = []
    for size in SIZES:
        setup = setups[size]
        with TestClient(app, base_url="http://testserver") as client:
            client.cookies.set(SESSION_COOKIE, setup["token"])
            caseload_ms, caseload_queries, caseload_cpu = measure_page(client, engine, "/t", repeat=REPEAT)
            # The table view, sorted by a column, with today's sessions (the zone a browser sends).
            client.cookies.set("between_tz", "Europe/Madrid")
            table_ms, table_queries, _table_cpu = measure_page(
                client, engine, "/t?view=table&sort=-completion", repeat=REPEAT
            )
            brief_ms, brief_queries, brief_cpu = measure_page(
                client, engine, f"/t/clients/{setup['clients'][1]}/brief", repeat=REPEAT
            )
        results.append(
            {
                "backend": backend,
                "clients": size,
                "entries": setup["entries"],
                "caseload_ms_median": round(caseload_ms, 1),
                "caseload_queries": caseload_queries,
                "caseload_cpu_ms_median": round(caseload_cpu, 1),
                "table_ms_median": round(table_ms, 1),
                "table_queries": table_queries,
                "brief_ms_median": round(brief_ms, 1),
                "brief_queries": brief_queries,
                "brief_cpu_ms_median": round(brief_cpu, 1),
                "load_s": round(load_seconds, 1),
            }
        )
    engine.dispose()
    return results


def main() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, scratch_databases(Path(tmp), "caseload") as runs:
        for backend, url in runs:
            for result in _run(backend, url, Path(tmp)):
                record("caseload", result)
                figures[f"{backend}_{result['clients']}"] = result
    return figures


if __name__ == "__main__":
    main()
