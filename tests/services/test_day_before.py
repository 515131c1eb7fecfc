"""The day before a session: when the client is asked (their zone, DST, quiet hours), and
what they bring (picks marked to discuss, a note shared or kept private, a due questionnaire)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from app.core.errors import Gone, Invalid
from app.models import AgendaUpdate, Entry, SessionAgenda, Visibility
from app.models.session_agenda import NOTE_MAX
from app.models.types import utcnow
from app.services import appointments, brief, day_before, reminders
from tests.factories import library_template, make_assignment, make_client, make_entry, make_therapist

MADRID = "Europe/Madrid"


def _madrid(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(MADRID)).astimezone(UTC)


# -- when -----------------------------------------------------------------------------------


def test_the_same_local_time_the_day_before() -> None:
    # Tuesday 10:00 in Madrid (summer, UTC+2): Monday 10:00 there, 08:00 UTC.
    assert day_before.send_at(_madrid(2026, 6, 9, 10), timezone=MADRID) == datetime(2026, 6, 8, 8, 0, tzinfo=UTC)
    # The same session for a client in New York is asked about at their 04:00 the day before.
    starts = _madrid(2026, 6, 9, 10)
    assert day_before.send_at(starts, timezone="America/New_York") == datetime(2026, 6, 8, 8, 0, tzinfo=UTC)


def test_across_the_autumn_change_the_day_before_is_25_hours() -> None:
    # Clocks go back in Madrid on Sunday 26 Oct 2025 at 03:00: a session on Sunday at 10:00
    # (09:00 UTC) is asked about on Saturday at 10:00 local, which is 08:00 UTC.
    starts = _madrid(2025, 10, 26, 10)
    at = day_before.send_at(starts, timezone=MADRID)
    assert at == datetime(2025, 10, 25, 8, 0, tzinfo=UTC)
    assert starts - at == timedelta(hours=25)


def test_across_the_spring_change_the_day_before_is_23_hours() -> None:
    # Clocks go forward on Sunday 29 Mar 2026 at 02:00.
    starts = _madrid(2026, 3, 29, 10)
    at = day_before.send_at(starts, timezone=MADRID)
    assert at == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    assert starts - at == timedelta(hours=23)
    # 02:30 did not exist that Sunday: a Monday 02:30 session is asked about at 03:00.
    assert day_before.send_at(_madrid(2026, 3, 30, 2, 30), timezone=MADRID) == _madrid(2026, 3, 29, 3)


def test_quiet_hours_move_it_to_their_end_still_before_the_session() -> None:
    night = [(time(22, 0), time(8, 0))]
    # 07:00 the day before is quiet: at 08:00.
    assert day_before.send_at(_madrid(2026, 6, 9, 7), timezone=MADRID, quiet=night) == _madrid(2026, 6, 8, 8)
    # 23:00 the day before is quiet: at 08:00 on the session's own day, before 23:00.
    assert day_before.send_at(_madrid(2026, 6, 9, 23), timezone=MADRID, quiet=night) == _madrid(2026, 6, 9, 8)
    # Outside quiet hours nothing moves.
    assert day_before.send_at(_madrid(2026, 6, 9, 12), timezone=MADRID, quiet=night) == _madrid(2026, 6, 8, 12)


def test_quiet_windows_that_touch_or_overlap_are_all_kept() -> None:
    touching = [(time(22, 0), time(7, 0)), (time(7, 0), time(8, 30))]
    assert day_before.send_at(_madrid(2026, 6, 9, 23), timezone=MADRID, quiet=touching) == _madrid(2026, 6, 9, 8, 30)
    overlapping = [(time(22, 0), time(7, 0)), (time(6, 0), time(9, 0))]
    assert day_before.send_at(_madrid(2026, 6, 9, 6, 30), timezone=MADRID, quiet=overlapping) == _madrid(2026, 6, 8, 9)


def test_quiet_until_the_session_starts_means_not_at_all() -> None:
    # Quiet 20:00-11:00, session at 10:30: the day before at 10:30 is quiet until 11:00,
    # which is fine; but a whole day kept quiet leaves no moment before the session.
    assert day_before.send_at(
        _madrid(2026, 6, 9, 10, 30), timezone=MADRID, quiet=[(time(20, 0), time(11, 0))]
    ) == _madrid(2026, 6, 8, 11)
    always = [(time(8, 0), time(20, 0)), (time(20, 0), time(8, 0))]
    assert day_before.send_at(_madrid(2026, 6, 9, 10), timezone=MADRID, quiet=always) is None


def test_the_clients_quiet_hours_come_from_the_reminders_they_keep(session: Session) -> None:
    client = make_client(session, timezone=MADRID)
    evening = make_assignment(session, client=client)
    morning = make_assignment(session, client=client)
    stopped = make_assignment(session, client=client)
    quiet = [(evening, "22:00", "07:00"), (morning, "06:00", "08:00"), (stopped, "12:00", "14:00")]
    for assignment, start, end in quiet:
        reminders.save(
            session,
            client=client,
            assignment_id=assignment.id,
            data=reminders.ReminderInput(times=["09:00"], quiet_start=start, quiet_end=end),
        )
    stopped.ended_at = utcnow()
    session.add(stopped)
    session.commit()
    other = make_client(session)

    found = day_before.quiet_hours(session, client_ids=[client.id, other.id])

    assert sorted(found[client.id]) == [(time(6, 0), time(8, 0)), (time(22, 0), time(7, 0))]
    assert other.id not in found


# -- what -----------------------------------------------------------------------------------


def _world(session: Session):  # type: ignore[no-untyped-def]
    """A client with a session five days ago and one tomorrow, and entries in between."""
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Sam")
    assignment = make_assignment(session, client=client)
    now = utcnow()
    assignment.created_at = now - timedelta(days=12)
    session.add(assignment)
    appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=now - timedelta(days=5),
        timezone="UTC",
        now=now - timedelta(days=6),
    )
    [upcoming] = appointments.schedule(
        session, therapist=therapist, client_id=client.id, starts_at=now + timedelta(days=1), timezone="UTC", now=now
    )
    session.commit()
    hard = make_entry(session, client=client, assignment=assignment, occurred_at=now - timedelta(days=3))
    calm = make_entry(session, client=client, assignment=assignment, occurred_at=now - timedelta(days=2))
    secret = make_entry(
        session,
        client=client,
        assignment=assignment,
        occurred_at=now - timedelta(days=1),
        visibility=Visibility.private,
    )
    old = make_entry(session, client=client, assignment=assignment, occurred_at=now - timedelta(days=9))
    return therapist, client, upcoming, (hard, calm, secret, old)


def test_the_page_offers_shared_entries_since_the_last_session_never_private_ones(session: Session) -> None:
    _therapist, client, upcoming, (hard, calm, _secret, _old) = _world(session)

    page = day_before.page(session, client=client)

    assert page.appointment is not None and page.appointment.id == upcoming.id
    assert [view.entry.id for view in page.entries] == [calm.id, hard.id]
    assert page.picked == set() and page.note == ""


def test_picks_are_marked_to_discuss_and_come_first_in_the_brief(session: Session) -> None:
    therapist, client, upcoming, (hard, calm, _secret, _old) = _world(session)
    # Already marked when written: on the agenda, after what the client picks the day before.
    day_before.save(session, client=client, data=AgendaUpdate(picks=[hard.id]))
    session.commit()
    data = AgendaUpdate(appointment_id=upcoming.id, picks=[calm.id, hard.id], note="  Start with Tuesday.  ")
    day_before.save(session, client=client, data=data)
    session.commit()

    session.expire_all()
    assert {session.get(Entry, hard.id).visibility, session.get(Entry, calm.id).visibility} == {Visibility.discuss}  # type: ignore[union-attr]
    seen = brief.build(session, therapist=therapist, client_id=client.id)
    assert [row.id for row in seen.agenda] == [hard.id, calm.id]
    assert seen.client_agenda.note == "Start with Tuesday."


def test_unpicking_takes_an_entry_off_the_agenda(session: Session) -> None:
    therapist, client, _upcoming, (hard, calm, _secret, _old) = _world(session)
    day_before.save(session, client=client, data=AgendaUpdate(picks=[hard.id, calm.id]))
    session.commit()

    day_before.save(session, client=client, data=AgendaUpdate(picks=[calm.id]))
    session.commit()

    session.expire_all()
    assert session.get(Entry, hard.id).visibility == Visibility.shared  # type: ignore[union-attr]
    assert [row.id for row in brief.build(session, therapist=therapist, client_id=client.id).agenda] == [calm.id]


def test_only_entries_the_client_saw_are_unpicked(session: Session) -> None:
    _therapist, client, _upcoming, (hard, calm, _secret, _old) = _world(session)
    day_before.save(session, client=client, data=AgendaUpdate(picks=[hard.id, calm.id]))
    session.commit()

    # A page showing only `calm` (say, written before `hard` arrived from another phone).
    day_before.save(session, client=client, data=AgendaUpdate(picks=[]), considered=[calm.id])
    session.commit()

    session.expire_all()
    assert session.get(Entry, hard.id).visibility == Visibility.discuss  # type: ignore[union-attr]
    assert session.get(Entry, calm.id).visibility == Visibility.shared  # type: ignore[union-attr]


def test_a_private_note_never_reaches_the_brief(session: Session) -> None:
    therapist, client, _upcoming, _entries = _world(session)
    day_before.save(session, client=client, data=AgendaUpdate(note="Only for me.", note_private=True))
    session.commit()

    assert day_before.page(session, client=client).note == "Only for me."
    seen = brief.build(session, therapist=therapist, client_id=client.id)
    assert seen.client_agenda.note == ""


@pytest.mark.parametrize("which", ["private", "old", "someone else's", "made up"])
def test_bad_picks_are_refused_and_nothing_changes(session: Session, which: str) -> None:
    _therapist, client, _upcoming, (hard, _calm, secret, old) = _world(session)
    stranger = make_client(session)
    theirs = make_entry(session, client=stranger, assignment=make_assignment(session, client=stranger))
    pick = {"private": secret.id, "old": old.id, "someone else's": theirs.id, "made up": uuid.uuid4()}[which]

    with pytest.raises(Invalid) as raised:
        day_before.save(session, client=client, data=AgendaUpdate(picks=[hard.id, pick], note="Hello"))
    session.rollback()

    assert "picks" in raised.value.errors
    session.expire_all()
    assert session.get(Entry, hard.id).visibility == Visibility.shared  # type: ignore[union-attr]
    assert session.get(Entry, secret.id).visibility == Visibility.private  # type: ignore[union-attr]
    assert session.exec(select(SessionAgenda)).all() == []


def test_a_note_too_long_is_refused_kindly(session: Session) -> None:
    _therapist, client, _upcoming, _entries = _world(session)
    with pytest.raises(Invalid) as raised:
        day_before.save(session, client=client, data=AgendaUpdate(note="x" * (NOTE_MAX + 1)))
    assert "note" in raised.value.errors
    day_before.save(session, client=client, data=AgendaUpdate(note="x" * NOTE_MAX))


def test_a_session_moved_meanwhile_is_gone(session: Session) -> None:
    _therapist, client, _upcoming, _entries = _world(session)
    with pytest.raises(Gone):
        day_before.save(session, client=client, data=AgendaUpdate(appointment_id=uuid.uuid4(), note="Hi"))


def test_without_a_session_ahead_there_is_nothing_to_save(session: Session) -> None:
    client = make_client(session)
    assert day_before.page(session, client=client).appointment is None
    with pytest.raises(Gone):
        day_before.save(session, client=client, data=AgendaUpdate(note="Hi"))


def test_a_weekly_questionnaire_not_answered_this_week_is_due(session: Session) -> None:
    _therapist, client, _upcoming, _entries = _world(session)
    phq9 = make_assignment(session, client=client, template=library_template(session, "phq9"))
    gad7 = make_assignment(session, client=client, template=library_template(session, "gad7"))
    answers = {f"item{n}": "0" for n in range(1, 8)}
    make_entry(session, client=client, assignment=gad7, answers=answers, occurred_at=utcnow() - timedelta(days=3))

    due = day_before.questionnaires_due(session, client=client, now=utcnow())

    assert [item.assignment_id for item in due] == [phq9.id]
    assert due[0].title == "PHQ-9 mood questionnaire"


def test_soon_only_within_two_days(session: Session) -> None:
    _therapist, client, upcoming, _entries = _world(session)
    assert day_before.soon(session, client=client) == upcoming
    assert day_before.soon(session, client=client, now=upcoming.starts_at - timedelta(days=3)) is None
