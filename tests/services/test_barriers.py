"""Barrier check-ins: only missed days, idempotent writes, and a brief that never reads a private one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import Session, func, select

from app.core.errors import Conflict, Invalid, NotFound
from app.models import BarrierCheckin, BarrierCreate, Frequency, Visibility
from app.models.barrier import Reason
from app.models.types import utcnow
from app.services import barriers
from app.services.device_trust import EVERYTHING, PrivateAccess
from tests.factories import make_assignment, make_client, make_entry, make_therapist


def _setup(session: Session, *, days: int = 6, **options):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client, **options)
    assignment.created_at = utcnow() - timedelta(days=days)
    session.add(assignment)
    session.commit()
    return therapist, client, assignment


def _data(assignment, days_ago: int, **fields):  # type: ignore[no-untyped-def]
    today = utcnow().date()
    base = {"id": uuid.uuid4(), "assignment_id": assignment.id, "day": today - timedelta(days=days_ago)}
    return BarrierCreate(**{**base, "reason": Reason.too_upsetting, **fields})


def _count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(BarrierCheckin)).one())


def test_a_missed_day_takes_a_check_in_and_a_replay_is_answered_not_doubled(session) -> None:
    _therapist, client, assignment = _setup(session)
    data = _data(assignment, 1, note="  Too raw this week.  ")
    first = barriers.record(session, client=client, data=data)
    session.commit()
    assert first.created and first.checkin.note == "Too raw this week."
    again = barriers.record(session, client=client, data=data)
    assert not again.created and again.checkin.id == data.id
    with pytest.raises(Conflict):
        barriers.record(session, client=client, data=data.model_copy(update={"reason": Reason.forgot}))
    # Another id for the same record and day: told kindly, not stored twice.
    with pytest.raises(Conflict):
        barriers.record(session, client=client, data=data.model_copy(update={"id": uuid.uuid4()}))
    session.rollback()
    assert _count(session) == 1


def test_todays_open_record_takes_a_check_in_from_the_form(session) -> None:
    _therapist, client, assignment = _setup(session)
    saved = barriers.record(session, client=client, data=_data(assignment, 0, reason=Reason.no_time))
    assert saved.created


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unassigned", NotFound),
        ("other_clients", NotFound),
        ("done_that_day", Invalid),
        ("future", Invalid),
        ("too_long_ago", Invalid),
        ("no_reason", Invalid),
        ("long_note", Invalid),
        ("as_it_happens", Invalid),
        ("done_today", Invalid),
    ],
)
def test_bad_check_ins_are_refused_and_nothing_is_stored(session, case: str, error: type[Exception]) -> None:
    _therapist, client, assignment = _setup(session)
    data = _data(assignment, 1)
    if case == "unassigned":
        data = data.model_copy(update={"assignment_id": uuid.uuid4()})
    elif case == "other_clients":
        _t, _other, theirs = _setup(session)
        data = data.model_copy(update={"assignment_id": theirs.id})
    elif case == "done_that_day":
        make_entry(session, client=client, assignment=assignment, occurred_at=utcnow() - timedelta(days=2))
        data = _data(assignment, 2)
    elif case == "future":
        data = _data(assignment, -1)
    elif case == "too_long_ago":
        assignment.created_at = utcnow() - timedelta(days=60)
        session.add(assignment)
        session.commit()
        data = _data(assignment, 40)
    elif case == "no_reason":
        data = data.model_copy(update={"reason": None})
    elif case == "long_note":
        data = data.model_copy(update={"note": "x" * 2001})
    elif case == "as_it_happens":
        _t, client, assignment = _setup(session, frequency=Frequency.as_it_happens)
        data = _data(assignment, 1)
    elif case == "done_today":
        make_entry(session, client=client, assignment=assignment)
        data = _data(assignment, 0)
    with pytest.raises(error) as raised:
        barriers.record(session, client=client, data=data)
    assert raised.value.message  # type: ignore[attr-defined]
    session.rollback()
    assert _count(session) == 0


def test_the_brief_groups_shared_reasons_and_never_reads_a_private_one(session) -> None:
    therapist, client, assignment = _setup(session, days=10)
    for days_ago, reason, visibility, note in (
        (1, Reason.too_upsetting, Visibility.shared, ""),
        (2, Reason.too_upsetting, Visibility.discuss, "Writing it makes it real."),
        (3, Reason.too_upsetting, Visibility.shared, ""),
        (4, Reason.not_sure_how, Visibility.shared, ""),
        (5, Reason.no_point, Visibility.private, "secret words"),
        (6, Reason.too_upsetting, Visibility.private, ""),
    ):
        barriers.record(
            session, client=client, data=_data(assignment, days_ago, reason=reason, visibility=visibility, note=note)
        )
    barriers.record(session, client=client, data=_data(assignment, 7, reason=None, did_it_unrecorded=True))
    session.commit()
    now = utcnow()
    summary = barriers.for_brief(
        session, therapist=therapist, client=client, since=now - timedelta(days=9), until=now, titles={}
    )
    assert [(item.reason, item.count) for item in summary.me] == [(Reason.too_upsetting, 3)]
    assert [(item.reason, item.count) for item in summary.task] == [(Reason.not_sure_how, 1)]
    assert summary.did_it == 1 and summary.total == 5
    assert [item.note for item in summary.notes] == ["Writing it makes it real."]
    assert summary.me[0].question == "What would make it safer to write about?"
    # Since the last session only: one two days ago, at noon (any hour of the day it ran counts
    # that whole day, whatever the clock says when this test runs).
    last_session = datetime.combine(now.date() - timedelta(days=2), time(12), UTC)
    recent = barriers.for_brief(session, therapist=therapist, client=client, since=last_session, until=now, titles={})
    assert [(item.reason, item.count) for item in recent.me] == [(Reason.too_upsetting, 2)]
    # Another therapist is not this client's.
    with pytest.raises(NotFound):
        barriers.for_brief(
            session,
            therapist=make_therapist(session),
            client=client,
            since=now - timedelta(days=9),
            until=now,
            titles={},
        )


def test_an_unconfirmed_device_sees_no_private_check_in_but_its_own(session) -> None:
    _therapist, client, assignment = _setup(session)
    mine, other = uuid.uuid4(), uuid.uuid4()
    barriers.record(session, client=client, data=_data(assignment, 1, visibility=Visibility.private), device_id=other)
    barriers.record(session, client=client, data=_data(assignment, 2, visibility=Visibility.private), device_id=mine)
    barriers.record(session, client=client, data=_data(assignment, 3), device_id=other)
    session.commit()
    unconfirmed = PrivateAccess(device_id=mine, everything=False)
    seen = barriers.list_for_client(session, client=client, access=unconfirmed)
    assert sorted((utcnow().date() - row.day).days for row in seen) == [2, 3]
    assert len(barriers.list_for_client(session, client=client, access=EVERYTHING)) == 3


def test_today_asks_once_about_the_latest_missed_record(session) -> None:
    _therapist, client, assignment = _setup(session)
    found = barriers.prompt(session, client=client)
    assert found is not None and found.assignment_id == assignment.id
    assert (found.today - found.day).days == 1
    # "Not now" today: quiet until tomorrow.
    assert barriers.prompt(session, client=client, quiet_day=found.today.isoformat()) is None
    # Answered today: no other question today, though older days were missed too.
    barriers.record(session, client=client, data=_data(assignment, 1))
    session.commit()
    assert barriers.prompt(session, client=client) is None
    # Kept as it happens: never asked.
    _t, other, _a = _setup(session, frequency=Frequency.as_it_happens)
    assert barriers.prompt(session, client=other) is None


def test_the_patchy_demo_client_has_a_pattern_to_ask_about(session) -> None:
    from app.models import Client, Therapist
    from app.services import brief, demo

    demo.seed(session, base_url="http://demo.test/")
    session.commit()
    sam = session.exec(select(Client).where(Client.display_name == "Sam")).one()
    therapist = session.get(Therapist, sam.therapist_id)
    assert therapist is not None
    data = brief.build(session, therapist=therapist, client_id=sam.id)
    summary = barriers.for_brief(
        session, therapist=therapist, client=sam, since=data.since, until=data.as_of, titles=data.titles
    )
    assert [(item.reason, item.count) for item in summary.me] == [(Reason.too_upsetting, 3)]
    assert summary.task == [] and summary.did_it == 1
    assert [item.note for item in summary.notes] == ["Writing the urges down makes them louder."]
    # Sam's private check-in is Sam's alone.
    everything = barriers.list_for_client(session, client=sam, access=EVERYTHING)
    assert len(everything) == 6 and sum(row.visibility == Visibility.private for row in everything) == 1
