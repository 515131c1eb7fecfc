"""The caseload's figures, read in a few queries, are what the full engine and `around` give for each client."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.core import i18n
from app.models import Appointment, Assignment, Client, Entry, Frequency, Visibility
from app.models.types import utcnow
from app.services import appointments, caseload, zone_history
from app.services.adherence.caseload_load import listed
from app.services.adherence.load import assigned, facts
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, entry_at, past_session
from tests.services.adherence import reference


def _entries(session: Session, client: Client, assignment: Assignment, rng: random.Random, *, days: int) -> None:
    """About one or two entries a day for `days` days, some "nothing to report", some private, one deleted."""
    now = utcnow()
    for ago in range(days):
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            # Around local midnights and the boundary too: minutes spread over the whole day.
            at = now - timedelta(days=ago, minutes=rng.randint(0, 24 * 60 - 1), microseconds=rng.randint(0, 999_999))
            entry_at(
                session,
                client,
                assignment,
                at,
                nothing_to_report=rng.random() < 0.1,
                visibility=Visibility.private if rng.random() < 0.1 else Visibility.shared,
            )
    deleted = session.exec(select(Entry).where(Entry.assignment_id == assignment.id).limit(1)).first()
    if deleted is not None:
        deleted.deleted_at = now
        session.add(deleted)
        session.commit()


def _caseload(session: Session):  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    therapist = make_therapist(session)
    steady = make_client(session, therapist=therapist, name="Steady", timezone="Europe/Madrid")
    night_owl = make_client(session, therapist=therapist, name="Night owl", timezone="America/New_York")
    night_owl.day_boundary = time(3, 0)
    session.add(night_owl)
    traveller = make_client(session, therapist=therapist, name="Traveller", timezone="Asia/Kolkata")
    quiet = make_client(session, therapist=therapist, name="Quiet")
    session.commit()

    daily = assign_since(session, steady, days=50)
    twice = assign_since(session, night_owl, days=40, frequency="times_per_day", times_per_day=2)
    weekdays = assign_since(session, traveller, days=35, frequency="weekdays", weekdays=[1, 3, 5])
    weekly = assign_since(session, traveller, days=20, slug="phq9", frequency="weekly")
    ended = assign_since(session, quiet, days=30)
    for client, assignment in ((steady, daily), (night_owl, twice), (traveller, weekdays), (quiet, ended)):
        _entries(session, client, assignment, rng, days=45)
    entry_at(session, traveller, weekly, utcnow() - timedelta(days=3), answers={f"item{n}": "1" for n in range(1, 10)})
    ended.ended_at = utcnow() - timedelta(days=5)
    session.add(ended)
    # The traveller moved ten days ago: their days before are Kolkata's, since then Los Angeles's.
    zone_history.record_change(
        session, client=traveller, timezone="America/Los_Angeles", at=utcnow() - timedelta(days=10)
    )
    traveller.timezone = "America/Los_Angeles"
    session.add(traveller)
    session.commit()

    # Steady had a session three days ago; the night owl's last one was two months ago (a longer window).
    past_session(session, therapist, steady, days_ago=3)
    past_session(session, therapist, night_owl, days_ago=60)
    return therapist


def test_caseload_figures_equal_the_full_engine(session) -> None:  # type: ignore[no-untyped-def]
    therapist = _caseload(session)
    now = utcnow()
    rows = caseload.build(session, therapist=therapist, now=now)
    clients = [row.client for row in rows]
    ids = [client.id for client in clients]
    zones = zone_history.histories(session, clients=clients)
    every_entry = facts(session, client_ids=ids, with_logged=False)
    around = appointments.around(session, client_ids=ids, now=now, lookback=caseload.LONGEST_WINDOW)
    checked = 0
    for row in rows:
        client = row.client
        since = around[client.id].since
        # The window: four weeks, or back to the last session, but no further than LONGEST_WINDOW.
        start = now - caseload.WINDOW if since is None else min(now - caseload.WINDOW, since)
        window_start = max(start, now - caseload.LONGEST_WINDOW)
        assert (row.last_session.id if row.last_session else None) == (
            around[client.id].last.id if around[client.id].last else None
        )
        assert (row.next_session.id if row.next_session else None) == (
            around[client.id].next.id if around[client.id].next else None
        )
        latest = session.exec(
            select(Entry.occurred_at)
            .where(Entry.client_id == client.id, col(Entry.deleted_at).is_(None))
            .order_by(col(Entry.occurred_at).desc())
            .limit(1)
        ).first()
        assert row.last_entry_at == latest
        done = expected = 0
        for record in row.records:
            # As the caseload reads them: the entries from the window's start on.
            window = [
                fact for fact in every_entry.get(record.item.assignment.id, []) if fact.occurred_at >= window_start
            ]
            full = reference.compute(
                entries=window,
                schedule=record.item.schedule,
                zones=zones[client.id],
                boundary=client.day_boundary,
                start=record.item.assignment.created_at,
                end=record.item.assignment.ended_at,
                now=now,
                since=since,
                window_start=window_start,
                with_delays=False,
                with_days=False,
            )
            assert record.adherence == full, (client.display_name, record.item.title)
            rate = full.since if full.since is not None else full.last_28
            done, expected = done + rate.done, expected + rate.expected
            checked += 1
        assert (row.completion.done, row.completion.expected) == (done, expected)
    assert checked == 4  # the ended assignment is not listed
    # The traveller's questionnaire answered item 9 above 0.
    assert {row.client.display_name: row.risk for row in rows} == {
        "Steady": False,
        "Night owl": False,
        "Traveller": True,
        "Quiet": False,
    }


def test_listed_names_and_schedules_as_assigned_does(session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assign_since(session, client, days=3)
    assign_since(session, client, days=2, slug="phq9", frequency="weekly")
    assign_since(session, client, days=1, slug="mood_log", frequency="weekdays", weekdays=[2, 4])
    for locale in ("en", "es"):
        with i18n.using_locale(locale):
            full = assigned(session, client_ids=[client.id])[client.id]
            light = listed(session, client_ids=[client.id])[client.id]
            assert [item.title for item in light] == [item.title for item in full]
        assert [item.schedule for item in light] == [item.schedule for item in full]
        assert [item.scoring for item in light] == [item.scoring for item in full]
        for one, other in zip(light, full, strict=True):
            assert one.assignment.id == other.assignment.id
            assert one.assignment.frequency == Frequency(other.assignment.frequency)
            assert list(one.assignment.weekdays) == list(other.assignment.weekdays)
            assert one.assignment.created_at == other.assignment.created_at


def _session_at(
    session: Session, client: Client, starts_at: datetime, *, minutes: int = 50, cancelled: bool = False
) -> None:
    session.add(
        Appointment(
            client_id=client.id,
            therapist_id=client.therapist_id,
            starts_at=starts_at,
            timezone=client.timezone,
            duration_minutes=minutes,
            cancelled_at=starts_at - timedelta(days=1) if cancelled else None,
        )
    )


def test_slots_around_finds_what_around_finds(session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    base = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    weekly = make_client(session, therapist=therapist, name="Weekly")
    for week in range(-30, 8):
        _session_at(session, weekly, base + timedelta(weeks=week, minutes=7))
    _session_at(session, weekly, base + timedelta(days=2), cancelled=True)
    busy = make_client(session, therapist=therapist, name="Busy")
    # Sessions hours apart around `base`: one just over, one under way, a long one, cancelled ones.
    for hours, minutes, cancelled in (
        (-7.5, 480, False),
        (-3, 60, False),
        (-0.5, 50, False),
        (1, 90, True),
        (4, 50, False),
    ):
        _session_at(session, busy, base + timedelta(hours=hours), minutes=minutes, cancelled=cancelled)
    long_ago = make_client(session, therapist=therapist, name="Long ago")
    _session_at(session, long_ago, base - timedelta(days=200))
    never = make_client(session, therapist=therapist, name="Never")
    session.commit()

    ids = [weekly.id, busy.id, long_ago.id, never.id]
    moments = [base + timedelta(minutes=step) for step in range(-600, 600, 17)]
    moments += [
        base + timedelta(weeks=week, minutes=7 + offset) for week in (-1, 0, 3) for offset in (-1, 0, 1, 49, 50, 51)
    ]
    for now in moments:
        for lookback in (None, timedelta(days=120), timedelta(hours=2)):
            expected = appointments.around(session, client_ids=ids, now=now, lookback=lookback)
            found = appointments.slots_around(session, client_ids=ids, now=now, lookback=lookback)
            for client_id in ids:
                want, got = expected[client_id], found[client_id]
                assert (got.last.id if got.last else None) == (want.last.id if want.last else None), (now, lookback)
                assert (got.next.id if got.next else None) == (want.next.id if want.next else None), (now, lookback)
                assert got.since == want.since
