"""Quality, not only quantity: the rule for "in the moment", what makes an entry complete, and
both figures in the brief and the caseload against a hand count (quality_fixture.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app import library
from app.models import Entry, EntryUpdate
from app.models.assignment import Frequency
from app.services import brief, caseload, entries
from app.services.adherence.figures import compute
from app.services.adherence.rules import EntryFact, Quality, Rate, Schedule, in_the_moment
from app.services.device_trust import PrivateAccess
from tests.services.adherence.quality_fixture import COMPLETE, IN_THE_MOMENT, thought_records

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _fact(logged_after: timedelta, *, prompted_before: timedelta | None = None, **extra) -> EntryFact:  # type: ignore[no-untyped-def]
    logged = NOON + logged_after
    prompted = None if prompted_before is None else logged - prompted_before
    return EntryFact(occurred_at=NOON, logged_at=logged, prompted_at=prompted, **extra)


def test_in_the_moment_is_within_the_hour_of_the_event_or_of_its_reminder() -> None:
    assert in_the_moment(_fact(timedelta(minutes=0)))
    assert in_the_moment(_fact(timedelta(hours=1)))  # the hour itself counts
    assert not in_the_moment(_fact(timedelta(hours=1, seconds=1)))
    assert in_the_moment(_fact(timedelta(hours=5), prompted_before=timedelta(minutes=40)))
    assert in_the_moment(_fact(timedelta(hours=5), prompted_before=timedelta(hours=1)))
    assert not in_the_moment(_fact(timedelta(hours=5), prompted_before=timedelta(hours=2)))
    # A reminder after the entry was logged did not prompt it.
    assert not in_the_moment(_fact(timedelta(hours=5), prompted_before=-timedelta(minutes=5)))


def test_complete_needs_every_part_that_carries_the_work() -> None:
    thought = {"balanced_thought": "Fair", "emotions_after": {"sad": 20}}
    assert library.complete("thought_record", thought) is True
    assert library.complete("thought_record", thought | {"balanced_thought": "  "}) is False
    assert library.complete("thought_record", {"balanced_thought": "Fair"}) is False
    assert library.complete("abc_record", {"consequence_emotions": {"sad": 40}}) is False
    assert library.complete("abc_record", {"consequence_emotions": {"sad": 40}, "consequence_behaviour": "Left"})
    assert library.complete("exposure_log", {"suds_after": 0}) is True  # zero is an answer
    assert library.complete("mood_log", {"mood": 5}) is None  # no parts named: not counted
    assert library.complete(None, {"anything": 1}) is None  # a therapist's own form
    assert library.complete("thought_record", {}, nothing_to_report=True) is None


def test_the_engine_counts_written_entries_since_the_last_session() -> None:
    facts = [
        _fact(timedelta(minutes=5), complete=True),
        _fact(timedelta(hours=3), complete=False),
        _fact(timedelta(hours=3), prompted_before=timedelta(minutes=10), complete=None),
        EntryFact(occurred_at=NOON, logged_at=NOON + timedelta(days=2), nothing_to_report=True),
        # Before the last session: not counted.
        EntryFact(occurred_at=NOON - timedelta(days=5), logged_at=NOON - timedelta(days=5), complete=True),
    ]
    result = compute(
        entries=facts,
        schedule=Schedule(frequency=Frequency.as_it_happens),
        zones="Europe/Madrid",
        start=NOON - timedelta(days=20),
        now=NOON + timedelta(days=1),
        since=NOON - timedelta(days=2),
    )
    assert result.in_the_moment == Rate(done=2, expected=3)
    assert result.complete == Rate(done=1, expected=2)
    assert Quality.of(facts).written == sorted(
        fact.occurred_at.timestamp() for fact in facts if not fact.nothing_to_report
    )


def test_entries_are_marked_complete_when_saved_and_when_edited(session) -> None:
    _therapist, client, record = thought_records(session)
    marks = sorted(
        (row.complete for row in session.exec(select(Entry).where(Entry.assignment_id == record.id))),
        key=lambda value: (value is None, value),
    )
    assert marks == [False, False, False, False, True, True, True, None]  # the check-in: None
    # Filling in the balanced thought later makes the one without it complete.
    waiting = session.exec(
        select(Entry).where(Entry.assignment_id == record.id, col(Entry.complete).is_(False))
    ).first()
    assert waiting is not None
    answers = {"balanced_thought": "Fair", "emotions_after": {"anxious": 10}}
    edited = entries.update(
        session,
        client=client,
        access=PrivateAccess(device_id=None, everything=True),
        entry_id=waiting.id,
        data=EntryUpdate(answers=waiting.answers | answers),
    )
    assert edited.complete is True


def test_the_brief_and_the_caseload_agree_with_the_hand_count(session) -> None:
    therapist, client, record = thought_records(session)
    read = brief.build(session, therapist=therapist, client_id=client.id)
    (figures,) = [item.adherence for item in read.records if item.item.assignment.id == record.id]
    assert (figures.in_the_moment.done, figures.in_the_moment.expected) == IN_THE_MOMENT
    assert (figures.complete.done, figures.complete.expected) == COMPLETE
    (row,) = caseload.build(session, therapist=therapist)
    (summary,) = row.records
    assert (summary.adherence.in_the_moment.done, summary.adherence.in_the_moment.expected) == IN_THE_MOMENT
    assert (summary.adherence.complete.done, summary.adherence.complete.expected) == COMPLETE
