"""The reminder dispatcher: its reminders job claims what is due and delivers it. All of its
periodic work (reminders, digests, nudges, the subscription sweep, the heartbeat) is
scheduled in one place, app/dispatch/periodic.py.

Each tick of the reminders job, in order:

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
import logging
import os
import random
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine

from app.core import i18n
from app.core.email import Mail, Mailer
from app.core.settings import Settings
from app.dispatch import payload, periodic
from app.dispatch.ledger import ClaimedOccurrence, Delivery, Ledger, Recipient, SendPlan, TickStats
from app.dispatch.periodic import Periodic
from app.dispatch.vapid import VapidKeys, VapidSigner
from app.dispatch.webpush import Outcome, PushResult, PushSender, Target
from app.models import (
    Client,
    OccurrenceStatus,
    PushSubscription,
)
from app.models.types import utcnow
from app.services import heartbeat, metrics
from app.services.push_endpoints import EndpointRules
from app.services.reminders import health as reminder_health

log = logging.getLogger("between.dispatch")
Result = TypeVar("Result")

S = PushSubscription.__table__  # type: ignore[attr-defined]

LOCK_FILE = "dispatcher.lock"
MAX_BACKOFF_SECONDS = 600
# Claims run side by side on PostgreSQL, and this many claimed batches may be going out at once.
CLAIM_LANES = 2
BATCHES_IN_FLIGHT = 3
# Outcomes are written this often while a batch is being sent.
RECORD_EVERY = 0.05
# The collector runs its first generation after this many new objects (Python's default: 700).
# A burst keeps thousands of sends in flight, each a task, a request and a response, and at the
# default the collector ran every few messages and walked them all again: about a sixth of a
# dispatcher's CPU (docs/benchmarks.md). The objects of a message are freed by reference
# counting as soon as it is recorded; only cycles wait for the collector, a little longer.
BURST_GC_THRESHOLD = (10_000, 10, 10)


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


class Dispatcher:
    """Sends what its `ledger` claims: Web Push through pywebpush, email where a client has no
    device, and the periodic work (`periodic.jobs`)."""

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
        self.host, self.pid = os.uname().nodename, os.getpid()
        self.name = name or f"{self.host}:{self.pid}"
        self.started_at = utcnow()
        self.ledger = Ledger(engine=engine, settings=settings)
        self._lock: SingleDispatcherLock | None = None
        self._scheduler: Periodic | None = None
        self._texts: dict[tuple[str, bool, str, bool], dict[str, Any]] = {}
        self._stopping = False
        self.totals = TickStats()

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def sender(self) -> PushSender:
        if self._sender is None:
            self._sender = PushSender(
                VapidSigner(self.keys),
                timeout=self.settings.push_timeout_seconds,
                concurrency=self.settings.dispatch_concurrency,
                rules=EndpointRules.from_settings(self.settings),
            )
        return self._sender

    def acquire_lock(self) -> None:
        if self.engine.dialect.name == "sqlite" and self._lock is None:
            lock = SingleDispatcherLock(Path(self.settings.data_dir) / LOCK_FILE)
            lock.acquire()
            self._lock = lock

    def start(self) -> None:
        """Start the periodic work (app/dispatch/periodic.py) on the running event loop
        (call from async code)."""
        self.acquire_lock()
        # One line per push (with the device's endpoint in it) is noise and leaks addresses into logs.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.beat()
        scheduler = Periodic(periodic.jobs(self), misfire_grace_seconds=self.settings.dispatch_misfire_grace_seconds)
        scheduler.start()
        self._scheduler = scheduler
        log.info("reminder dispatcher %s started (%s)", self.name, self.engine.dialect.name)

    async def stop(self) -> None:
        """Stop the periodic work; a tick in progress finishes its current batch and records it."""
        self._stopping = True
        if self._scheduler is not None:
            await self._scheduler.stop()
            self._scheduler = None
            await asyncio.to_thread(self.forget)
        await self.aclose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        log.info("reminder dispatcher %s stopped", self.name)

    # --- heartbeat (app/services/heartbeat.py) -------------------------------------------------

    def beat(self) -> None:
        """Write this dispatcher's heartbeat row; a failure is logged, and shows as a stale beat."""
        now = utcnow()
        try:
            heartbeat.beat(
                self.engine, name=self.name, host=self.host, pid=self.pid, started_at=self.started_at, now=now
            )
        except Exception as problem:
            log.warning("dispatcher heartbeat not written: %s", type(problem).__name__)
            return
        metrics.DISPATCHER_LAST_HEARTBEAT.set(now.timestamp())

    async def heartbeat(self) -> None:
        """The heartbeat job."""
        if not self._stopping:
            await asyncio.to_thread(self.beat)

    def forget(self) -> None:
        try:
            heartbeat.forget(self.engine, name=self.name)
        except Exception as problem:
            log.warning("dispatcher heartbeat not removed: %s", type(problem).__name__)

    async def aclose(self) -> None:
        """Close the HTTP connections (they belong to the running event loop)."""
        if self._sender is not None:
            await self._sender.aclose()
            self._sender = None

    async def tick(self) -> TickStats:
        """The reminders job: work until nothing is due. Errors are logged, never raised."""
        stats = TickStats()
        if self._stopping:
            return stats
        try:
            stats = await self.burst()
        except Exception:
            metrics.DISPATCH_TICK_ERRORS.inc()
            log.exception("reminder dispatch tick failed; the next tick retries")
        self.totals.add(stats)
        return stats

    async def digests(self, *, now: datetime | None = None) -> None:
        """The digests job: the therapist's email before a session (app/dispatch/digest.py)."""
        from app.dispatch import digest

        if not self._stopping:
            await digest.run(self, now=now or utcnow())

    async def nudges(self, *, now: datetime | None = None) -> None:
        """The nudges job: the client's note the day before a session (app/dispatch/nudge.py)."""
        from app.dispatch import nudge

        if not self._stopping:
            await nudge.run(self, now=now or utcnow())

    async def sweep_subscriptions(self) -> None:
        """The subscription-sweep job: forget devices the push service reported gone long ago."""
        if not self._stopping:
            metrics.PUSH_SUBSCRIPTIONS_PRUNED.inc(await asyncio.to_thread(self.ledger.prune))

    async def sweep_signups(self, *, now: datetime | None = None) -> int:
        """The sign-up sweep job: delete sign-ups never confirmed (app/services/signups.py)."""
        if self._stopping:
            return 0
        return await asyncio.to_thread(self._sweep_signups, now)

    def _sweep_signups(self, now: datetime | None) -> int:
        from app.core.db import open_session
        from app.services import signups

        with open_session(self.engine) as session:
            swept = signups.sweep_unconfirmed(session, now=now)
            session.commit()
        if swept:
            log.info("deleted %d sign-ups never confirmed", swept)
        return swept

    async def before_sessions(self, *, now: datetime | None = None) -> None:
        """Both passes before sessions at once (tests, and `between` commands); a failure in
        one does not keep the other from running."""
        for name, run in (("digest", self.digests), ("nudge", self.nudges)):
            try:
                await run(now=now)
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
        """Work until nothing is left to do now, as a pipeline: claiming (database work, in
        threads) overlaps sending, and a claimed batch starts going out at once, next to the
        ones still in flight. On PostgreSQL two claims run side by side (SKIP LOCKED gives
        each its own reminders): a claim spends most of its time waiting on the database."""
        total = TickStats()
        lanes = CLAIM_LANES if self.ledger.is_postgres else 1
        claiming: set[asyncio.Task[tuple[TickStats, SendPlan, datetime]]] = set()
        sending: set[asyncio.Task[TickStats]] = set()

        def claim() -> None:
            claiming.add(asyncio.create_task(asyncio.to_thread(self._claim_round, now or utcnow())))

        for _lane in range(lanes):
            claim()
        claims = lanes
        try:
            while claiming:
                done, claiming = await asyncio.wait(claiming, return_when=asyncio.FIRST_COMPLETED)
                for claimed in done:
                    stats, plan, claimed_at = claimed.result()
                    total.add(stats)
                    if plan.occurrences:
                        sending.add(asyncio.create_task(self.deliver(plan, now=now or claimed_at)))
                    if (plan.occurrences or stats.work) and not self._stopping and claims < rounds:
                        claim()
                        claims += 1
                while len(sending) >= BATCHES_IN_FLIGHT:
                    finished, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                    for batch in finished:
                        total.add(batch.result())
        finally:
            for claimed in claiming:
                stats, plan, claimed_at = await claimed
                total.add(stats)
                if plan.occurrences:  # claimed under our lease: send now rather than after it
                    sending.add(asyncio.create_task(self.deliver(plan, now=now or claimed_at)))
            for batch in sending:
                total.add(await batch)
        return total

    def _claim_round(self, now: datetime) -> tuple[TickStats, SendPlan, datetime]:
        stats, fresh = self.ledger.claim_due(now)
        # Decided while claiming, without a send: done for the day, or already past the grace period.
        if stats.suppressed:
            metrics.REMINDER_OUTCOMES.labels("suppressed").inc(stats.suppressed)
        if stats.missed:
            metrics.REMINDER_OUTCOMES.labels("missed").inc(stats.missed)
        return stats, self.ledger.claim_pending(now, fresh=fresh), now

    def payload(self, occurrence: ClaimedOccurrence, recipient: Recipient, *, badge: int | None = None) -> bytes:
        """The reminder's message (app/dispatch/payload.py). `badge`: the records this client is
        reminded of in the same send, none of them done yet, where known (a floor for the app
        badge; the client's Today page sets the exact count when opened)."""
        from app.services.reminders.snooze_links import snooze_token

        expires = occurrence.due_at + timedelta(hours=12)
        return payload.reminder(
            base_url=self.settings.base_url,
            texts=self._texts_for(recipient),
            lang=recipient.locale or self.settings.default_locale,
            assignment_id=recipient.assignment_id,
            reminder_id=occurrence.reminder_id,
            occurrence_id=occurrence.id,
            snooze=snooze_token(
                secret=self.settings.secret_key,
                client_id=occurrence.client_id,
                reminder_id=occurrence.reminder_id,
                expires=expires,
            ),
            badge=badge,
            not_today=not recipient.as_it_happens,
        )

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

    async def deliver(self, plan: SendPlan, *, now: datetime) -> TickStats:
        """Send a batch, recording outcomes as they arrive (every RECORD_EVERY seconds),
        so that a crash leaves few sent-but-unrecorded messages to be sent again."""
        stats = TickStats()
        finished: list[tuple[Delivery, list[tuple[uuid.UUID, PushResult]]]] = []
        remaining = len(plan.occurrences)
        all_done = asyncio.Event()

        async def one(occurrence: ClaimedOccurrence) -> None:
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
                recording = asyncio.create_task(
                    asyncio.to_thread(self.ledger.record, deliveries, device_results, utcnow())
                )
                stats.add(_count(deliveries, device_results))
        finally:
            if recording is not None:
                await recording
        del tasks
        return stats

    async def _deliver_one(
        self, occurrence: ClaimedOccurrence, plan: SendPlan, now: datetime
    ) -> tuple[Delivery, list[tuple[uuid.UUID, PushResult]]]:
        recipient = plan.recipients.get(occurrence.reminder_id)
        deadline = occurrence.due_at + self.ledger.grace
        if recipient is None:  # the reminder was deleted meanwhile
            return Delivery(occurrence, OccurrenceStatus.missed, error="gone"), []
        if now > deadline:
            return await self._fall_back(occurrence, recipient, "late"), []
        devices = plan.devices.get(occurrence.client_id, [])
        if not devices:
            return await self._fall_back(occurrence, recipient, "no_device"), []
        body = self.payload(occurrence, recipient, badge=plan.reminded_now(occurrence.client_id))
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
            if occurrence.client_id in plan.silent:
                # Every device takes reminders without showing them: the client chose email
                # for when push does not reach them, so it goes by email as well.
                emailed = await self._fall_back(occurrence, recipient, reminder_health.SILENT)
                if emailed.status is OccurrenceStatus.email:
                    return emailed, per_device
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

    async def _fall_back(self, occurrence: ClaimedOccurrence, recipient: Recipient, error: str) -> Delivery:
        if not (recipient.email_fallback and recipient.email):
            return Delivery(occurrence, OccurrenceStatus.missed, error=error)
        texts = self._texts_for(recipient)
        link = f"{self.settings.base_url.rstrip('/')}/c/record/{recipient.assignment_id}"
        mail = Mail(to=recipient.email, subject=texts["title"], text=f"{texts['email']}\n\n{link}\n")
        try:
            await self.mailer.send_async(mail)
        except Exception as problem:  # SMTP down, refused, not configured
            metrics.EMAIL_FALLBACKS.labels("failed").inc()
            log.warning("email fallback failed for occurrence %s: %s", occurrence.id, type(problem).__name__)
            return Delivery(occurrence, OccurrenceStatus.missed, error="email_failed")
        metrics.EMAIL_FALLBACKS.labels("sent").inc()
        return Delivery(occurrence, OccurrenceStatus.email, sent_at=utcnow(), error=error)

    # --- a test notification from the settings page -------------------------------------------

    async def send_test(self, *, client: Client) -> list[PushResult]:
        with self.engine.connect() as connection:
            devices = connection.execute(
                select(S.c.id, S.c.endpoint, S.c.p256dh, S.c.auth).where(
                    S.c.client_id == client.id, S.c.expired_at.is_(None)
                )
            ).all()
        locale = client.locale or self.settings.default_locale
        texts = notification_texts(locale=locale, title=None)
        body = payload.notifications_work(
            base_url=self.settings.base_url, title=texts["title"], body=texts["test"], lang=locale
        )
        results = await asyncio.gather(
            *(
                self.sender.send(Target(row.endpoint, row.p256dh, row.auth), body, ttl=300, urgency="high")
                for row in devices
            )
        )
        by_device = {row.id: [result] for row, result in zip(devices, results, strict=True)}
        await asyncio.to_thread(self.ledger.record, [], by_device, utcnow())
        return list(results)


def _count(deliveries: list[Delivery], device_results: dict[uuid.UUID, list[PushResult]]) -> TickStats:
    stats = TickStats()
    _observe(deliveries, device_results)
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


def _observe(deliveries: list[Delivery], device_results: dict[uuid.UUID, list[PushResult]]) -> None:
    """Outcomes, lateness and push services' answers for /metrics (app/services/metrics.py)."""
    outcomes: defaultdict[str, int] = defaultdict(int)
    late = {"push": metrics.REMINDER_LATENESS.labels("push"), "email": metrics.REMINDER_LATENESS.labels("email")}
    for delivery in deliveries:
        status = delivery.status
        outcomes["retry" if status is OccurrenceStatus.pending else status.value] += 1
        if delivery.sent_at is not None and status is not OccurrenceStatus.pending:
            lateness = (delivery.sent_at - delivery.occurrence.due_at).total_seconds()
            late["email" if status is OccurrenceStatus.email else "push"].observe(max(0.0, lateness))
    for name, count in outcomes.items():
        metrics.REMINDER_OUTCOMES.labels(name).inc(count)
    answers: defaultdict[str, int] = defaultdict(int)
    gone = 0
    for results in device_results.values():
        for result in results:
            answers[metrics.status_class(result.status)] += 1
            gone += result.outcome is Outcome.gone
    for status_class, count in answers.items():
        metrics.PUSH_RESPONSES.labels(status_class).inc(count)
    if gone:
        metrics.PUSH_SUBSCRIPTIONS_EXPIRED.inc(gone)


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
                "not_today": i18n.gettext("Not today"),
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
    out of the collector's full passes, which otherwise pause a burst for tens of milliseconds,
    and let the collector's first generation grow to BURST_GC_THRESHOLD. Call it once
    everything the process keeps is loaded (the health app included)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*BURST_GC_THRESHOLD)


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
