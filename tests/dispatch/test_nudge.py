"""The day before a session ("Anything you want to bring tomorrow?"), against the real push service peer
(npm web-push-testing: it checks VAPID and decrypts, so we read what a phone would show)
and a real SMTP peer (aiosmtpd) for the email fallback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.db import open_session
from app.core.settings import Settings
from app.dispatch import nudge
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.models import Appointment, Assignment, Client, Visibility
from app.models.types import utcnow
from app.services import appointments, reminders
from tests import aio
from tests.dispatch.smtp_peer import Inbox, run_inbox
from tests.factories import make_assignment, make_client, make_entry, make_therapist
from tests.peers import PushPeer

ZONE = "Europe/Madrid"
CLINICAL = ("therapy", "Mood", "record type", "PHQ")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from run_inbox()


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


@dataclass
class World:
    client: Client
    assignment: Assignment
    upcoming: Appointment
    today: date

    hour: int = 10

    @property
    def nudge_at(self) -> datetime:
        """The session's time the day before, in the client's zone."""
        return _at(self.today, self.hour)


def _world(session: Session, *, done_days_ago: tuple[int, ...], hour: int = 10) -> World:
    """A client in Madrid whose last session was 5 days ago and whose next is tomorrow at
    `hour`, with a daily record done on the given days (1 = yesterday)."""
    today = utcnow().astimezone(ZoneInfo(ZONE)).date()
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Sam", timezone=ZONE)
    assignment = make_assignment(session, client=client)
    assignment.created_at = _at(today - timedelta(days=8), 9)
    session.add(assignment)
    session.commit()
    appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=_at(today - timedelta(days=5), 10),
        timezone=ZONE,
        now=_at(today - timedelta(days=6), 10),
    )
    [upcoming] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=_at(today + timedelta(days=1), hour),
        timezone=ZONE,
        now=_at(today - timedelta(days=1), 0),
    )
    session.commit()
    for days_ago in done_days_ago:
        make_entry(
            session,
            client=client,
            assignment=assignment,
            # Private entries count as done: whether a day is missing never needs the content.
            visibility=Visibility.private if days_ago % 2 else Visibility.shared,
            occurred_at=_at(today - timedelta(days=days_ago), 12),
        )
    return World(client, assignment, upcoming, today, hour)


EVERY_DAY = (5, 4, 3, 2, 1)
SOME_DAYS = (5, 3)


def _phone(session: Session, world: World, peer: PushPeer, keys: VapidKeys, settings: Settings) -> str:
    data = peer.subscribe(keys.public_key)
    reminders.add_subscription(
        session, client=world.client, data={"endpoint": data["endpoint"], "keys": data["keys"]}, settings=settings
    )
    session.commit()
    return str(data["clientHash"])


def _pass(dispatcher: Dispatcher, now: datetime) -> nudge.NudgeStats:
    async def go() -> nudge.NudgeStats:
        try:
            return await nudge.run(dispatcher, now=now)
        finally:
            await dispatcher.aclose()

    return aio.run(go())


def _nudged_at(session: Session, world: World) -> datetime | None:
    session.expire_all()
    appointment = session.get(Appointment, world.upcoming.id)
    assert appointment is not None
    return appointment.nudge_sent_at


def test_one_warm_discreet_question_the_day_before(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.sent == 1
    [message] = push_peer.messages(phone)
    notification = json.loads(message)["notification"]
    assert notification["title"] == "Between"
    assert notification["body"] == "Anything you want to bring tomorrow?"
    # It opens the page for the session: entries to bring, a note, a due questionnaire.
    assert notification["navigate"] == f"{dispatcher.settings.base_url}/c/agenda"
    assert notification["tag"] == f"nudge-{world.upcoming.id}"
    for word in CLINICAL:
        assert word not in message
    assert _nudged_at(session, world) is not None
    assert nudge.outcomes(session, client_id=world.client.id, since=world.nudge_at - timedelta(days=1)) == {"sent": 1}
    health = reminders.delivery_health(session, client=world.client)
    assert health.devices[0].last_success_at is not None


def test_nudged_once_per_session(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    _pass(dispatcher, world.nudge_at + timedelta(minutes=1))
    again = _pass(dispatcher, world.nudge_at + timedelta(minutes=2))
    later = _pass(dispatcher, world.nudge_at + timedelta(hours=3))

    assert again.sent == 0 and later.sent == 0
    assert len(push_peer.messages(phone)) == 1


def test_not_before_the_sessions_time_the_day_before(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at - timedelta(minutes=1))

    assert stats == nudge.NudgeStats()
    assert push_peer.messages(phone) == []
    assert _nudged_at(session, world) is None


def test_asked_even_when_every_record_is_done(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=EVERY_DAY)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.sent == 1
    assert json.loads(push_peer.messages(phone)[0])["body"] == "Anything you want to bring tomorrow?"


def test_quiet_hours_hold_it_until_they_end(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    reminders.save(
        session,
        client=world.client,
        assignment_id=world.assignment.id,
        data=reminders.ReminderInput(times=["19:00"], quiet_start="08:00", quiet_end="12:00"),
    )
    session.commit()
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    quiet = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))
    assert quiet == nudge.NudgeStats() and _nudged_at(session, world) is None
    at_noon = _pass(dispatcher, _at(world.today, 12))

    assert at_noon.sent == 1
    assert len(push_peer.messages(phone)) == 1


def test_quiet_hours_into_the_sessions_day_say_today(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    # Session tomorrow at 23:00, quiet 22:00-08:00: asked tomorrow at 08:00, the same day.
    world = _world(session, done_days_ago=SOME_DAYS, hour=23)
    reminders.save(
        session,
        client=world.client,
        assignment_id=world.assignment.id,
        data=reminders.ReminderInput(times=["19:00"], quiet_start="22:00", quiet_end="08:00"),
    )
    session.commit()
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    assert _pass(dispatcher, world.nudge_at + timedelta(minutes=1)) == nudge.NudgeStats()
    stats = _pass(dispatcher, _at(world.today + timedelta(days=1), 8))

    assert stats.sent == 1
    assert json.loads(push_peer.messages(phone)[0])["body"] == "Anything you want to bring today?"


def test_opted_in_detail_names_the_session_and_the_records_to_catch_up(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    world.client.lock_screen_detail = True
    session.add(world.client)
    session.commit()
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    [message] = push_peer.messages(phone)
    assert json.loads(message)["notification"]["body"] == (
        "Your therapy session is tomorrow. Anything you want to bring? And if you like, a moment for Mood check."
    )


def test_in_the_clients_language(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    world.client.locale = "es"
    session.add(world.client)
    session.commit()
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    [message] = push_peer.messages(phone)
    assert json.loads(message)["notification"]["body"] == "¿Hay algo que quieras llevar mañana?"


def test_email_when_no_device_and_the_client_opted_in(
    session: Session, engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys, inbox: Inbox
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    world.client.email = "sam@example.org"
    world.client.email_fallback = True
    session.add(world.client)
    session.commit()
    mailing = Dispatcher(engine=engine, settings=inbox.settings(dispatch_settings), keys=vapid_keys)

    stats = _pass(mailing, world.nudge_at + timedelta(minutes=1))

    assert stats.email == 1
    [mail] = inbox.messages
    assert mail["To"] == "sam@example.org" and mail["Subject"] == "Between"
    text = mail.get_content()  # type: ignore[attr-defined]
    assert text.startswith("Your next session is coming up.") and "http://testserver/c/agenda" in text
    for word in CLINICAL:
        assert word not in text


def test_no_device_and_no_email_is_recorded_missed(session: Session, dispatcher: Dispatcher) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.missed == 1
    assert _nudged_at(session, world) is not None


def test_too_late_is_not_sent(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at + nudge.WINDOW + timedelta(minutes=1))

    assert stats.missed == 1
    assert push_peer.messages(phone) == []


def test_paused_reminders_mean_no_nudge(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)
    reminders.pause_all(session, client=world.client)
    session.commit()

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.suppressed == 1
    assert push_peer.messages(phone) == []


def test_cancelled_session_gets_no_nudge(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)
    appointment = session.get(Appointment, world.upcoming.id)
    assert appointment is not None
    appointment.cancelled_at = utcnow()
    session.add(appointment)
    session.commit()

    assert _pass(dispatcher, world.nudge_at + timedelta(minutes=1)) == nudge.NudgeStats()
    assert push_peer.messages(phone) == []


def test_two_claims_take_a_session_once(session: Session, engine: Engine) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    now = world.nudge_at + timedelta(minutes=1)
    with open_session(engine) as first, open_session(engine) as second:
        claimed = nudge.claim(first, now=now)
        if engine.dialect.name == "postgresql":
            # Still uncommitted: the row is locked, and the second claim skips it.
            assert nudge.claim(second, now=now) == []
            second.rollback()
        first.commit()
        assert nudge.claim(second, now=now) == []
        second.commit()
    assert [item.appointment_id for item in claimed] == [world.upcoming.id]


def test_two_dispatchers_send_it_once(
    session: Session,
    engine: Engine,
    push_peer: PushPeer,
    vapid_keys: VapidKeys,
    dispatch_settings: Settings,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite a lock file allows a single dispatcher")
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)
    pair = [Dispatcher(engine=engine, settings=dispatch_settings, keys=vapid_keys) for _ in range(2)]
    now = world.nudge_at + timedelta(minutes=1)

    async def go() -> list[nudge.NudgeStats]:
        try:
            return list(await asyncio.gather(*(nudge.run(one, now=now) for one in pair)))
        finally:
            for one in pair:
                await one.aclose()

    stats = aio.run(go())

    assert sorted(item.sent for item in stats) == [0, 1]
    assert len(push_peer.messages(phone)) == 1


def test_the_passes_before_sessions_include_the_nudge(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    async def go() -> None:
        try:
            await dispatcher.before_sessions(now=world.nudge_at + timedelta(minutes=1))
        finally:
            await dispatcher.aclose()

    aio.run(go())

    assert len(push_peer.messages(phone)) == 1
