"""The client's nudge the day before a session, against the real push service peer
(npm web-push-testing: it checks VAPID and decrypts, so we read what a phone would show)
and a real SMTP peer (aiosmtpd) for the email fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

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

    @property
    def nudge_at(self) -> datetime:
        """18:00 in the client's zone the day before the session."""
        return _at(self.today, 18)


def _world(session: Session, *, done_days_ago: tuple[int, ...]) -> World:
    """A client in Madrid whose last session was 5 days ago and whose next is tomorrow at
    10:00, with a daily record done on the given days (1 = yesterday)."""
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
        starts_at=_at(today + timedelta(days=1), 10),
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
    return World(client, assignment, upcoming, today)


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


def test_missing_records_get_one_warm_discreet_nudge(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.sent == 1
    [message] = push_peer.messages(phone)
    notification = json.loads(message)["notification"]
    assert notification["title"] == "Between"
    assert notification["body"] == "Your next session is tomorrow. A moment to catch up on your records?"
    assert notification["navigate"] == f"{dispatcher.settings.base_url}/c"
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


def test_not_before_six_in_the_evening_the_day_before(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    stats = _pass(dispatcher, world.nudge_at - timedelta(minutes=1))

    assert stats == nudge.NudgeStats()
    assert push_peer.messages(phone) == []
    assert _nudged_at(session, world) is None


def test_suppressed_when_nothing_is_missing(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=EVERY_DAY)
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    # Today's record is still open at 18:00: that alone is not "missing".
    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.suppressed == 1 and stats.sent == 0
    assert push_peer.messages(phone) == []
    assert _nudged_at(session, world) is not None  # recorded, so never reconsidered
    assert nudge.outcomes(session, client_id=world.client.id, since=world.nudge_at - timedelta(days=1)) == {
        "suppressed": 1
    }


def test_opted_in_detail_names_the_records(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)
    world.client.lock_screen_detail = True
    session.add(world.client)
    session.commit()
    phone = _phone(session, world, push_peer, vapid_keys, dispatch_settings)

    _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    [message] = push_peer.messages(phone)
    body = json.loads(message)["notification"]["body"]
    assert body == "Your therapy session is tomorrow. A moment to catch up on Mood check?"


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
    assert (
        json.loads(message)["notification"]["body"]
        == "Tu próxima sesión es mañana. ¿Un momento para ponerte al día con tus registros?"
    )


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
    assert text.startswith("Your next session is tomorrow.") and "http://testserver/c" in text
    for word in CLINICAL:
        assert word not in text


def test_no_device_and_no_email_is_recorded_missed(session: Session, dispatcher: Dispatcher) -> None:
    world = _world(session, done_days_ago=SOME_DAYS)

    stats = _pass(dispatcher, world.nudge_at + timedelta(minutes=1))

    assert stats.missed == 1
    assert _nudged_at(session, world) is not None


def test_too_late_in_the_evening_is_not_sent(
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


def test_nudge_time_follows_the_clients_zone_across_dst() -> None:
    # The Sunday clocks go back in Madrid (26 Oct 2025): 18:00 on Saturday is 16:00 UTC,
    # on Sunday 17:00 UTC.
    monday = datetime(2025, 10, 27, 9, 0, tzinfo=UTC)
    sunday = datetime(2025, 10, 26, 9, 0, tzinfo=UTC)
    assert nudge.nudge_time(monday, timezone=ZONE) == datetime(2025, 10, 26, 17, 0, tzinfo=UTC)
    assert nudge.nudge_time(sunday, timezone=ZONE) == datetime(2025, 10, 25, 16, 0, tzinfo=UTC)


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
