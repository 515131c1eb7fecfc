"""The therapist's email before each session, against a real SMTP peer (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch import digest
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.models import Appointment, AuditEvent, Client, Therapist, Visibility
from app.models.types import utcnow
from app.services import access_log, appointments, therapist_settings
from tests import aio
from tests.dispatch.smtp_peer import Inbox, parts, run_inbox
from tests.factories import make_assignment, make_client, make_entry, make_therapist
from tests.peers import free_port

SECRET = "zebra-private-words"
SHARED = "otter-shared-words"
AGENDA = "heron-agenda-words"
ZONE = "Europe/Madrid"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from run_inbox()


@pytest.fixture
def mailing(engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys, inbox: Inbox) -> Dispatcher:
    return Dispatcher(engine=engine, settings=inbox.settings(dispatch_settings), keys=vapid_keys)


@dataclass
class World:
    therapist: Therapist
    client: Client
    upcoming: Appointment
    previous: Appointment


def _world(session: Session, *, locale: str | None = None, enabled: bool = True, hours: int = 24) -> World:
    now = utcnow().replace(second=0, microsecond=0)
    therapist = make_therapist(session, name="Dr. Rivera")
    therapist.locale = locale
    therapist_settings.update_digest(session, therapist=therapist, enabled=enabled, hours_before=hours)
    session.commit()
    client = make_client(session, therapist=therapist, name="Alex", timezone=ZONE)
    assignment = make_assignment(session, client=client)
    assignment.created_at = now - timedelta(days=10)
    session.add(assignment)
    session.commit()
    [previous] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=now - timedelta(days=7),
        timezone=ZONE,
        now=now - timedelta(days=8),
    )
    [upcoming] = appointments.schedule(
        session, therapist=therapist, client_id=client.id, starts_at=now + timedelta(days=2), timezone=ZONE, now=now
    )
    session.commit()
    make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 7, "note": SHARED},
        occurred_at=now - timedelta(days=3),
    )
    make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 1, "note": SECRET},
        visibility=Visibility.private,
        occurred_at=now - timedelta(days=2),
    )
    make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 4, "note": AGENDA},
        visibility=Visibility.discuss,
        occurred_at=now - timedelta(days=1),
    )
    return World(therapist, client, upcoming, previous)


def _pass(dispatcher: Dispatcher, now: datetime) -> digest.DigestStats:
    async def go() -> digest.DigestStats:
        try:
            return await digest.run(dispatcher, now=now)
        finally:
            await dispatcher.aclose()

    return aio.run(go())


def _due(world: World, hours: int = 24) -> datetime:
    return world.upcoming.starts_at - timedelta(hours=hours)


def test_digest_goes_out_once_at_the_chosen_hour(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session, hours=24)

    assert _pass(mailing, _due(world) - timedelta(minutes=1)).sent == 0
    assert inbox.messages == []

    assert _pass(mailing, _due(world) + timedelta(minutes=1)).sent == 1
    assert _pass(mailing, _due(world) + timedelta(minutes=10)).sent == 0
    assert _pass(mailing, _due(world) + timedelta(hours=20)).sent == 0

    [mail] = inbox.messages
    assert mail["To"] == world.therapist.email
    assert mail["Subject"].startswith("Brief before your session on")
    text, html = parts(mail)
    link = f"/t/clients/{world.client.id}/brief?session={world.upcoming.id}"
    assert link in text and link.replace("&", "&amp;") in html
    assert "Hello Dr. Rivera," in text
    assert "Your session with Alex is on" in text and ZONE in text
    assert "Mood check:" in text and "Current streak" in text and "Best streak" in text
    assert "1 entry marked to discuss in session." in text
    assert "flagged" not in text
    assert "<table" in html and "Mood check" in html
    session.expire_all()
    sent = session.get(Appointment, world.upcoming.id)
    assert sent is not None and sent.digest_sent_at is not None


def test_digest_holds_no_entry_content(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session)

    _pass(mailing, _due(world) + timedelta(minutes=1))

    [mail] = inbox.messages
    text, html = parts(mail)
    for words in (SECRET, SHARED, AGENDA):
        assert words not in text and words not in html and words not in mail["Subject"]
    # The client's name stays out of the subject (previews, lock screens).
    assert "Alex" not in mail["Subject"]


def test_client_sees_in_their_access_log_that_the_summary_was_emailed(
    session: Session, mailing: Dispatcher, inbox: Inbox
) -> None:
    world = _world(session)

    _pass(mailing, _due(world) + timedelta(minutes=1))

    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == digest.AUDIT_ACTION)).all()
    assert event.client_id == world.client.id and event.subject_id == world.upcoming.id
    [entry] = access_log.access_log(session, client_id=world.client.id)
    assert entry.who == "Dr. Rivera" and "emailed" in entry.what


def test_spanish_therapist_gets_it_in_spanish(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session, locale="es", hours=48)

    assert _pass(mailing, _due(world, 48) + timedelta(minutes=1)).sent == 1

    [mail] = inbox.messages
    text, html = parts(mail)
    assert mail["Subject"].startswith("Resumen antes de tu sesión del")
    assert "Hola Dr. Rivera:" in text
    assert "Tu sesión con Alex es el" in text
    assert "1 entrada marcada para comentar en sesión." in text
    assert "Racha actual" in text
    assert "Hello" not in text and "Current streak" not in text
    assert 'lang="es"' in html and "El resumen completo" in html


def test_no_digest_when_opted_out_or_cancelled(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    quiet = _world(session, enabled=False)
    busy = _world(session)
    appointments.cancel(session, therapist=busy.therapist, appointment_id=busy.upcoming.id, now=utcnow())
    session.commit()

    assert _pass(mailing, _due(quiet) + timedelta(minutes=1)).sent == 0
    assert _pass(mailing, _due(busy) + timedelta(minutes=1)).sent == 0
    assert inbox.messages == []


def test_not_after_the_session_has_started(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session)

    assert _pass(mailing, world.upcoming.starts_at + timedelta(minutes=1)).sent == 0
    assert inbox.messages == []


def test_smtp_down_is_retried_by_a_later_pass(
    session: Session, engine: Engine, dispatch_settings: Settings, vapid_keys: VapidKeys, inbox: Inbox
) -> None:
    world = _world(session)
    nowhere = dispatch_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none", "smtp_timeout_seconds": 2}
    )
    down = Dispatcher(engine=engine, settings=nowhere, keys=vapid_keys)

    stats = _pass(down, _due(world) + timedelta(minutes=1))

    assert stats.failed == 1 and stats.sent == 0
    session.expire_all()
    appointment = session.get(Appointment, world.upcoming.id)
    assert appointment is not None and appointment.digest_sent_at is None
    back = Dispatcher(engine=engine, settings=inbox.settings(dispatch_settings), keys=vapid_keys)
    assert _pass(back, _due(world) + timedelta(minutes=2)).sent == 1
    assert len(inbox.messages) == 1


def test_the_passes_before_sessions_include_the_digest(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session)

    async def go() -> None:
        try:
            await mailing.before_sessions(now=_due(world) + timedelta(minutes=1))
        finally:
            await mailing.aclose()

    aio.run(go())

    assert len(inbox.messages) == 1


def test_two_dispatchers_never_claim_the_same_session(session: Session, engine: Engine) -> None:
    world = _world(session)
    now = _due(world) + timedelta(minutes=1)
    with Session(engine) as first, Session(engine) as second:
        mine = digest.claim(first, now=now)
        if engine.dialect.name == "postgresql":
            # While the first holds its claim uncommitted, the second skips the locked row.
            assert digest.claim(second, now=now) == []
            second.rollback()
        first.commit()
        assert digest.claim(second, now=now) == []
    assert [item.appointment_id for item in mine] == [world.upcoming.id]


def test_a_moved_session_gets_a_fresh_digest(session: Session, mailing: Dispatcher, inbox: Inbox) -> None:
    world = _world(session)
    _pass(mailing, _due(world) + timedelta(minutes=1))

    later = world.upcoming.starts_at + timedelta(days=1)
    session.expire_all()  # as a request would, see the dispatcher's mark
    appointments.move(
        session, therapist=world.therapist, appointment_id=world.upcoming.id, starts_at=later, now=utcnow()
    )
    session.commit()

    assert _pass(mailing, later - timedelta(hours=24) + timedelta(minutes=1)).sent == 1
    assert len(inbox.messages) == 2
