"""The dispatcher's periodic work: one APScheduler scheduler, one job per kind of work.

This is the place to add periodic work (docs/architecture.md): a new kind of work is one
more `Job` in `jobs()`, an async method of the dispatcher. Every job runs on the
dispatcher's event loop with

- `coalesce=True`: runs missed while the process was busy or suspended collapse into one;
- `max_instances=1`: a long reminder burst never overlaps itself (nor a slow digest pass);
- `misfire_grace_time` from `BETWEEN_DISPATCH_MISFIRE_GRACE_SECONDS`: a run that could not
  start within that long after its time is skipped, and the job waits for its next turn
  (what it would have done is still due then: every job works off what the database says
  is due, never what happened in between).

Several dispatchers run the same jobs; they share the work through the database
(`FOR UPDATE SKIP LOCKED`), not through the scheduler. Stopping pauses the scheduler and
lets running jobs finish before it shuts down: APScheduler cancels a running coroutine job
on shutdown, and a reminder batch cancelled mid-send would leave sent messages unrecorded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from app.dispatch.dispatcher import Dispatcher

log = logging.getLogger("between.dispatch")

# Digests and nudges are due on whole minutes; expired subscriptions are kept 30 days and
# unconfirmed sign-ups 7 days after their last link, so an hourly sweep is plenty.
SESSION_PASS_SECONDS = 60.0
# Reminders fall due on whole minutes and go out in a burst then; the passes before sessions
# run between bursts instead, so they never wait for the database behind one.
DIGESTS_OFFSET = 20.0
NUDGES_OFFSET = 40.0
SWEEP_SECONDS = 3600.0
# How long stopping waits for running jobs (a reminder batch finishes its sends and records them).
STOP_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[], Awaitable[Any]]
    seconds: float
    # First run on the next multiple of the interval since the epoch (reminders fall due on
    # whole minutes, so a tick on the multiple catches them within milliseconds). Otherwise
    # the first run is one interval after start.
    aligned: bool = False
    # Seconds after the aligned instant (minute jobs keep off the whole minute, when reminders burst).
    offset: float = 0.0


def jobs(dispatcher: Dispatcher) -> list[Job]:
    """Every kind of periodic work a dispatcher does."""
    settings = dispatcher.settings
    return [
        Job("reminders", dispatcher.tick, settings.dispatch_tick_seconds, aligned=True),
        Job("digests", dispatcher.digests, SESSION_PASS_SECONDS, aligned=True, offset=DIGESTS_OFFSET),
        Job("nudges", dispatcher.nudges, SESSION_PASS_SECONDS, aligned=True, offset=NUDGES_OFFSET),
        Job("subscription-sweep", dispatcher.sweep_subscriptions, SWEEP_SECONDS),
        Job("signup-sweep", dispatcher.sweep_signups, SWEEP_SECONDS),
        # Its own job: a long burst does not make a working dispatcher look stale.
        Job("heartbeat", dispatcher.heartbeat, settings.dispatch_heartbeat_seconds),
    ]


def aligned(seconds: float, *, now: float | None = None) -> datetime:
    """The next multiple of `seconds` since the epoch."""
    moment = time.time() if now is None else now
    return datetime.fromtimestamp(math.ceil(moment / seconds) * seconds, UTC)


class Periodic:
    """One scheduler running `jobs` on the running event loop."""

    def __init__(self, jobs: list[Job], *, misfire_grace_seconds: float) -> None:
        self.jobs = jobs
        self.misfire_grace_seconds = misfire_grace_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Start the scheduler (call from async code: it takes the running loop)."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        # A run skipped because the previous one still works is expected in a burst: not a warning.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        scheduler = AsyncIOScheduler(timezone=UTC)
        for job in self.jobs:
            options: dict[str, Any] = {}
            if job.aligned:
                options["next_run_time"] = aligned(job.seconds) + timedelta(seconds=job.offset)
            scheduler.add_job(
                functools.partial(self._run, job),
                "interval",
                seconds=job.seconds,
                id=job.id,
                name=job.id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, math.ceil(self.misfire_grace_seconds)),
                **options,
            )
        scheduler.start()
        self.scheduler = scheduler

    async def _run(self, job: Job) -> None:
        task = asyncio.current_task()
        assert task is not None
        task.set_name(f"periodic:{job.id}")
        self._running.add(task)
        try:
            await job.run()
        except Exception:
            log.exception("periodic job %s failed; its next run tries again", job.id)
        finally:
            self._running.discard(task)

    @property
    def running(self) -> list[str]:
        """Names of the jobs running now (for tests and logs)."""
        return sorted(task.get_name().removeprefix("periodic:") for task in self._running)

    async def stop(self, *, wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        """No new runs; running ones finish (up to `wait_seconds`); then the scheduler shuts down."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        running = set(self._running)
        if running:
            _done, late = await asyncio.wait(running, timeout=wait_seconds)
            if late:
                log.warning("%d periodic job(s) still running after %.0f s; stopping anyway", len(late), wait_seconds)
        scheduler.shutdown(wait=False)
