"""What a dispatcher reads and writes in the database: claiming due reminders and
pending occurrences, recording outcomes. Mixed into `Dispatcher` (app/dispatch/dispatcher.py),
which does the sending; every method here runs in a worker thread, never on the event loop.

On PostgreSQL lists of ids go as one array parameter and new occurrences as one
`INSERT … SELECT unnest(…)`: psycopg parses a statement with thousands of
placeholders again on every execution, which cost more than the rest of a claim.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, false, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core.days import local_day
from app.core.querying import among_ids
from app.core.settings import Settings
from app.core.timeutil import parse_hhmm
from app.dispatch.webpush import Outcome, PushResult, Target
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
from app.services import frequency as frequency_rules
from app.services.adherence.rules import days_of
from app.services.reminders import health as reminder_health
from app.services.reminders import schedule as sched

R = Reminder.__table__  # type: ignore[attr-defined]
O = ReminderOccurrence.__table__  # type: ignore[attr-defined]  # noqa: E741
C = Client.__table__  # type: ignore[attr-defined]
A = Assignment.__table__  # type: ignore[attr-defined]
S = PushSubscription.__table__  # type: ignore[attr-defined]
E = Entry.__table__  # type: ignore[attr-defined]
T = RecordTemplate.__table__  # type: ignore[attr-defined]
V = TemplateVersion.__table__  # type: ignore[attr-defined]

# Occurrences recorded per reminder in one claim: a long outage is worked off over several.
MAX_CATCH_UP = 64
EXPIRED_KEPT = timedelta(days=30)
IN_CHUNK = 900
# Writing one chunk of outcomes is tried this often (deadlocks and serialization failures).
RECORD_ATTEMPTS = 3

log = logging.getLogger("between.dispatch")

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
class ClaimedOccurrence:
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
    # Kept as it happens: no day is ever missed, so a reminder offers no "Not today".
    as_it_happens: bool = False


@dataclass
class Delivery:
    occurrence: ClaimedOccurrence
    status: OccurrenceStatus
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None


@dataclass
class SendPlan:
    occurrences: list[ClaimedOccurrence]
    recipients: dict[uuid.UUID, Recipient]
    devices: dict[uuid.UUID, list[tuple[uuid.UUID, Target]]] = field(default_factory=dict)
    # Clients who opted in to email reminders and whose every device is silent
    # (services/reminders/health.py:is_silent): their reminders go by email too.
    silent: set[uuid.UUID] = field(default_factory=set)
    _reminded: dict[uuid.UUID, int] | None = field(default=None, repr=False)

    def reminded_now(self, client_id: uuid.UUID) -> int:
        """How many of this client's records this batch reminds of (each not done yet, or it
        would have stayed quiet): counted once per batch, read per message."""
        if self._reminded is None:
            records: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
            for occurrence in self.occurrences:
                recipient = self.recipients.get(occurrence.reminder_id)
                if recipient is not None:
                    records[occurrence.client_id].add(recipient.assignment_id)
            self._reminded = {client: len(assignments) for client, assignments in records.items()}
        return self._reminded.get(client_id, 1)


# What a message needs to know about its reminder's client and record.
_RECIPIENT_COLUMNS = (
    R.c.assignment_id.label("recipient_assignment"),
    V.c.title,
    T.c.therapist_id,
    C.c.locale,
    C.c.lock_screen_detail,
    C.c.email,
    C.c.email_fallback,
    A.c.frequency.label("recipient_frequency"),
)


def _with_recipients(statement: Any) -> Any:
    """A select from reminders joined to what `_RECIPIENT_COLUMNS` reads."""
    return (
        statement.join(C, C.c.id == R.c.client_id)
        .join(A, A.c.id == R.c.assignment_id)
        .join(T, T.c.id == A.c.template_id)
        .join(V, (V.c.template_id == T.c.id) & (V.c.number == T.c.current_version))
    )


def _recipient(row: Any) -> Recipient:
    return Recipient(
        row.recipient_assignment,
        row.title,
        row.therapist_id is None,
        row.locale,
        row.lock_screen_detail,
        row.email,
        row.email_fallback,
        str(row.recipient_frequency) == Frequency.as_it_happens,
    )


def _in_chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Ledger:
    """The database side of a dispatcher: claims, outcomes and pruning, coordinated through
    the database so that any number of dispatchers share the work. A `Dispatcher` has one."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.grace = timedelta(seconds=settings.reminder_grace_seconds)
        self.lease = timedelta(seconds=settings.dispatch_lease_seconds)
        self.is_postgres = engine.dialect.name == "postgresql"

    # --- step 1: record due occurrences -------------------------------------------------------

    def claim_due(self, now: datetime) -> tuple[TickStats, SendPlan]:
        """Record the due occurrences. Those to be sent are inserted already claimed (under
        this dispatcher's lease) and returned with their recipients, read in the same
        statement, so they go out without a second round trip (devices are added later)."""
        stats = TickStats()
        columns = [
            R.c.id, R.c.client_id, R.c.assignment_id, R.c.times, R.c.weekdays,
            R.c.quiet_start, R.c.quiet_end, R.c.random_start, R.c.random_end,
            R.c.random_count, R.c.random_min_gap_minutes, R.c.snoozed_until, R.c.next_due_at,
            C.c.timezone, C.c.day_boundary,
            A.c.ended_at, A.c.frequency, A.c.times_per_day, A.c.weekdays.label("assigned_weekdays"),
            A.c.created_at.label("assigned_at"),
            *_RECIPIENT_COLUMNS,
        ]  # fmt: skip
        statement = (
            _with_recipients(select(*columns))
            .where(R.c.paused == false(), R.c.next_due_at <= now, C.c.reminders_paused == false())
            .order_by(R.c.next_due_at)
            .limit(self.settings.dispatch_batch)
            .with_for_update(of=R, skip_locked=True)
        )
        with self.engine.begin() as connection:
            rows = connection.execute(statement).all()
            if not rows:
                return stats, SendPlan([], {})
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
            # A reminder whose record is already done that day stays quiet, and says why.
            for occurrence, reason in self._stays_quiet(connection, pending):
                occurrence.update(
                    status=OccurrenceStatus.suppressed, attempts=0, next_attempt_at=None, last_error=reason
                )
                stats.suppressed += 1
            # An occurrence recorded before (a reminder moved back onto an instant already
            # recorded) is skipped by the unique key: only the ones inserted now are sent.
            inserted = self._insert_occurrences(connection, occurrences)
            self._advance(connection, advances)
        stats.recorded = len(occurrences)
        fresh = [
            ClaimedOccurrence(o["id"], o["reminder_id"], o["client_id"], o["due_at"], o["attempts"], str(o["kind"]))
            for o in occurrences
            if o["status"] is OccurrenceStatus.pending and o["id"] in inserted
        ]
        sending = {occurrence.reminder_id for occurrence in fresh}
        recipients = {row.id: _recipient(row) for row in rows if row.id in sending}
        return stats, SendPlan(fresh, recipients)

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
        return among_ids(column, values, postgresql=self.is_postgres)

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

    def _stays_quiet(
        self, connection: Any, pending: list[tuple[dict[str, Any], Any]]
    ) -> list[tuple[dict[str, Any], str]]:
        """The occurrences that stay quiet, each with why (`frequency.quiet_reason`): the entries
        that client day asks for are there already (a weekly record's: that week), or the record
        is not set for that day."""
        if not pending:
            return []
        days: dict[uuid.UUID, tuple[str, Any]] = {}
        counted: list[tuple[date, date, date]] = []  # (the occurrence's day, the days that count)
        for occurrence, row in pending:
            zone, boundary = days[row.assignment_id] = (row.timezone, row.day_boundary)
            day = local_day(occurrence["due_at"], timezone=zone, boundary=boundary)
            # Only a weekly record's days reach back to its first day: not worked out for the others.
            weekly = row.frequency == Frequency.weekly
            first_day = local_day(row.assigned_at, timezone=zone, boundary=boundary) if weekly else day
            span = frequency_rules.counted_days(
                row.frequency, weekdays=row.assigned_weekdays or (), day=day, first_day=first_day
            )
            counted.append((day, *span))
        # A local day starts at most a day and a half from the UTC one; a week, six days more.
        reach = timedelta(days=2 + 6 * any(first < last for _day, first, last in counted))
        earliest = min(occurrence["due_at"] for occurrence, _row in pending) - reach
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
        quiet = []
        for (occurrence, row), (day, first, last) in zip(pending, counted, strict=True):
            entries = sum(counts.get((row.assignment_id, one), 0) for one in days_of(first, last))
            reason = frequency_rules.quiet_reason(
                row.frequency,
                times_per_day=row.times_per_day,
                weekdays=row.assigned_weekdays or (),
                day=day,
                entries=entries,
            )
            if reason is not None:
                quiet.append((occurrence, reason))
        return quiet

    # --- step 2: deliver pending occurrences --------------------------------------------------

    def claim_pending(self, now: datetime, *, fresh: SendPlan | None = None) -> SendPlan:
        """Claim pending occurrences whose retry time (or a dead dispatcher's lease) has come,
        and look up what sending them and `fresh` (just recorded and claimed) still needs."""
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
                ClaimedOccurrence(row.id, row.reminder_id, row.client_id, row.due_at, row.attempts, str(row.kind))
                for row in connection.execute(claim)
            ]
        if fresh is not None:
            claimed.extend(fresh.occurrences)
        plan = SendPlan(claimed, dict(fresh.recipients) if fresh is not None else {})
        if not claimed:
            return plan
        with self.engine.connect() as connection:
            reminder_ids = list({o.reminder_id for o in claimed if o.reminder_id not in plan.recipients})
            for chunk in self._chunks(reminder_ids):
                rows = connection.execute(
                    _with_recipients(select(R.c.id, *_RECIPIENT_COLUMNS)).where(self._among(R.c.id, chunk))
                )
                for row in rows:
                    plan.recipients[row.id] = _recipient(row)
            client_ids = list({occurrence.client_id for occurrence in claimed})
            # Only clients who could get an email are checked for silence: the rule's query
            # stays off the path of everyone else's reminders.
            may_email = {
                occurrence.client_id
                for occurrence in claimed
                if (recipient := plan.recipients.get(occurrence.reminder_id)) is not None
                and recipient.email_fallback
                and recipient.email
            }
            signs: dict[uuid.UUID, list[Any]] = defaultdict(list)
            for chunk in self._chunks(client_ids):
                rows = connection.execute(
                    select(
                        S.c.id, S.c.client_id, S.c.endpoint, S.c.p256dh, S.c.auth, S.c.created_at,
                        S.c.expired_at, S.c.last_success_at, S.c.last_failure_at, S.c.last_seen_at,
                        S.c.last_open_at,
                    ).where(self._among(S.c.client_id, chunk), S.c.expired_at.is_(None))
                )  # fmt: skip
                for row in rows:
                    plan.devices.setdefault(row.client_id, []).append(
                        (row.id, Target(row.endpoint, row.p256dh, row.auth))
                    )
                    if row.client_id in may_email:
                        signs[row.client_id].append(row)
            if signs:
                plan.silent = self._all_silent(connection, signs, now)
        return plan

    def _all_silent(self, connection: Any, signs: dict[uuid.UUID, list[Any]], now: datetime) -> set[uuid.UUID]:
        """The clients among these whose every device is silent (the rule: reminder health)."""
        count, days = self.settings.silent_after_reminders, self.settings.silent_after_days
        sends = reminder_health.last_sends(connection, client_ids=list(signs), count=count, now=now)
        return {
            client_id
            for client_id, devices in signs.items()
            if all(
                reminder_health.is_silent(device, sends=sends.get(client_id, []), now=now, reminders=count, days=days)
                for device in devices
            )
        }

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
        # Per device: how many messages went to it and how many its push service accepted
        # (delivery health), written with its outcome. Nearly every device of a chunk got one
        # message, accepted: one statement for each distinct (sent, accepted) pair.
        delivered: dict[tuple[int, int], list[uuid.UUID]] = defaultdict(list)
        gone, failed = [], []
        for subscription_id, results in device_results.items():
            accepted = sum(1 for result in results if result.outcome is Outcome.delivered)
            if accepted:
                delivered[(len(results), accepted)].append(subscription_id)
                continue
            row = {"sid": subscription_id, "error": results[0].error, "sent": len(results)}
            if any(result.outcome is Outcome.gone for result in results):
                gone.append(row)
            else:
                failed.append(row)
        devices = sorted(device_results)
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                with self.engine.begin() as connection:
                    self._lock_devices(connection, devices)
                    self._write_outcomes(connection, plain, rows, delivered, gone, failed, now)
                return
            except OperationalError:
                # A deadlock or serialization failure rolled the whole chunk back: write it again,
                # or its messages would be sent a second time once their lease runs out.
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("recording delivery outcomes failed (attempt %d); trying again", attempt)
                time.sleep(0.05 * attempt)

    def _lock_devices(self, connection: Any, devices: list[uuid.UUID]) -> None:
        """Take the devices' row locks in one order (by id) before updating them: two chunks
        being recorded at once (two batches, or two dispatchers) may share a client's devices,
        and updating shared rows in different orders deadlocks."""
        if self.is_postgres and devices:
            connection.execute(select(S.c.id).where(self._among(S.c.id, devices)).order_by(S.c.id).with_for_update())

    def _write_outcomes(
        self,
        connection: Any,
        plain: dict[OccurrenceStatus, list[uuid.UUID]],
        rows: list[dict[str, Any]],
        delivered: dict[tuple[int, int], list[uuid.UUID]],
        gone: list[dict[str, Any]],
        failed: list[dict[str, Any]],
        now: datetime,
    ) -> None:
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
        for (sent, accepted), ids in delivered.items():
            for chunk in self._chunks(ids):
                connection.execute(
                    update(S)
                    .where(self._among(S.c.id, chunk))
                    .values(
                        last_success_at=now,
                        failures=0,
                        last_error=None,
                        sent_count=S.c.sent_count + sent,
                        accepted_count=S.c.accepted_count + accepted,
                    )
                )
        sent_count = S.c.sent_count + bindparam("sent")
        if gone:
            connection.execute(
                update(S)
                .where(S.c.id == bindparam("sid"))
                .values(expired_at=now, last_failure_at=now, last_error=bindparam("error"), sent_count=sent_count),
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
                    sent_count=sent_count,
                ),
                failed,
            )

    def prune(self, *, now: datetime | None = None) -> int:
        """Delete subscriptions the push service reported gone more than 30 days ago."""
        cutoff = (now or utcnow()) - EXPIRED_KEPT
        with self.engine.begin() as connection:
            result = connection.execute(delete(S).where(S.c.expired_at.is_not(None), S.c.expired_at < cutoff))
        return int(result.rowcount or 0)


@lru_cache(maxsize=4096)
def _step_alike(spec: sched.ReminderTimes, cursor: datetime) -> tuple[sched.Due | None, sched.Due | None]:
    """Reminders set alike (same zone, times, days) and due at the same instant, as most of a
    burst is, step alike: computed once."""
    return sched.step(spec, cursor)


def _schedule(row: Any) -> sched.ReminderTimes:
    key = (
        row.timezone, tuple(row.times or ()), tuple(row.weekdays or ()), row.day_boundary,
        row.quiet_start, row.quiet_end, row.random_start, row.random_end, row.random_count,
        row.random_min_gap_minutes, row.id if row.random_count else None,
    )  # fmt: skip
    return _schedule_of(key)


@lru_cache(maxsize=4096)
def _schedule_of(key: tuple[Any, ...]) -> sched.ReminderTimes:
    (zone, times, weekdays, boundary, quiet_start, quiet_end, random_start, random_end, random_count, gap, seed) = key
    spec = sched.ReminderTimes(
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
