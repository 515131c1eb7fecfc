"""The pre-session brief with every section, against the brief as it was before them.

One therapist has a client with a year of daily records that reach every section of the
brief: the mood log (twice a day) and sleep diary of bench/caseload (the same rows, drawn
with the same seed), a daily urge log with its choices, ABC records and thought records
(with belief ratings, some complete and some not), barrier check-ins on the days missed
(shared, "discuss in session" and private ones), two plans made together (one changed by
the client after confirming), weekly sessions, and the client's agenda for the next
session (picked entries and a note). A second client has the same kinds of records over
36 days, about ten times fewer: the brief's query count should be the same for both.

The baseline is the brief before barrier check-ins, plans, quality figures, the
functional analysis and the agenda were added (BENCH_BRIEF_BASELINE, default 311f7ff, the
last commit before them): a temporary `git worktree` of that commit runs its own
bench/caseload in a subprocess (same interpreter) for a client with the same year of
mood and sleep data, on a fresh database of the same kind, and the worktree is removed
afterwards. The two briefs are timed in turns, one request each, the same number of times,
so that whatever else the machine does weighs on both alike.

Per backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) it prints one JSON line
and appends one row: the brief's median wall and CPU time and its query count (both
clients), the baseline's, and their ratio by CPU time and by wall time. Target: the full
brief within 1.5 × the baseline, with a query count independent of the number of entries.
The run fails loudly if the page lacks any of the sections it is meant to measure.

BENCH_BRIEF_REPEAT (default 21) sets the timed requests per page.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bench.caseload import analyze, client_rows
from bench.common import (
    ROOT,
    count_queries,
    in_process_app,
    library_versions,
    record,
    scratch_databases,
    signed_in_therapist,
    time_request,
)

REPEAT = int(os.environ.get("BENCH_BRIEF_REPEAT", "21"))
BASELINE = os.environ.get("BENCH_BRIEF_BASELINE", "311f7ff")
TARGET_RATIO = 1.5
DAYS = 365
SMALL_DAYS = 36
# Written into notes the therapist must never see, or must see: the page is searched for them.
PRIVATE_NOTE = "Kept to myself: not for the brief."
SHARED_NOTE = "The evening shift ran late again."
DISCUSS_NOTE = "Writing it down makes the urge louder; can we talk about it?"
AGENDA_NOTE = "I would like to start with the argument on Tuesday."

# Run inside the baseline's worktree: its own bench/caseload seeds two clients with a year
# of mood and sleep data (the same rows as ours) and measures the brief of its second one;
# the list is turned round so that it measures the first, the one our full client copies.
# Its brief is timed one request at a time, each when asked on stdin ("go"), so that the
# two briefs take turns and share whatever else the machine is doing; "done" ends it.
_BASELINE_SCRIPT = """
import json, pathlib, sys
import app
import bench.caseload as caseload

caseload.SIZES = (2,)
caseload.REPEAT = 1
rows, measure = caseload._rows, caseload._measure


def first_client_measured(*args, **kwargs):
    clients, assignments, entries, sessions = rows(*args, **kwargs)
    return clients[::-1], assignments, entries, sessions


def on_demand(client, engine, path):
    if "/brief" not in path:
        return measure(client, engine, path)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        wall, queries, cpu = measure(client, engine, path)
        print(json.dumps({"wall": wall, "queries": queries, "cpu": cpu}), flush=True)
    return 0.0, 0, 0.0


caseload._rows, caseload._measure = first_client_measured, on_demand
caseload._run(sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]))
print(json.dumps({"app": app.__file__}), flush=True)
"""


def _entry(
    client_id: uuid.UUID,
    assignment_id: uuid.UUID,
    slug: str,
    version: Any,
    occurred: datetime,
    answers: dict[str, Any],
    *,
    visibility: str,
    rng: random.Random,
    nothing_to_report: bool = False,
) -> dict[str, Any]:
    from app.library import complete

    return {
        "id": uuid.uuid4(),
        "client_id": client_id,
        "assignment_id": assignment_id,
        "template_version_id": version.id,
        "answers": answers,
        "nothing_to_report": nothing_to_report,
        "visibility": visibility,
        "score": None,
        "complete": complete(slug, answers, nothing_to_report=nothing_to_report),
        "occurred_at": occurred,
        # Most within the hour (in the moment), some the next morning (written up later).
        "logged_at": occurred + timedelta(minutes=rng.choice([2, 10, 30, 45, 90, 60 * 14])),
        "updated_at": occurred,
        "deleted_at": None,
        "content_hash": secrets.token_hex(32),
    }


def _visibility(rng: random.Random) -> str:
    draw = rng.random()
    return "private" if draw < 0.05 else "discuss" if draw < 0.12 else "shared"


def _pick(rng: random.Random, options: dict[str, Any], low: int = 1, high: int = 2) -> list[str]:
    return rng.sample(sorted(options), k=min(len(options), rng.randint(low, high)))


def _resistance(
    session: Session,
    engine: Engine,
    *,
    therapist: Any,
    client_id: uuid.UUID,
    mood_assignment_id: uuid.UUID,
    days: int,
    versions: dict[str, Any],
    now: datetime,
    rng: random.Random,
) -> int:
    """Everything the brief gained since the baseline, for one client over `days` days:
    urge logs, ABC and thought records, barrier check-ins, plans and the next session's agenda.
    Returns the number of entries written."""
    from app.models import AgendaUpdate, AssignmentCreate, BarrierCheckin, Client, Entry, Frequency, PlanClientEdit
    from app.models.barrier import Reason
    from app.services import assignments, day_before, functional_analysis, plans

    client = session.get(Client, client_id)
    assert client is not None
    created = now - timedelta(days=days)
    assigned = {}
    for slug, frequency in (
        ("urge_log", Frequency.daily),
        ("abc_record", Frequency.as_it_happens),
        ("thought_record", Frequency.as_it_happens),
    ):
        assignment = assignments.assign(
            session,
            therapist=therapist,
            client=client,
            data=AssignmentCreate(template_id=versions[slug].template_id, frequency=frequency),
        )
        assignment.created_at = created
        session.add(assignment)
        assigned[slug] = assignment
    session.commit()
    options = functional_analysis.OPTIONS
    rows: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    # The last three days: urge logs missed, each with a check-in (shared, to discuss, private).
    forced = {
        days - 1: ("shared", SHARED_NOTE),
        days - 2: ("discuss", DISCUSS_NOTE),
        days - 3: ("private", PRIVATE_NOTE),
    }
    for day in range(days):
        evening = created + timedelta(days=day, hours=19, minutes=rng.randint(0, 120))
        if evening > now:
            continue
        urge = options["urge_log"]
        if day not in forced and rng.random() < 0.8:
            if rng.random() < 0.3:
                rows.append(
                    _entry(
                        client.id,
                        assigned["urge_log"].id,
                        "urge_log",
                        versions["urge_log"],
                        evening,
                        {},
                        visibility="shared",
                        rng=rng,
                        nothing_to_report=True,
                    )
                )
            else:
                acted = rng.random() < 0.4
                answers = {
                    "urge_type": rng.choice(["smoking", "alcohol"]),
                    "intensity": rng.randint(3, 9),
                    "trigger": rng.choice(["Coffee break at work", "After an argument", "Bored in the evening"]),
                    "situation": _pick(rng, urge["situation"]),
                    "place": rng.choice(sorted(urge["place"])),
                    "people": _pick(rng, urge["people"], 1, 1),
                    "what_i_did": "Had one." if acted else "Went for a walk round the block.",
                    "acted_on": acted,
                    "duration": rng.randrange(5, 45, 5),
                    "short_term": _pick(rng, urge["short_term"]),
                    "long_term": _pick(rng, urge["long_term"]),
                }
                rows.append(
                    _entry(
                        client.id,
                        assigned["urge_log"].id,
                        "urge_log",
                        versions["urge_log"],
                        evening,
                        answers,
                        visibility=_visibility(rng),
                        rng=rng,
                    )
                )
        elif day in forced or rng.random() < 0.7:
            # "Not today, because…" for the urge log missed that day.
            visibility, note = forced.get(day, (_visibility(rng), ""))
            if not note and rng.random() < 0.3:
                note = PRIVATE_NOTE if visibility == "private" else SHARED_NOTE
            did_it = day not in forced and rng.random() < 0.1
            checkins.append(
                {
                    "id": uuid.uuid4(),
                    "client_id": client.id,
                    "assignment_id": assigned["urge_log"].id,
                    "day": evening.astimezone(_zone(client)).date(),
                    "reason": None if did_it else str(rng.choice(list(Reason))),
                    "did_it_unrecorded": did_it,
                    "note": note,
                    "visibility": visibility,
                    "created_at": evening + timedelta(hours=3),
                    "content_hash": secrets.token_hex(32),
                    "device_id": None,
                }
            )
        if rng.random() < 0.4:
            abc = options["abc_record"]
            answers = {
                "activating_event": "A long shift, then the flat was quiet.",
                "situation": _pick(rng, abc["situation"]),
                "place": rng.choice(sorted(abc["place"])),
                "people": _pick(rng, abc["people"], 1, 1),
                "beliefs": "Nobody would notice if I gave up.",
                "behaviour": _pick(rng, abc["behaviour"]),
                "short_term": _pick(rng, abc["short_term"]),
                "long_term": _pick(rng, abc["long_term"]),
            }
            if rng.random() < 0.7:  # C filled in: complete
                answers["consequence_emotions"] = {"lonely": 60, "sad": 40}
                answers["consequence_behaviour"] = "Stayed in and scrolled until late."
            when = evening - timedelta(hours=rng.randint(1, 8))
            rows.append(
                _entry(
                    client.id,
                    assigned["abc_record"].id,
                    "abc_record",
                    versions["abc_record"],
                    when,
                    answers,
                    visibility=_visibility(rng),
                    rng=rng,
                )
            )
        if rng.random() < 0.4:
            before = rng.randrange(50, 100, 5)
            answers = {
                "situation": "My manager walked past without saying hello.",
                "automatic_thought": "She's unhappy with my work.",
                "emotions": {"anxious": rng.randrange(40, 100, 10)},
                "belief_before": before,
                "evidence_for": "She asked me to redo a report last month.",
                "thinking_traps": ["catastrophising", "mind_reading"],
            }
            if rng.random() < 0.6:  # the balanced thought and the re-rating: complete
                answers["evidence_against"] = "She praised my presentation last week."
                answers["balanced_thought"] = "She was probably busy."
                answers["belief_after"] = max(0, before - rng.randrange(10, 50, 5))
                answers["emotions_after"] = {"anxious": rng.randrange(10, 50, 10)}
            when = evening - timedelta(hours=rng.randint(2, 10))
            rows.append(
                _entry(
                    client.id,
                    assigned["thought_record"].id,
                    "thought_record",
                    versions["thought_record"],
                    when,
                    answers,
                    visibility=_visibility(rng),
                    rng=rng,
                )
            )
    with engine.begin() as connection:
        connection.execute(insert(Entry.__table__), rows)  # type: ignore[attr-defined]
        connection.execute(insert(BarrierCheckin.__table__), checkins)  # type: ignore[attr-defined]
    # Two plans made together in a session weeks ago and confirmed on the phone then; the
    # client changed the first one since (its times and its cue).
    made = now - timedelta(days=min(40, days - 6))
    for assignment_id, words in (
        (mood_assignment_id, {"cue": "I sit down on the bus home", "action": "fill in the mood log"}),
        (assigned["thought_record"].id, {"cue": "my mood drops", "action": "write the thought down"}),
    ):
        plan, _new = plans.start(session, therapist=therapist, client=client, assignment_id=assignment_id, now=made)
        edit = PlanClientEdit(
            times=["08:30", "20:30"],
            obstacle="I am too tired in the evening",
            obstacle_plan="do it at lunch instead",
            why="I want to see the good days too.",
            **words,
        )
        plans.edit_as_client(session, client=client, plan_id=plan.id, data=edit, now=made + timedelta(minutes=4))
        plans.confirm(session, client=client, plan_id=plan.id, now=made + timedelta(minutes=6))
        if assignment_id == mood_assignment_id:
            change = PlanClientEdit(times=["09:00", "21:00"], cue="I get off the bus home")
            plans.edit_as_client(session, client=client, plan_id=plan.id, data=change, now=now - timedelta(days=10))
    session.commit()
    # The day before: the two latest thought records picked to bring, and a note.
    picks = list(
        session.exec(
            select(Entry.id)
            .where(
                Entry.assignment_id == assigned["thought_record"].id,
                Entry.visibility != "private",
                Entry.occurred_at >= now - timedelta(days=4),
            )
            .order_by(col(Entry.occurred_at).desc())
            .limit(2)
        )
    )
    day_before.save(session, client=client, data=AgendaUpdate(picks=picks, note=AGENDA_NOTE), considered=picks, now=now)
    session.commit()
    return len(rows)


def _zone(client: Any) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(client.timezone)


def _seed(engine: Engine, now: datetime) -> dict[str, Any]:
    from app.models import Appointment, Assignment, Client, Entry
    from app.services import library

    rng = random.Random(13)
    with Session(engine) as session:
        library.sync(session)
        session.commit()
        versions = library_versions(session, ("mood_log", "sleep_diary", "urge_log", "abc_record", "thought_record"))
        therapist, token = signed_in_therapist(session, email="brief@example.org", name="Brief")
        mood_sleep = {slug: versions[slug] for slug in ("mood_log", "sleep_diary")}
        # The baseline's two clients, drawn the same way; its first is our full client.
        full = client_rows(therapist.id, 2, mood_sleep, now, random.Random(7))
        small = client_rows(therapist.id, 1, mood_sleep, now, random.Random(8), days=SMALL_DAYS)
        small[0][0]["display_name"] = "Client small"
        for clients, assignments, entries, sessions in (full, small):
            with engine.begin() as connection:
                connection.execute(insert(Client.__table__), clients)  # type: ignore[attr-defined]
                connection.execute(insert(Assignment.__table__), assignments)  # type: ignore[attr-defined]
                connection.execute(insert(Entry.__table__), entries)  # type: ignore[attr-defined]
                connection.execute(insert(Appointment.__table__), sessions)  # type: ignore[attr-defined]
        setup: dict[str, Any] = {"token": token}
        for name, (clients, assignments, entries, _sessions), days in (
            ("full", full, DAYS),
            ("small", small, SMALL_DAYS),
        ):
            client_id = clients[0]["id"]
            mood = next(
                row["id"]
                for row in assignments
                if row["client_id"] == client_id and row["template_id"] == versions["mood_log"].template_id
            )
            written = _resistance(
                session,
                engine,
                therapist=therapist,
                client_id=client_id,
                mood_assignment_id=mood,
                days=days,
                versions=versions,
                now=now,
                rng=rng,
            )
            own = sum(1 for row in entries if row["client_id"] == client_id)
            setup[name] = {"client_id": client_id, "entries": own + written}
    analyze(engine)
    return setup


def _check_sections(response: Any) -> None:
    """The page measured is the full brief: every section there, filled in, private words absent."""
    page = response.text
    wanted = {
        'id="barriers"': "barrier check-ins",
        'id="agreement"': "plans made together",
        'id="agreement-2"': "the second plan",
        'id="functional-analysis"': "functional analysis",
        'id="fa-group-': "functional analysis counts",
        'id="agenda"': "agenda",
        "data-picked": "entries picked for the session",
        "data-quality": "quality figures",
        "data-in-the-moment": "written in the moment",
        "data-complete": "complete entries",
        SHARED_NOTE: "a shared barrier note",
        DISCUSS_NOTE: "a barrier note to discuss",
        AGENDA_NOTE: "the client's note for the session",
    }
    import html

    text = html.unescape(page)
    missing = [label for marker, label in wanted.items() if marker not in page and marker not in text]
    if missing:
        raise AssertionError(f"the brief lacks: {', '.join(missing)}")
    if PRIVATE_NOTE in text:
        raise AssertionError("the brief shows a private barrier check-in")


class _Baseline:
    """The baseline commit's brief, from a worktree of it, in a subprocess of the same
    interpreter: `time_one` times one request of it (with its query count)."""

    def __init__(self, backend: str, url: str, tmp: Path) -> None:
        self.tree = tmp / "baseline"
        self.log = tmp / "baseline.log"
        self.git = ["git", "-C", str(ROOT)]
        added = subprocess.run(
            [*self.git, "worktree", "add", "--detach", str(self.tree), BASELINE], capture_output=True, text=True
        )
        if added.returncode != 0:
            raise RuntimeError(f"no worktree of the baseline {BASELINE} (BENCH_BRIEF_BASELINE):\n{added.stderr}")
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BASELINE_SCRIPT, backend, url, str(tmp / "baseline-data")],
                cwd=self.tree,
                env={**os.environ, "PYTHONPATH": str(self.tree)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def _line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            raise RuntimeError(
                f"the baseline {BASELINE} could not be measured (set BENCH_BRIEF_BASELINE to a commit whose "
                f"bench/caseload runs with this interpreter):\n{self.log.read_text()[-4000:]}"
            )
        found: dict[str, Any] = json.loads(line)
        return found

    def time_one(self) -> tuple[float, int, float]:
        """Wall time (ms), query count and CPU time of the process (ms) of one request."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        found = self._line()
        return found["wall"], found["queries"], found["cpu"]

    def finish(self) -> None:
        """End the baseline's run, and check that it ran the baseline's code."""
        assert self.process.stdin is not None
        self.process.stdin.write("done\n")
        self.process.stdin.close()
        ran = self._line()["app"]
        self.process.wait(timeout=60)
        if not str(ran).startswith(str(self.tree)):
            raise RuntimeError(f"the baseline ran {ran}, not the code of {BASELINE}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        subprocess.run([*self.git, "worktree", "remove", "--force", str(self.tree)], check=False, capture_output=True)
        subprocess.run([*self.git, "worktree", "prune"], check=False, capture_output=True)


def _run(backend: str, url: str, baseline_url: str, tmp: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from app.web.render import SESSION_COOKIE

    # The baseline seeds its own database meanwhile.
    baseline = _Baseline(backend, baseline_url, tmp)
    try:
        engine, app = in_process_app(url, tmp)
        started = time.perf_counter()
        setup = _seed(engine, datetime.now(UTC))
        load_seconds = time.perf_counter() - started
        paths = {name: f"/t/clients/{setup[name]['client_id']}/brief" for name in ("full", "small")}
        timings: dict[str, list[tuple[float, float]]] = {"baseline": [], "full": [], "small": []}
        with TestClient(app, base_url="http://testserver") as client:
            client.cookies.set(SESSION_COOKIE, setup["token"])
            queries = {name: count_queries(client, engine, path, check=_check_sections) for name, path in paths.items()}
            # Turn about, one request each, so that both briefs share the machine alike.
            for _ in range(REPEAT):
                wall, queries["baseline"], cpu = baseline.time_one()
                timings["baseline"].append((wall, cpu))
                for name, path in paths.items():
                    timings[name].append(time_request(client, path))
        engine.dispose()
        baseline.finish()
    finally:
        baseline.close()
    wall = {name: statistics.median(w for w, _c in found) for name, found in timings.items()}
    cpu = {name: statistics.median(c for _w, c in found) for name, found in timings.items()}
    if queries["small"] != queries["full"]:
        print(
            f"# brief: {queries['full']} queries for {setup['full']['entries']} entries but {queries['small']} "
            f"for {setup['small']['entries']}: the count is not flat",
            file=sys.stderr,
        )
    return {
        "backend": backend,
        "entries": setup["full"]["entries"],
        "entries_small": setup["small"]["entries"],
        "brief_ms_median": round(wall["full"], 1),
        "brief_cpu_ms_median": round(cpu["full"], 1),
        "brief_queries": queries["full"],
        "brief_small_ms_median": round(wall["small"], 1),
        "brief_small_cpu_ms_median": round(cpu["small"], 1),
        "brief_queries_small": queries["small"],
        "baseline": BASELINE,
        "baseline_ms_median": round(wall["baseline"], 1),
        "baseline_cpu_ms_median": round(cpu["baseline"], 1),
        "baseline_queries": queries["baseline"],
        "ratio_cpu": round(cpu["full"] / cpu["baseline"], 2),
        "ratio_wall": round(wall["full"] / wall["baseline"], 2),
        "target_ratio": TARGET_RATIO,
        "load_s": round(load_seconds, 1),
    }


def main() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_databases(Path(tmp), "brief") as runs,
        scratch_databases(Path(tmp), "brief_baseline") as baseline_runs,
    ):
        for (backend, url), (_same, baseline_url) in zip(runs, baseline_runs, strict=True):
            result = _run(backend, url, baseline_url, Path(tmp))
            record("brief", result)
            figures[backend] = result
    return figures


if __name__ == "__main__":
    main()
