"""The reminder dispatcher: one periodic tick that claims what is due and delivers it.

Each tick, in order:

1. Claims due reminders (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number
   of dispatchers share the work; on SQLite a lock file allows only one), records
   one occurrence per due instant under the unique (reminder, due_at) key, and
   advances `next_due_at` in the same transaction. An occurrence already past the
   grace period is recorded *missed*; one whose record is done for that day,
   *suppressed*; one to send is recorded already claimed, under this dispatcher's
   lease. Nothing is sent yet, so a crash here loses nothing.
2. Also claims pending occurrences whose retry time or lease has come (a dispatcher
   that dies mid-send is taken over once its lease runs out), sends each to every
   device of the client concurrently, and records the outcome: sent, retried later
   (429/5xx/timeouts, honouring Retry-After), or, past the grace period, email or
   missed. While one batch is sent the next is claimed (see `burst`).

Every occurrence ends in a final status. All coordination goes through the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import logging
import math
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import any_, bindparam, delete, false, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app import i18n
from app.dispatch import schedule as sched
from app.dispatch.email import Mail, Mailer
from app.dispatch.encryption import Encryptor
from app.dispatch.vapid import VapidKeys, VapidSigner
from app.dispatch.webpush import Outcome, PushResult, PushSender, Target
from app.models import (
    Assignment,
    Client,
    Entry,
    Frequency,
    OccurrenceKind,
    OccurrenceStatus,
    PushSubscription,
    RecordTemplate,
    Reminder,
    ReminderOccurrence,
    TemplateVersion,
)
from app.models.types import utcnow
from app.services.days import local_day
from app.services.timeutil import parse_hhmm
from app.settings import Settings

log = logging.getLogger("between.dispatch")
Result = TypeVar("Result")

R = Reminder.__table__  # type: ignore[attr-defined]
O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
C = Client.__table__  # type: ignore[attr-defined]
A = Assignment.__table__  # type: ignore[attr-defined]
S = PushSubscription.__table__  # type: ignore[attr-defined]
E = Entry.__table__  # type: ignore[attr-defined]
T = RecordTemplate.__table__  # type: ignore[attr-defined]
V = TemplateVersion.__table__  # type: ignore[attr-defined]

LOCK_FILE = "dispatcher.lock"
# Occurrences recorded per reminder in one claim: a long outage is worked off over several.
MAX_CATCH_UP = 64
MAX_BACKOFF_SECONDS = 600
EXPIRED_KEPT = timedelta(days=30)
IN_CHUNK = 900
# Outcomes are written this often while a batch is being sent.
RECORD_EVERY = 0.05
# Digests and nudges are due on whole minutes: one pass a minute per dispatcher is enough.
SESSION_PASS_SECONDS = 60.0


_OCCURRENCE_ARRAYS = {
    "id": "uuid[]",
    "reminder_id": "uuid[]",
    "client_id": "uuid[]",
    "due_at": "timestamptz[]",
    "kind": "occurrencekind[]",
    "status": "occurrencestatus[]",
    "attempts": "integer[]",
    "next_attempt_at": "timestamptz[]",
    "sent_at": "timestamptz[]",
    "last_error": "varchar[]",
    "created_at": "timestamptz[]",
}
_INSERT_OCCURRENCES_PG = text(
    f"INSERT INTO reminder_occurrence ({', '.join(_OCCURRENCE_ARRAYS)}) "
    f"SELECT * FROM unnest({', '.join(f'CAST(:{name} AS {kind})' for name, kind in _OCCURRENCE_ARRAYS.items())}) "
    "ON CONFLICT (reminder_id, due_at) DO NOTHING RETURNING id"
)


class DispatcherLocked(RuntimeError):
    """Another dispatcher already runs against this SQLite database."""


class SingleDispatcherLock:
    """An exclusive lock file: on SQLite only one dispatcher may run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the life of the dispatcher
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DispatcherLocked(
                f"another reminder dispatcher ({holder}) is already running on this SQLite "
                f"database (lock file {self.path}). With SQLite only one dispatcher may run: "
                "stop the other one, run `between serve --no-dispatcher` next to it, "
                "or move to PostgreSQL to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@dataclass
class TickStats:
    recorded: int = 0
    suppressed: int = 0
    sent: int = 0
    retrying: int = 0
    emailed: int = 0
    missed: int = 0
    expired_subscriptions: int = 0

    def add(self, other: TickStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def work(self) -> int:
        return self.recorded + self.sent + self.retrying + self.emailed + self.missed


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    reminder_id: uuid.UUID
    client_id: uuid.UUID
    due_at: datetime
    attempts: int
    kind: str


@dataclass(frozen=True)
class Recipient:
    assignment_id: uuid.UUID
    title: str
    library: bool
    locale: str | None
    detail: bool
    email: str | None
    email_fallback: bool


@dataclass
class Delivery:
    occurrence: Claimed
    status: OccurrenceStatus
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None


@dataclass
class _SendPlan:
    occurrences: list[Claimed]
    recipients: dict[uuid.UUID, Recipient]
    devices: dict[uuid.UUID, list[tuple[uuid.UUID, Target]]] = field(default_factory=dict)


def _in_chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Dispatcher:
    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        keys: VapidKeys | None = None,
        sender: PushSender | None = None,
        mailer: Mailer | None = None,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.keys = keys or VapidKeys.load(settings)
        self._sender = sender
        self.mailer = mailer or Mailer(settings)
        self.name = name or f"{os.uname().nodename}:{os.getpid()}"
        self.grace = timedelta(seconds=settings.reminder_grace_seconds)
        self.lease = timedelta(seconds=settings.dispatch_lease_seconds)
        self.is_postgres = engine.dialect.name == "postgresql"
        self._lock: SingleDispatcherLock | None = None
        self._scheduler: Any = None
        self._texts: dict[tuple[str, bool, str, bool], dict[str, Any]] = {}
        self._ticks = 0
        self._next_session_pass = 0.0
        self._stopping = False
        self._current_tick: asyncio.Task[Any] | None = None
        self.totals = TickStats()

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def sender(self) -> PushSender:
        if self._sender is None:
            self._sender = PushSender(
                VapidSigner(self.keys),
                timeout=self.settings.push_timeout_seconds,
                concurrency=self.settings.dispatch_concurrency,
                encryptor=Encryptor(self.settings.dispatch_encrypt_processes),
            )
        return self._sender

    def acquire_lock(self) -> None:
        if self.engine.dialect.name == "sqlite" and self._lock is None:
            lock = SingleDispatcherLock(Path(self.settings.data_dir) / LOCK_FILE)
            lock.acquire()
            self._lock = lock

    def start(self) -> None:
        """Start ticking on the running event loop (call from async code)."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.acquire_lock()
        # One line per tick (or per push, with the device's endpoint in it) is noise and
        # leaks addresses into logs; a tick that outlasts the interval is expected in a burst.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.settings.dispatch_tick_seconds,
            id="reminder-dispatch",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=_aligned(self.settings.dispatch_tick_seconds),
        )
        scheduler.start()
        self._scheduler = scheduler
        self.sender.encryptor.start()
        log.info("reminder dispatcher %s started (%s)", self.name, self.engine.dialect.name)

    async def stop(self) -> None:
        """Stop ticking; a tick in progress finishes its current batch and records it."""
        self._stopping = True
        # Wait for the tick before shutting the scheduler down: APScheduler's shutdown cancels
        # a running job, and a batch cancelled mid-send leaves sent messages unrecorded.
        current = self._current_tick
        if current is not None and not current.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(current), timeout=60)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.aclose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        log.info("reminder dispatcher %s stopped", self.name)

    async def aclose(self) -> None:
        """Close the HTTP connections (they belong to the running event loop)."""
        if self._sender is not None:
            await self._sender.aclose()
            self._sender = None

    async def tick(self) -> TickStats:
        """One scheduled tick: work until nothing is due. Errors are logged, never raised."""
        stats = TickStats()
        if self._stopping:
            return stats
        self._current_tick = asyncio.current_task()
        try:
            stats = await self.burst()
            await self.before_sessions()
            self._ticks += 1
            if self._ticks % 500 == 1:
                await asyncio.to_thread(self.prune)
        except Exception:
            log.exception("reminder dispatch tick failed; the next tick retries")
        self.totals.add(stats)
        return stats

    async def before_sessions(self, *, now: datetime | None = None, force: bool = False) -> None:
        """The therapist's digest and the client's day-before nudge (app/dispatch/digest.py,
        nudge.py). Both are minute-grained, so a dispatcher runs them at most once per
        SESSION_PASS_SECONDS; a failure in one does not keep the other from running."""
        from app.dispatch import digest, nudge

        moment = time.monotonic()
        if not force and moment < self._next_session_pass:
            return
        self._next_session_pass = moment + SESSION_PASS_SECONDS
        passes: list[tuple[str, Any]] = [("digest", digest.run), ("nudge", nudge.run)]
        for name, run in passes:
            if self._stopping:
                return
            try:
                await run(self, now=now or utcnow())
            except Exception:
                log.exception("before-session %s pass failed; the next pass retries", name)

    async def run_once(self, *, now: datetime | None = None) -> TickStats:
        """One round: record due occurrences, then deliver one batch of pending ones."""
        now = now or utcnow()
        stats, plan, _claimed_at = await asyncio.to_thread(self._claim_round, now)
        if plan.occurrences:
            stats.add(await self.deliver(plan, now=now))
        return stats

    async def burst(self, *, now: datetime | None = None, rounds: int = 100_000) -> TickStats:
        """Work until nothing is left to do now. Claiming (database work, in a thread) overlaps
        sending: while one batch goes out the next is claimed and starts going out as well, so
        neither the database round trips nor a batch's slowest answers leave the sender idle."""
        total = TickStats()
        sending: set[asyncio.Task[TickStats]] = set()
        try:
            for _round in range(rounds):
                stats, plan, claimed_at = await asyncio.to_thread(self._claim_round, now or utcnow())
                total.add(stats)
                if not plan.occurrences and stats.work == 0:
                    break
                if plan.occurrences:
                    sending.add(asyncio.create_task(self.deliver(plan, now=now or claimed_at)))
                while len(sending) >= 2:  # at most two batches in flight
                    done, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        total.add(task.result())
                if self._stopping:
                    break
        finally:
            for task in sending:
                total.add(await task)
        return total

    def _claim_round(self, now: datetime) -> tuple[TickStats, _SendPlan, datetime]:
        stats, fresh = self.claim_due(now)
        return stats, self.claim_pending(now, fresh=fresh), now

    async def drain(self, *, now: datetime | None = None, rounds: int = 1000) -> TickStats:
        """Run rounds until nothing is left to do right now (tests, the benchmark)."""
        total = TickStats()
        for _round in range(rounds):
            stats = await self.run_once(now=now)
            total.add(stats)
            if stats.work == 0:
                break
        return total

    # --- step 1: record due occurrences -------------------------------------------------------

    def claim_due(self, now: datetime) -> tuple[TickStats, list[Claimed]]:
        """Record the due occurrences. Those to be sent are inserted already claimed (under
        this dispatcher's lease) and returned, so they go out without a second round trip."""
        stats = TickStats()
        columns = [
            R.c.id, R.c.client_id, R.c.assignment_id, R.c.times, R.c.weekdays,
            R.c.quiet_start, R.c.quiet_end, R.c.random_start, R.c.random_end,
            R.c.random_count, R.c.random_min_gap_minutes, R.c.snoozed_until, R.c.next_due_at,
            C.c.timezone, C.c.day_boundary,
            A.c.ended_at, A.c.frequency, A.c.times_per_day, A.c.weekdays.label("assigned_weekdays"),
        ]  # fmt: skip
        statement = (
            select(*columns)
            .join(C, C.c.id == R.c.client_id)
            .join(A, A.c.id == R.c.assignment_id)
            .where(R.c.paused == false(), R.c.next_due_at <= now, C.c.reminders_paused == false())
            .order_by(R.c.next_due_at)
            .limit(self.settings.dispatch_batch)
            .with_for_update(of=R, skip_locked=True)
        )
        with self.engine.begin() as connection:
            rows = connection.execute(statement).all()
            if not rows:
                return stats, []
            occurrences: list[dict[str, Any]] = []
            advances: list[dict[str, Any]] = []
            pending: list[tuple[dict[str, Any], Any]] = []
            for row in rows:
                if row.ended_at is not None:
                    advances.append({"rid": row.id, "due": None, "snoozed": None})
                    continue
                spec = _schedule(row)
                cursor: datetime | None = row.next_due_at
                snoozed: datetime | None = row.snoozed_until
                for _step in range(MAX_CATCH_UP):
                    if cursor is None or cursor > now:
                        break
                    if snoozed is not None and snoozed <= cursor:
                        kind: str | None = OccurrenceKind.snooze
                        cursor, snoozed = snoozed, None
                        following = sched.next_due(spec, cursor)
                    else:
                        current, following = _step_alike(spec, cursor)
                        kind = current.kind.value if current else None
                    if kind is not None:
                        occurrence = {
                            "id": uuid.uuid4(),
                            "reminder_id": row.id,
                            "client_id": row.client_id,
                            "due_at": cursor,
                            "kind": kind,
                            "status": OccurrenceStatus.pending,
                            "attempts": 1,
                            "next_attempt_at": now + self.lease,
                            "sent_at": None,
                            "last_error": None,
                            "created_at": now,
                        }
                        if cursor < now - self.grace:
                            occurrence.update(
                                status=OccurrenceStatus.missed,
                                attempts=0,
                                next_attempt_at=None,
                                last_error="late",
                            )
                            stats.missed += 1
                        else:
                            pending.append((occurrence, row))
                        occurrences.append(occurrence)
                    candidates = [due.at for due in (following,) if due is not None]
                    if snoozed is not None:
                        candidates.append(snoozed)
                    cursor = min(candidates) if candidates else None
                advances.append({"rid": row.id, "due": cursor, "snoozed": snoozed})
            for occurrence in self._already_done(connection, pending):
                occurrence.update(status=OccurrenceStatus.suppressed, attempts=0, next_attempt_at=None)
                stats.suppressed += 1
            # An occurrence recorded before (a reminder moved back onto an instant already
            # recorded) is skipped by the unique key: only the ones inserted now are sent.
            inserted = self._insert_occurrences(connection, occurrences)
            self._advance(connection, advances)
        stats.recorded = len(occurrences)
        fresh = [
            Claimed(o["id"], o["reminder_id"], o["client_id"], o["due_at"], o["attempts"], str(o["kind"]))
            for o in occurrences
            if o["status"] is OccurrenceStatus.pending and o["id"] in inserted
        ]
        return stats, fresh

    def _advance(self, connection: Any, advances: list[dict[str, Any]]) -> None:
        """Move each claimed reminder to its next due instant. Reminders set for the same
        time mostly advance to the same instant: one statement per instant shared by several,
        one batch for the rest."""
        by_instant: dict[tuple[datetime | None, datetime | None], list[uuid.UUID]] = defaultdict(list)
        for advance in advances:
            by_instant[(advance["due"], advance["snoozed"])].append(advance["rid"])
        singles = []
        for (due, snoozed), ids in by_instant.items():
            if len(ids) == 1:
                singles.append({"rid": ids[0], "due": due, "snoozed": snoozed})
                continue
            for chunk in self._chunks(ids):
                connection.execute(
                    update(R).where(self._among(R.c.id, chunk)).values(next_due_at=due, snoozed_until=snoozed)
                )
        if singles:
            connection.execute(
                update(R)
                .where(R.c.id == bindparam("rid"))
                .values(next_due_at=bindparam("due"), snoozed_until=bindparam("snoozed")),
                singles,
            )

    def _chunks(self, values: Sequence[Any]) -> Iterable[Sequence[Any]]:
        """PostgreSQL takes a whole list as one array parameter; SQLite needs one per value."""
        if self.is_postgres:
            return [values] if values else []
        return _in_chunks(values)

    def _among(self, column: Any, values: Sequence[Any]) -> Any:
        """`column IN values`, as `= ANY(array)` on PostgreSQL: one parameter instead of
        thousands, which psycopg would otherwise re-parse on every statement."""
        if self.is_postgres:
            return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return column.in_(values)

    def _insert_occurrences(self, connection: Any, occurrences: list[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert, skipping any (reminder, due_at) already recorded; the ids inserted."""
        if not occurrences:
            return set()
        if not self.is_postgres:
            statement = sqlite.insert(O).on_conflict_do_nothing(index_elements=["reminder_id", "due_at"])
            return set(connection.execute(statement.returning(O.c.id), occurrences).scalars().all())
        # One row per array element: eleven parameters for the whole batch, where a multi-row
        # VALUES has eleven per row, each of which psycopg parses again on every statement.
        columns = {name: [occurrence[name] for occurrence in occurrences] for name in _OCCURRENCE_ARRAYS}
        for name in ("kind", "status"):
            columns[name] = [str(value) for value in columns[name]]
        return set(connection.execute(_INSERT_OCCURRENCES_PG, columns).scalars().all())

    def _already_done(self, connection: Any, pending: list[tuple[dict[str, Any], Any]]) -> list[dict[str, Any]]:
        """The occurrences whose record is already done (or not due) on that client day."""
        if not pending:
            return []
        days: dict[uuid.UUID, tuple[str, Any]] = {}
        earliest = min(occurrence["due_at"] for occurrence, _row in pending) - timedelta(days=2)
        for _occurrence, row in pending:
            days[row.assignment_id] = (row.timezone, row.day_boundary)
        counts: dict[tuple[uuid.UUID, date], int] = defaultdict(int)
        ids = list(days)
        for chunk in self._chunks(ids):
            rows = connection.execute(
                select(E.c.assignment_id, E.c.occurred_at).where(
                    self._among(E.c.assignment_id, chunk),
                    E.c.deleted_at.is_(None),
                    E.c.occurred_at >= earliest,
                )
            )
            for assignment_id, occurred_at in rows:
                zone, boundary = days[assignment_id]
                counts[(assignment_id, local_day(occurred_at, timezone=zone, boundary=boundary))] += 1
        done = []
        for occurrence, row in pending:
            day = local_day(occurrence["due_at"], timezone=row.timezone, boundary=row.day_boundary)
            frequency = Frequency(row.frequency)
            if frequency is Frequency.weekdays and day.isoweekday() not in (row.assigned_weekdays or []):
                expected = 0
            elif frequency is Frequency.times_per_day:
                expected = row.times_per_day
            else:
                expected = 1
            if counts.get((row.assignment_id, day), 0) >= expected:
                done.append(occurrence)
        return done

    # --- step 2: deliver pending occurrences --------------------------------------------------

    def claim_pending(self, now: datetime, *, fresh: Sequence[Claimed] = ()) -> _SendPlan:
        """Claim pending occurrences whose retry time (or a dead dispatcher's lease) has come,
        and look up what sending them and `fresh` (just recorded and claimed) needs."""
        due = (
            select(O.c.id)
            .where(O.c.status == OccurrenceStatus.pending, O.c.next_attempt_at <= now)
            .order_by(O.c.next_attempt_at)
            .limit(self.settings.dispatch_batch)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(O)
            .where(O.c.id.in_(due.scalar_subquery()))
            .values(attempts=O.c.attempts + 1, next_attempt_at=now + self.lease)
            .returning(O.c.id, O.c.reminder_id, O.c.client_id, O.c.due_at, O.c.attempts, O.c.kind)
        )
        with self.engine.begin() as connection:
            claimed = [
                Claimed(row.id, row.reminder_id, row.client_id, row.due_at, row.attempts, str(row.kind))
                for row in connection.execute(claim)
            ]
        claimed.extend(fresh)
        plan = _SendPlan(claimed, {})
        if not claimed:
            return plan
        with self.engine.connect() as connection:
            reminder_ids = list({occurrence.reminder_id for occurrence in claimed})
            for chunk in self._chunks(reminder_ids):
                rows = connection.execute(
                    select(
                        R.c.id,
                        R.c.assignment_id,
                        V.c.title,
                        T.c.therapist_id,
                        C.c.locale,
                        C.c.lock_screen_detail,
                        C.c.email,
                        C.c.email_fallback,
                    )
                    .join(C, C.c.id == R.c.client_id)
                    .join(A, A.c.id == R.c.assignment_id)
                    .join(T, T.c.id == A.c.template_id)
                    .join(V, (V.c.template_id == T.c.id) & (V.c.number == T.c.current_version))
                    .where(self._among(R.c.id, chunk))
                )
                for row in rows:
                    plan.recipients[row.id] = Recipient(
                        row.assignment_id,
                        row.title,
                        row.therapist_id is None,
                        row.locale,
                        row.lock_screen_detail,
                        row.email,
                        row.email_fallback,
                    )
            client_ids = list({occurrence.client_id for occurrence in claimed})
            for chunk in self._chunks(client_ids):
                rows = connection.execute(
                    select(S.c.id, S.c.client_id, S.c.endpoint, S.c.p256dh, S.c.auth).where(
                        self._among(S.c.client_id, chunk), S.c.expired_at.is_(None)
                    )
                )
                for row in rows:
                    plan.devices.setdefault(row.client_id, []).append(
                        (row.id, Target(row.endpoint, row.p256dh, row.auth))
                    )
        return plan

    def payload(self, occurrence: Claimed, recipient: Recipient) -> bytes:
        from app.services.reminders import snooze_token

        texts = self._texts_for(recipient)
        expires = occurrence.due_at + timedelta(hours=12)
        data = {
            "title": texts["title"],
            "body": texts["body"],
            "url": f"/c/record/{recipient.assignment_id}",
            "tag": f"reminder-{occurrence.reminder_id}",
            "reminder": str(occurrence.reminder_id),
            "occurrence": str(occurrence.id),
            "snooze": snooze_token(
                secret=self.settings.secret_key,
                client_id=occurrence.client_id,
                reminder_id=occurrence.reminder_id,
                expires=expires,
            ),
            "actions": texts["actions"],
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    def _texts_for(self, recipient: Recipient) -> dict[str, Any]:
        locale = recipient.locale or self.settings.default_locale
        key = (
            locale,
            recipient.detail,
            recipient.title if recipient.detail else "",
            recipient.library,
        )
        texts = self._texts.get(key)
        if texts is None:
            texts = self._texts[key] = notification_texts(
                locale=locale, title=key[2] or None, library=recipient.library
            )
        return texts

    async def deliver(self, plan: _SendPlan, *, now: datetime) -> TickStats:
        """Send a batch, recording outcomes as they arrive (every RECORD_EVERY seconds),
        so that a crash leaves few sent-but-unrecorded messages to be sent again."""
        stats = TickStats()
        finished: list[tuple[Delivery, list[tuple[uuid.UUID, PushResult]]]] = []
        remaining = len(plan.occurrences)
        all_done = asyncio.Event()

        async def one(occurrence: Claimed) -> None:
            nonlocal remaining
            try:
                finished.append(await self._deliver_one(occurrence, plan, now))
            except Exception:
                # Left pending under its lease: the next claim after the lease retries it.
                log.exception("delivering occurrence %s failed", occurrence.id)
            finally:
                remaining -= 1
                if not remaining:
                    all_done.set()

        # Held here so the tasks are not collected mid-flight; waited on through `all_done`,
        # since asyncio.wait() on thousands of tasks every few milliseconds costs more than the sends.
        tasks = [asyncio.create_task(one(occurrence)) for occurrence in plan.occurrences]
        recording: asyncio.Task[None] | None = None
        try:
            while remaining or finished:
                if remaining:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(all_done.wait(), RECORD_EVERY)
                if not finished:
                    continue
                chunk, finished[:] = list(finished), []
                if recording is not None:
                    await recording
                deliveries = [delivery for delivery, _results in chunk]
                device_results: dict[uuid.UUID, list[PushResult]] = defaultdict(list)
                for _delivery, results in chunk:
                    for subscription_id, result in results:
                        device_results[subscription_id].append(result)
                recording = asyncio.create_task(asyncio.to_thread(self.record, deliveries, device_results, utcnow()))
                stats.add(_count(deliveries, device_results))
        finally:
            if recording is not None:
                await recording
        del tasks
        return stats

    async def _deliver_one(
        self, occurrence: Claimed, plan: _SendPlan, now: datetime
    ) -> tuple[Delivery, list[tuple[uuid.UUID, PushResult]]]:
        recipient = plan.recipients.get(occurrence.reminder_id)
        deadline = occurrence.due_at + self.grace
        if recipient is None:  # the reminder was deleted meanwhile
            return Delivery(occurrence, OccurrenceStatus.missed, error="gone"), []
        if now > deadline:
            return await self._fall_back(occurrence, recipient, "late"), []
        devices = plan.devices.get(occurrence.client_id, [])
        if not devices:
            return await self._fall_back(occurrence, recipient, "no_device"), []
        body = self.payload(occurrence, recipient)
        ttl = max(60, int((deadline - now).total_seconds()))
        topic = occurrence.id.hex  # 32 base64url-safe characters, as RFC 8030 allows
        if len(devices) == 1:  # the common case, without a task per device
            results = [await self.sender.send(devices[0][1], body, ttl=ttl, urgency="high", topic=topic)]
        else:
            results = await asyncio.gather(
                *(self.sender.send(target, body, ttl=ttl, urgency="high", topic=topic) for _id, target in devices)
            )
        per_device = [(subscription_id, result) for (subscription_id, _t), result in zip(devices, results, strict=True)]
        if any(result.outcome is Outcome.delivered for result in results):
            status = OccurrenceStatus.sent if occurrence.attempts <= 1 else OccurrenceStatus.retried_sent
            return Delivery(occurrence, status, sent_at=utcnow()), per_device
        retryable = [result for result in results if result.outcome is Outcome.retry]
        error = (retryable or list(results))[0].error
        if retryable:
            delay = self.backoff(occurrence.attempts, max(r.retry_after or 0.0 for r in retryable))
            next_attempt = now + timedelta(seconds=delay)
            if next_attempt <= deadline:
                return (
                    Delivery(occurrence, OccurrenceStatus.pending, next_attempt_at=next_attempt, error=error),
                    per_device,
                )
        return await self._fall_back(occurrence, recipient, error or "failed"), per_device

    def backoff(self, attempts: int, retry_after: float) -> float:
        base = self.settings.push_retry_base_seconds * (2 ** max(0, attempts - 1))
        delay = min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.8, 1.2)
        return max(delay, retry_after)

    async def _fall_back(self, occurrence: Claimed, recipient: Recipient, error: str) -> Delivery:
        if not (recipient.email_fallback and recipient.email):
            return Delivery(occurrence, OccurrenceStatus.missed, error=error)
        texts = self._texts_for(recipient)
        link = f"{self.settings.base_url.rstrip('/')}/c/record/{recipient.assignment_id}"
        mail = Mail(to=recipient.email, subject=texts["title"], text=f"{texts['email']}\n\n{link}\n")
        try:
            await self.mailer.send_async(mail)
        except Exception as problem:  # SMTP down, refused, not configured
            log.warning("email fallback failed for occurrence %s: %s", occurrence.id, type(problem).__name__)
            return Delivery(occurrence, OccurrenceStatus.missed, error="email_failed")
        return Delivery(occurrence, OccurrenceStatus.email, sent_at=utcnow(), error=error)

    def record(
        self,
        deliveries: list[Delivery],
        device_results: dict[uuid.UUID, list[PushResult]],
        now: datetime,
    ) -> None:
        """Write the outcomes of one chunk of deliveries (and of their devices) in one transaction.

        Plain successes, nearly all of a burst, are written set-wise, one statement per chunk,
        with the chunk's time as `sent_at` (at most RECORD_EVERY after the push service's answer);
        the rest, each with its own retry time or error, row by row."""
        plain: dict[OccurrenceStatus, list[uuid.UUID]] = defaultdict(list)
        rows = []
        for delivery in deliveries:
            if delivery.sent_at is not None and delivery.next_attempt_at is None and delivery.error is None:
                plain[delivery.status].append(delivery.occurrence.id)
            else:
                rows.append(
                    {
                        "oid": delivery.occurrence.id,
                        "status": delivery.status,
                        "sent_at": delivery.sent_at,
                        "next_at": delivery.next_attempt_at,
                        "error": delivery.error,
                    }
                )
        delivered, gone, failed = [], [], []
        for subscription_id, results in device_results.items():
            if any(result.outcome is Outcome.delivered for result in results):
                delivered.append(subscription_id)
            elif any(result.outcome is Outcome.gone for result in results):
                gone.append({"sid": subscription_id, "error": results[0].error})
            else:
                failed.append({"sid": subscription_id, "error": results[0].error})
        with self.engine.begin() as connection:
            for status, ids in plain.items():
                for chunk in self._chunks(ids):
                    connection.execute(
                        update(O)
                        .where(self._among(O.c.id, chunk), O.c.status == OccurrenceStatus.pending)
                        .values(status=status, sent_at=now, next_attempt_at=None, last_error=None)
                    )
            if rows:
                connection.execute(
                    update(O)
                    .where(O.c.id == bindparam("oid"), O.c.status == OccurrenceStatus.pending)
                    .values(
                        status=bindparam("status"),
                        sent_at=bindparam("sent_at"),
                        next_attempt_at=bindparam("next_at"),
                        last_error=bindparam("error"),
                    ),
                    rows,
                )
            for chunk in self._chunks(delivered):
                connection.execute(
                    update(S).where(self._among(S.c.id, chunk)).values(last_success_at=now, failures=0, last_error=None)
                )
            if gone:
                connection.execute(
                    update(S)
                    .where(S.c.id == bindparam("sid"))
                    .values(expired_at=now, last_failure_at=now, last_error=bindparam("error")),
                    gone,
                )
            if failed:
                connection.execute(
                    update(S)
                    .where(S.c.id == bindparam("sid"))
                    .values(
                        failures=S.c.failures + 1,
                        last_failure_at=now,
                        last_error=bindparam("error"),
                    ),
                    failed,
                )

    def prune(self, *, now: datetime | None = None) -> int:
        """Delete subscriptions the push service reported gone more than 30 days ago."""
        cutoff = (now or utcnow()) - EXPIRED_KEPT
        with self.engine.begin() as connection:
            result = connection.execute(delete(S).where(S.c.expired_at.is_not(None), S.c.expired_at < cutoff))
        return int(result.rowcount or 0)

    # --- a test notification from the settings page -------------------------------------------

    async def send_test(self, *, client: Client) -> list[PushResult]:
        with self.engine.connect() as connection:
            devices = connection.execute(
                select(S.c.id, S.c.endpoint, S.c.p256dh, S.c.auth).where(
                    S.c.client_id == client.id, S.c.expired_at.is_(None)
                )
            ).all()
        texts = notification_texts(locale=client.locale or self.settings.default_locale, title=None)
        body = json.dumps(
            {"title": texts["title"], "body": texts["test"], "url": "/c/reminders", "tag": "test"},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        results = await asyncio.gather(
            *(
                self.sender.send(Target(row.endpoint, row.p256dh, row.auth), body, ttl=300, urgency="high")
                for row in devices
            )
        )
        by_device = {row.id: [result] for row, result in zip(devices, results, strict=True)}
        await asyncio.to_thread(self.record, [], by_device, utcnow())
        return list(results)


def _aligned(seconds: float) -> datetime:
    """The next multiple of `seconds` since the epoch: reminders fall due on whole minutes,
    and ticks on multiples of the interval catch them within milliseconds, not up to a tick late."""
    moment = time.time()
    return datetime.fromtimestamp(math.ceil(moment / seconds) * seconds, UTC)


def _count(deliveries: list[Delivery], device_results: dict[uuid.UUID, list[PushResult]]) -> TickStats:
    stats = TickStats()
    for delivery in deliveries:
        if delivery.status in (OccurrenceStatus.sent, OccurrenceStatus.retried_sent):
            stats.sent += 1
        elif delivery.status is OccurrenceStatus.pending:
            stats.retrying += 1
        elif delivery.status is OccurrenceStatus.email:
            stats.emailed += 1
        elif delivery.status is OccurrenceStatus.missed:
            stats.missed += 1
    stats.expired_subscriptions = sum(
        1 for results in device_results.values() for result in results if result.outcome is Outcome.gone
    )
    return stats


@lru_cache(maxsize=4096)
def _step_alike(spec: sched.Schedule, cursor: datetime) -> tuple[sched.Due | None, sched.Due | None]:
    """Reminders set alike (same zone, times, days) and due at the same instant, as most of a
    burst is, step alike: computed once."""
    return sched.step(spec, cursor)


def _schedule(row: Any) -> sched.Schedule:
    key = (
        row.timezone, tuple(row.times or ()), tuple(row.weekdays or ()), row.day_boundary,
        row.quiet_start, row.quiet_end, row.random_start, row.random_end, row.random_count,
        row.random_min_gap_minutes, row.id if row.random_count else None,
    )  # fmt: skip
    return _schedule_of(key)


@lru_cache(maxsize=4096)
def _schedule_of(key: tuple[Any, ...]) -> sched.Schedule:
    (zone, times, weekdays, boundary, quiet_start, quiet_end, random_start, random_end, random_count, gap, seed) = key
    spec = sched.Schedule(
        timezone=zone,
        times=tuple(sorted({parse_hhmm(value) for value in times})),
        weekdays=frozenset(weekdays),
        day_boundary=boundary,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        random_start=random_start,
        random_end=random_end,
        random_count=random_count,
        random_min_gap_minutes=gap,
        seed=str(seed or ""),
    )
    # The seed only places random prompts; without them every reminder shares cached instants.
    return spec if spec.has_random else replace(spec, seed="")


def notification_texts(*, locale: str, title: str | None, library: bool = False) -> dict[str, Any]:
    """Discreet words by default; the record's name only when the client opted in."""
    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        if title and library:
            title = i18n.gettext(title)
        if title:
            body = i18n.gettext("%(record)s: a moment to check in?", record=title)
        else:
            body = i18n.gettext("A moment to check in?")
        return {
            "title": "Between",
            "body": body,
            "email": i18n.gettext("A moment to check in? Open Between when it suits you:"),
            "test": i18n.gettext("Notifications work on this device."),
            "actions": {
                "log": i18n.gettext("Log now"),
                "snooze": i18n.gettext("Snooze"),
                "snooze15": i18n.gettext("Snooze 15 min"),
                "snooze30": i18n.gettext("Snooze 30 min"),
                "snooze60": i18n.gettext("Snooze 60 min"),
            },
        }
    finally:
        i18n.set_locale(previous)


def run_loop(main: Coroutine[Any, Any, Result]) -> Result:
    """Run `main` on the event loop `between serve` gets from uvicorn: uvloop when installed
    (its sockets and timers cost less CPU per push message than asyncio's own loop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Keep what is loaded at start (modules, metadata, caches: alive as long as the process)
    out of the collector's full passes, which otherwise pause a burst for tens of milliseconds."""
    gc.collect()
    gc.freeze()


async def run_forever(settings: Settings) -> None:
    """`between dispatcher`: a standalone dispatcher until SIGTERM/SIGINT."""
    import signal

    from app.db import build_engine

    engine = build_engine(settings.database_url)
    dispatcher = Dispatcher(engine=engine, settings=settings)
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    dispatcher.start()
    try:
        await stop.wait()
    finally:
        await dispatcher.stop()
        engine.dispose()


def install(app: Any) -> None:
    """Run one dispatcher inside the web process (the embedded default, `between serve`)."""

    def start(app: Any) -> None:
        dispatcher = Dispatcher(engine=app.state.engine, settings=app.state.settings)
        dispatcher.start()
        app.state.dispatcher = dispatcher

    async def stop(app: Any) -> None:
        dispatcher = getattr(app.state, "dispatcher", None)
        if dispatcher is not None:
            await dispatcher.stop()
            app.state.dispatcher = None

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
