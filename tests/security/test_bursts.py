"""Limits hold against a burst: 40 requests at once against a real server, on SQLite and
PostgreSQL, get no more checks than the limit allows, and the server's memory stays bounded.

Each attempt is counted atomically before anything is checked (app/services/ratelimit.py),
and argon2 work runs a few at a time (app/core/security.py). The thread-server tests count the
argon2 checks themselves; the process-server test reads the server's peak memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.core import security
from app.core.settings import Settings
from app.main import create_app
from app.models import Client, DeviceSession, Invite
from app.models.types import utcnow
from app.services import invites
from tests.factories import PASSWORD, make_client, make_therapist
from tests.processes import ProcessServer
from tests.security.servers import Browser, burst, statuses, thread_server

BURST = 40
PIN = "4821"
MiB = 1024 * 1024


@pytest.fixture
def live(settings, engine) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a real HTTP server in this process, on the test's database. Requests wait
    as long as it takes for a password-check slot, so every answer is the limits' own."""
    patient = settings.model_copy(update={"password_check_wait_seconds": 120})
    with thread_server(create_app(patient, engine=engine)) as url:
        yield url


def _signin_burst(url: str, email: str, passwords: list[str]):  # type: ignore[no-untyped-def]
    browser = Browser(url)
    browser.open("/signin")
    try:
        form = [{"email": email, "password": password, "csrf_token": browser.csrf} for password in passwords]
        return burst(url, [("/signin", data, browser.headers()) for data in form])
    finally:
        browser.close()


def test_a_burst_of_wrong_passwords_gets_at_most_the_limit_checked(live, settings, session) -> None:
    make_therapist(session, email="target@example.org")
    make_therapist(session, email="other@example.org")
    limit = settings.signin_max_attempts
    before = security.verification_count()

    answers = _signin_burst(live, "target@example.org", [f"guess number {n}" for n in range(BURST)])

    checked = security.verification_count() - before
    counted = statuses(answers)
    assert set(counted) <= {400, 429}, counted
    assert 1 <= checked <= limit, (checked, counted)
    # Every check answered "do not match"; everything else waited without a check.
    assert counted.get(400, 0) == checked
    assert counted[429] == BURST - checked
    assert all(int(answer.headers["retry-after"]) > 0 for answer in answers if answer.status_code == 429)

    # The address's limit is spent too: another account from it gets no checks at all,
    # not even with its right password.
    before = security.verification_count()
    again = _signin_burst(live, "other@example.org", ["wrong password"] * (BURST - 1) + [PASSWORD])
    assert statuses(again) == {429: BURST}
    assert security.verification_count() == before


def _locked_phone(url: str, session: Session) -> tuple[Browser, Client]:
    """A client's phone signed in through a real invitation, with an app PIN, sat idle."""
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=1)
    session.commit()
    phone = Browser(url)
    phone.open("/join")
    joined = phone.http.post("/join", data={"code": issued.code, "csrf_token": phone.csrf})
    assert joined.status_code == 303, joined.text
    client = session.get(Client, client.id)
    assert client is not None
    client.pin_hash = security.hash_password(PIN)
    session.add(client)
    for device in session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)):
        device.unlocked_at = utcnow() - timedelta(days=2)
        session.add(device)
    session.commit()
    phone.open("/c/unlock")
    return phone, client


def _unlocked_at(session: Session, client: Client):  # type: ignore[no-untyped-def]
    session.expire_all()
    device = session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)).one()
    return device.unlocked_at


def test_a_burst_of_wrong_pins_gets_at_most_the_limit_checked_and_then_even_the_right_one_waits(
    live, settings, session
) -> None:
    phone, client = _locked_phone(live, session)
    limit = settings.pin_max_attempts
    locked_since = _unlocked_at(session, client)
    before = security.verification_count()

    answers = burst(live, [("/c/unlock", {"pin": "1111", "csrf_token": phone.csrf}, phone.headers())] * BURST)

    checked = security.verification_count() - before
    counted = statuses(answers)
    assert set(counted) <= {400, 429}, counted
    assert 1 <= checked <= limit, (checked, counted)
    # Wrong tries are answered "did not match" until the one that uses up the last try.
    assert counted.get(400, 0) <= limit - 1 and counted[429] >= BURST - limit + 1

    # The limit is spent: the right PIN in the middle of another burst does not unlock.
    before = security.verification_count()
    tries = ["1111"] * (BURST // 2) + [PIN] + ["1111"] * (BURST // 2 - 1)
    again = burst(live, [("/c/unlock", {"pin": pin, "csrf_token": phone.csrf}, phone.headers()) for pin in tries])
    assert statuses(again) == {429: BURST}
    assert again[BURST // 2].status_code == 429
    assert security.verification_count() == before
    assert _unlocked_at(session, client) == locked_since
    phone.close()


def test_a_burst_of_invitation_codes_gets_at_most_the_limit_looked_up(live, settings, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=1)
    session.commit()
    limit = settings.invite_max_attempts
    phone = Browser(live)
    phone.open("/join")

    codes = [f"WRNG{n:04d}" for n in range(BURST)]
    answers = burst(live, [("/join", {"code": code, "csrf_token": phone.csrf}, phone.headers()) for code in codes])
    counted = statuses(answers)
    assert set(counted) <= {404, 429}, counted
    assert 1 <= counted.get(404, 0) <= limit
    assert counted[429] == BURST - counted.get(404, 0)

    # The right code inside the next burst waits too, and the invitation stays unused.
    tries = [*codes[: BURST // 2], issued.code, *codes[BURST // 2 + 1 :]]
    again = burst(live, [("/join", {"code": code, "csrf_token": phone.csrf}, phone.headers()) for code in tries])
    assert statuses(again) == {429: BURST}
    session.expire_all()
    assert session.get(Invite, issued.invite.id).used_at is None  # type: ignore[union-attr]
    phone.close()


@contextmanager
def _restored_password_work(settings: Settings) -> Iterator[None]:
    try:
        yield
    finally:
        # The semaphore is process-wide: leave it as the other tests expect it.
        security.configure_password_work(
            slots=settings.password_check_slots, wait_seconds=settings.password_check_wait_seconds
        )


def test_a_password_check_that_finds_no_free_slot_is_answered_503_and_not_counted(settings, engine, session) -> None:
    make_therapist(session, email="busy@example.org")
    quick = settings.model_copy(update={"password_check_slots": 1, "password_check_wait_seconds": 0.2})
    with thread_server(create_app(quick, engine=engine)) as url, _restored_password_work(settings):
        browser = Browser(url)
        browser.open("/signin")
        slot = security.password_slots()
        assert slot.acquire(timeout=10)
        try:
            busy = browser.http.post(
                "/signin", data={"email": "busy@example.org", "password": PASSWORD, "csrf_token": browser.csrf}
            )
        finally:
            slot.release()
        assert busy.status_code == 503
        assert int(busy.headers["retry-after"]) >= 1
        assert "busy" in busy.text
        # Not checked, so not counted: the limit still allows every try.
        for _ in range(settings.signin_max_attempts):
            wrong = browser.http.post(
                "/signin", data={"email": "busy@example.org", "password": "wrong!", "csrf_token": browser.csrf}
            )
            assert wrong.status_code == 400
        browser.close()


def test_bursts_keep_the_server_process_memory_bounded(database_url, engine, session, tmp_path: Path) -> None:
    """40 password checks at once (the sign-in limit raised so each one is checked): argon2
    takes 64 MiB per check, and without a bound the peak passes a gigabyte."""
    make_therapist(session, email="memory@example.org")
    server = ProcessServer(
        database_url=database_url,
        data_dir=tmp_path / "data",
        log=tmp_path / "server.log",
        signin_max_attempts=1000,
        password_check_wait_seconds=120,
    )
    try:
        answers = _signin_burst(server.url, "memory@example.org", [f"guess number {n}" for n in range(BURST)])
        assert statuses(answers) == {400: BURST}, statuses(answers)
        # And a PIN burst with the usual limits on top.
        phone, _client = _locked_phone(server.url, session)
        pins = burst(server.url, [("/c/unlock", {"pin": "1111", "csrf_token": phone.csrf}, phone.headers())] * BURST)
        assert set(statuses(pins)) <= {400, 429}
        phone.close()
        peak = server.peak_rss_bytes()
    finally:
        server.stop()
    assert peak < 400 * MiB, f"peak resident memory {peak / MiB:.0f} MiB"
