"""The dispatcher's periodic work: one scheduler, one job per kind, and a clean stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.periodic import Job, Periodic, aligned
from app.dispatch.vapid import VapidKeys
from app.models import DispatcherHeartbeat
from tests import aio

KINDS = {"reminders", "digests", "nudges", "subscription-sweep", "signup-sweep", "heartbeat"}


def _run_now(periodic: Periodic, job_id: str) -> None:
    assert periodic.scheduler is not None
    periodic.scheduler.get_job(job_id).modify(next_run_time=datetime.now(UTC))
    periodic.scheduler.wakeup()


def test_one_scheduler_runs_one_job_per_kind_of_work_with_the_same_rules(
    engine: Engine, session: Session, dispatch_settings: Settings, vapid_keys: VapidKeys
) -> None:
    settings = dispatch_settings.model_copy(update={"dispatch_misfire_grace_seconds": 7, "dispatch_tick_seconds": 2})
    dispatcher = Dispatcher(engine=engine, settings=settings, keys=vapid_keys, name="periodic-test")

    async def started_and_stopped() -> list[tuple[str, bool, int, int | None, datetime]]:
        dispatcher.start()
        assert dispatcher._scheduler is not None and dispatcher._scheduler.scheduler is not None
        jobs = [
            (job.id, job.coalesce, job.max_instances, job.misfire_grace_time, job.next_run_time)
            for job in dispatcher._scheduler.scheduler.get_jobs()
        ]
        await dispatcher.stop()
        return jobs

    jobs = aio.run(started_and_stopped())

    assert sorted(job_id for job_id, *_rest in jobs) == sorted(KINDS)
    for job_id, coalesce, max_instances, grace, _next in jobs:
        assert (job_id, coalesce, max_instances, grace) == (job_id, True, 1, 7)
    # Reminders fall due on whole minutes: the tick lands on a multiple of its interval.
    tick_at = next(at for job_id, *_rest, at in jobs if job_id == "reminders")
    assert tick_at.timestamp() % 2 == 0
    # The passes before sessions run once a minute, off the whole minute (between bursts).
    minute_jobs = {job_id: at.timestamp() % 60 for job_id, *_rest, at in jobs if job_id in ("digests", "nudges")}
    assert minute_jobs == {"digests": 20, "nudges": 40}
    # Stopped cleanly: no scheduler left, and the heartbeat row is gone.
    assert dispatcher._scheduler is None
    assert session.exec(select(DispatcherHeartbeat).where(DispatcherHeartbeat.name == "periodic-test")).first() is None


def test_stopping_lets_a_running_job_finish_and_a_second_run_never_overlaps_it() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []
    skipped: list[str] = []

    async def slow() -> None:
        runs.append("started")
        started.set()
        await release.wait()
        runs.append("finished")

    async def scenario() -> tuple[bool, list[str]]:
        periodic = Periodic([Job("slow", slow, seconds=3600)], misfire_grace_seconds=30)
        periodic.start()
        assert periodic.scheduler is not None
        periodic.scheduler.add_listener(
            lambda event: skipped.append(event.job_id) if isinstance(event, JobEvent) else None,
            EVENT_JOB_MAX_INSTANCES,
        )
        _run_now(periodic, "slow")
        await started.wait()
        assert periodic.running == ["slow"]
        # Its next turn comes while it still runs: skipped (max_instances=1), not run beside it.
        _run_now(periodic, "slow")
        while not skipped:
            await asyncio.sleep(0.01)
        stopping = asyncio.create_task(periodic.stop())
        for _turn in range(20):
            await asyncio.sleep(0)
        waited = not stopping.done()
        release.set()
        await stopping
        return waited, list(runs)

    waited, runs_seen = aio.run(scenario())

    assert waited, "stop() returned while a job was still running"
    assert runs_seen == ["started", "finished"]  # finished, not cancelled; run once
    assert skipped == ["slow"]


def test_a_failing_job_is_logged_and_runs_again_at_its_next_turn(caplog) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    second = asyncio.Event()

    async def flaky() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("database away")
        second.set()

    async def scenario() -> None:
        periodic = Periodic([Job("flaky", flaky, seconds=3600)], misfire_grace_seconds=30)
        periodic.start()
        _run_now(periodic, "flaky")
        while not calls:
            await asyncio.sleep(0.01)
        while periodic.running:
            await asyncio.sleep(0.01)
        _run_now(periodic, "flaky")
        await second.wait()
        await periodic.stop()

    aio.run(scenario())

    assert calls == [0, 1]
    assert "periodic job flaky failed" in caplog.text


def test_aligned_runs_fall_on_multiples_of_the_interval() -> None:
    assert aligned(60, now=1_000_000_030.5) == datetime.fromtimestamp(1_000_000_080, UTC)
    assert aligned(2, now=1_000_000_000) == datetime.fromtimestamp(1_000_000_000, UTC)


def test_the_sign_up_sweep_deletes_sign_ups_never_confirmed(
    engine: Engine, session: Session, dispatch_settings: Settings, vapid_keys: VapidKeys
) -> None:
    from datetime import timedelta

    from app.models import EmailVerification, Therapist, TherapistCreate
    from app.models.types import utcnow
    from app.services import signups
    from tests.factories import PASSWORD

    data = TherapistCreate(email="never-confirmed@example.org", display_name="Dr. Waiting", password=PASSWORD)
    signups.request_account(session, data=data, locale="en", hours=48, may_email=True)
    session.commit()
    therapist = session.exec(select(Therapist).where(Therapist.email == data.email)).one()
    therapist.created_at = utcnow() - timedelta(days=30)
    session.add(therapist)
    for link in session.exec(select(EmailVerification).where(EmailVerification.therapist_id == therapist.id)):
        link.expires_at = utcnow() - timedelta(days=20)
        session.add(link)
    session.commit()

    dispatcher = Dispatcher(engine=engine, settings=dispatch_settings, keys=vapid_keys, name="sweep-test")
    assert aio.run(dispatcher.sweep_signups()) == 1
    session.expire_all()
    assert session.exec(select(Therapist).where(Therapist.email == data.email)).first() is None
