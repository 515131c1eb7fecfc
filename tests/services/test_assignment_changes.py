"""Assignments that change while they run: past days keep their rules, the client is told,
the client's own reminder times stay theirs, and a stop can be taken back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from app.core import i18n
from app.core.errors import Conflict, NotFound
from app.models import AssignmentChange, AssignmentSettings, ChangeKind, Frequency, Reminder
from app.models.types import utcnow
from app.services import assignment_changes, assignment_lookup, assignments, brief, caseload, reminders
from app.services.adherence.figures import compute
from app.services.adherence.load import assigned
from app.services.adherence.rules import DayState, EntryFact, Schedule, ScheduleChange
from tests.factories import make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate, daily_entries

DAILY = Schedule()
TWICE = Schedule(frequency=Frequency.times_per_day, times_per_day=2)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def facts(*days: date, per_day: int = 1) -> list[EntryFact]:
    return [
        EntryFact(occurred_at=noon(day) + timedelta(minutes=n), logged_at=noon(day) + timedelta(minutes=n))
        for day in days
        for n in range(per_day)
    ]


# -- the engine ----------------------------------------------------------------------------------


def test_days_before_an_edit_keep_the_rules_they_had() -> None:
    # Every day once, 1-10 June; on 6 June at 09:00 the record became twice a day.
    days = [date(2026, 6, day) for day in range(1, 11)]
    edited = datetime(2026, 6, 6, 9, tzinfo=UTC)
    result = compute(
        entries=facts(*days),
        schedule=TWICE,
        history=[ScheduleChange(until=edited, schedule=DAILY)],
        zones="UTC",
        start=datetime(2026, 6, 1, 8, tzinfo=UTC),
        now=datetime(2026, 6, 10, 20, tzinfo=UTC),
    )
    states = {item.day: item.state for item in result.days}
    # Before the edit: done, as they were the day they were lived.
    assert all(states[date(2026, 6, day)] is DayState.done for day in range(1, 6))
    # The day of the edit is a first day under the new rules: one of two is not held against anyone.
    assert states[date(2026, 6, 6)] is DayState.not_expected
    # After it, one a day is fewer than the two now asked for.
    assert all(states[date(2026, 6, day)] is DayState.partial for day in range(7, 10))
    assert result.done == 5 and result.expected == 8  # 1-5 done, 7-9 partial; 10 still open

    rewritten = compute(
        entries=facts(*days),
        schedule=TWICE,
        zones="UTC",
        start=datetime(2026, 6, 1, 8, tzinfo=UTC),
        now=datetime(2026, 6, 10, 20, tzinfo=UTC),
    )
    assert rewritten.done == 0  # what the history prevents: the past rewritten by today's rules


def test_days_a_record_was_stopped_ask_for_nothing() -> None:
    stopped = datetime(2026, 6, 3, 10, tzinfo=UTC)
    restarted = datetime(2026, 6, 5, 18, tzinfo=UTC)
    result = compute(
        entries=facts(date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 6), date(2026, 6, 7)),
        schedule=DAILY,
        history=[ScheduleChange(until=stopped, schedule=DAILY), ScheduleChange(until=restarted, schedule=None)],
        zones="UTC",
        start=datetime(2026, 6, 1, 8, tzinfo=UTC),
        now=datetime(2026, 6, 7, 20, tzinfo=UTC),
    )
    states = {item.day: item.state for item in result.days}
    assert states[date(2026, 6, 3)] is DayState.not_expected
    assert states[date(2026, 6, 4)] is DayState.not_expected
    assert states[date(2026, 6, 5)] is DayState.not_expected  # the day it came back: a bonus
    assert result.missed == 0
    assert result.done == 4


def test_a_weekly_record_with_a_day_is_due_on_that_day() -> None:
    # Assigned on Wednesday 3 June 2026, once a week on Sundays.
    sunday = Schedule(frequency=Frequency.weekly, weekdays=(7,))
    assert sunday.due_weekday == 7
    start = datetime(2026, 6, 3, 9, tzinfo=UTC)
    # Nothing in the first (short) week; the next done on Tuesday 9th; nothing the week after.
    result = compute(
        entries=facts(date(2026, 6, 9)),
        schedule=sunday,
        zones="UTC",
        start=start,
        now=datetime(2026, 6, 22, 9, tzinfo=UTC),
    )
    days = result.day_map()
    assert days[date(2026, 6, 7)].expected  # the first Sunday is a due day ...
    assert days[date(2026, 6, 7)].state is DayState.not_expected  # ... but a short first week is a bonus
    assert days[date(2026, 6, 14)].expected and days[date(2026, 6, 21)].state is DayState.missed
    assert (result.expected, result.done) == (2, 1)
    # Weeks counted from the first day (records set before weeks had a day) are unchanged.
    legacy = compute(
        entries=facts(date(2026, 6, 9)), schedule=Schedule(frequency=Frequency.weekly), zones="UTC", start=start,
        now=datetime(2026, 6, 22, 9, tzinfo=UTC),
    )  # fmt: skip
    assert legacy.day_map()[date(2026, 6, 9)].expected  # Wednesday to Tuesday weeks
    assert (legacy.expected, legacy.done) == (2, 1)


def test_a_week_cut_short_by_an_edit_counts_only_if_done() -> None:
    weekly = Schedule(frequency=Frequency.weekly, weekdays=(7,))
    result = compute(
        entries=facts(date(2026, 6, 11), date(2026, 6, 12)),
        schedule=DAILY,
        history=[ScheduleChange(until=datetime(2026, 6, 10, 15, tzinfo=UTC), schedule=weekly)],
        zones="UTC",
        start=datetime(2026, 6, 1, 9, tzinfo=UTC),  # a Monday: the first week ends on Sunday 7th
        now=datetime(2026, 6, 12, 20, tzinfo=UTC),
    )
    states = {item.day: item.state for item in result.days}
    assert states[date(2026, 6, 7)] is DayState.missed  # a whole week, nothing done
    assert states[date(2026, 6, 9)] is DayState.not_expected  # the week cut on the 9th: not held against
    assert states[date(2026, 6, 11)] is DayState.done
    assert (result.expected, result.done) == (3, 2)  # the 7th, the 11th and the 12th


def test_the_form_asks_one_day_for_a_weekly_record() -> None:
    with pytest.raises(ValidationError):
        AssignmentSettings(frequency=Frequency.weekly, weekdays=[1, 5])
    assert AssignmentSettings(frequency=Frequency.weekly, weekdays=[5]).weekdays == [5]


# -- the service ---------------------------------------------------------------------------------


def _setup(session, **options):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin")
    assignment = make_assignment(session, client=client, proposed_times=["08:30"], **options)
    return therapist, client, assignment


def test_an_edit_is_kept_with_what_it_was_and_who_made_it(session) -> None:
    therapist, client, assignment = _setup(session)
    change = assignments.change(
        session,
        therapist=therapist,
        assignment_id=assignment.id,
        data=AssignmentSettings(
            frequency=Frequency.times_per_day,
            times_per_day=2,
            instructions="Morning and evening",
            proposed_times=["08:30", "20:00"],
        ),
    )
    session.commit()
    assert change is not None and change.kind is ChangeKind.changed
    assert change.changed_by_id == therapist.id and change.client_id == client.id
    assert change.before["frequency"] == "daily" and change.after["frequency"] == "times_per_day"
    assert change.after["times_per_day"] == 2 and change.after["proposed_times"] == ["08:30", "20:00"]
    session.refresh(assignment)
    assert assignment.frequency is Frequency.times_per_day and assignment.instructions == "Morning and evening"
    # The same values again change nothing and tell no one.
    same = AssignmentSettings(**assignments.snapshot(assignment))
    assert assignments.change(session, therapist=therapist, assignment_id=assignment.id, data=same) is None
    assert len(session.exec(select(AssignmentChange)).all()) == 1


def test_the_reminder_follows_proposals_until_the_client_chooses_their_own(session) -> None:
    therapist, client, assignment = _setup(session)
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.chosen_at is None and reminder.times == ["08:30"]
    assignments.change(
        session,
        therapist=therapist,
        assignment_id=assignment.id,
        data=AssignmentSettings(frequency=Frequency.weekdays, weekdays=[1, 3, 5], proposed_times=["09:00"]),
    )
    session.commit()
    session.refresh(reminder)
    assert reminder.times == ["09:00"] and reminder.weekdays == [1, 3, 5] and reminder.next_due_at is not None

    reminders.save(
        session,
        client=client,
        assignment_id=assignment.id,
        data=reminders.ReminderInput(times=["07:15"], weekdays=[1, 3, 5]),
    )
    session.commit()
    session.refresh(reminder)
    assert reminder.chosen_at is not None
    assignments.change(
        session,
        therapist=therapist,
        assignment_id=assignment.id,
        data=AssignmentSettings(frequency=Frequency.weekdays, weekdays=[1, 3, 5], proposed_times=["10:00"]),
    )
    session.commit()
    session.refresh(reminder)
    assert reminder.times == ["07:15"]  # the client's own stay theirs
    with i18n.using_locale("en"):
        [notice] = assignment_changes.notices(session, client=client, titles={assignment.id: "Mood check"})
    assert notice.suggest_reminders
    assert any("10:00" in line and "Yours stay as you chose them" in line for line in notice.lines)


def test_the_client_is_told_what_changed_in_warm_words_until_they_dismiss_it(session) -> None:
    therapist, client, assignment = _setup(session)
    titles = {assignment.id: "Mood log"}
    assert assignment_changes.notices(session, client=client, titles=titles) == []
    assignments.change(
        session,
        therapist=therapist,
        assignment_id=assignment.id,
        data=AssignmentSettings(frequency=Frequency.times_per_day, times_per_day=2, proposed_times=["08:30"]),
    )
    session.commit()
    with i18n.using_locale("en"):
        [notice] = assignment_changes.notices(session, client=client, titles=titles)
    assert notice.lines == ["Your therapist changed: Mood log now 2 times a day."]
    with i18n.using_locale("es"):
        [notice] = assignment_changes.notices(session, client=client, titles=titles)
    assert "2 veces al día" in notice.lines[0] and notice.lines[0].startswith("Tu terapeuta")
    # Another client cannot dismiss it.
    other = make_client(session, therapist=therapist)
    with pytest.raises(NotFound):
        assignment_changes.mark_seen(session, client=other, assignment_id=assignment.id)
    assert assignment_changes.mark_seen(session, client=client, assignment_id=assignment.id) == 1
    session.commit()
    assert assignment_changes.notices(session, client=client, titles=titles) == []
    # Changed and changed back before the client looked: nothing to tell.
    for settings in (
        AssignmentSettings(frequency=Frequency.weekly, weekdays=[7], proposed_times=["08:30"]),
        AssignmentSettings(frequency=Frequency.times_per_day, times_per_day=2, proposed_times=["08:30"]),
    ):
        assignments.change(session, therapist=therapist, assignment_id=assignment.id, data=settings)
    session.commit()
    assert assignment_changes.notices(session, client=client, titles=titles) == []


def test_past_days_keep_their_rules_in_the_brief_and_the_caseload(session) -> None:
    therapist, client, assignment = _setup(session)
    backdate(session, assignment, 10)
    daily_entries(session, client, assignment, days=list(range(1, 10)))  # once a day for nine days
    before = assigned(session, client_ids=[client.id])[client.id][0]
    assignments.change(
        session,
        therapist=therapist,
        assignment_id=assignment.id,
        data=AssignmentSettings(frequency=Frequency.times_per_day, times_per_day=3, proposed_times=["08:30"]),
    )
    session.commit()
    after = assigned(session, client_ids=[client.id])[client.id][0]
    assert before.history == () and len(after.history) == 1
    data = brief.build(session, therapist=therapist, client_id=client.id)
    [record] = data.records
    # Nine days done once a day under the old rules stay done.
    assert record.adherence.done >= 8
    [row] = caseload.build(session, therapist=therapist)
    [summary] = row.records
    assert summary.adherence.done == record.adherence.done
    assert summary.adherence.expected == record.adherence.expected
    assert summary.adherence.current_streak == record.adherence.current_streak


def test_a_stop_can_be_undone_for_a_day_with_its_reminder(session) -> None:
    therapist, client, assignment = _setup(session)
    assignments.end(session, therapist=therapist, assignment_id=assignment.id)
    session.commit()
    assert [a.id for a, _v in assignments.recently_stopped(session, client_id=client.id)] == [assignment.id]
    assert assignment_lookup.active_for_client(session, client_id=client.id) == []
    # The dispatcher clears an ended record's next reminder; undoing brings it back.
    reminder = session.exec(select(Reminder).where(Reminder.assignment_id == assignment.id)).one()
    reminder.next_due_at = None
    session.add(reminder)
    session.commit()
    with pytest.raises(Conflict):
        assignments.change(session, therapist=therapist, assignment_id=assignment.id, data=AssignmentSettings())
    session.rollback()
    stranger = make_therapist(session)
    with pytest.raises(NotFound):
        assignments.restart(session, therapist=stranger, assignment_id=assignment.id)
    assignments.restart(session, therapist=therapist, assignment_id=assignment.id)
    session.commit()
    session.refresh(assignment)
    session.refresh(reminder)
    assert assignment.ended_at is None and reminder.next_due_at is not None and reminder.times == ["08:30"]
    kinds = [c.kind for c in session.exec(select(AssignmentChange).order_by(AssignmentChange.changed_at)).all()]
    assert kinds == [ChangeKind.stopped, ChangeKind.restarted]
    # Too late to undo: assign it again instead.
    assignments.end(session, therapist=therapist, assignment_id=assignment.id)
    session.commit()
    with pytest.raises(Conflict):
        assignments.restart(session, therapist=therapist, assignment_id=assignment.id, now=utcnow() + timedelta(days=2))
    session.rollback()
    assert assignments.recently_stopped(session, client_id=client.id, now=utcnow() + timedelta(days=2)) == []
