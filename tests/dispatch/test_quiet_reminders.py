"""When a reminder stays quiet: it follows the entries a day asks for, and it says why.

Against the fault-injecting loopback push endpoint (`sink`): a reminder that is sent reaches it,
one that stays quiet does not, and its occurrence keeps the reason the client's page shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch.dispatcher import Dispatcher
from app.models import Assignment, Client, Frequency, OccurrenceStatus, Reminder, ReminderOccurrence
from app.services import frequency, reminders
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from tests.dispatch.conftest import Sink, dispatch, due_now, subscription_json
from tests.factories import make_assignment, make_client, make_entry

MONDAY = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)


def _set_up(
    session: Session, sink: Sink, settings: Settings, *, times: tuple[str, ...], **assigned: Any
) -> tuple[Client, Assignment, Reminder]:
    client = make_client(session, timezone="UTC")
    assignment = make_assignment(session, client=client, **assigned)
    reminder = reminders.save(
        session,
        client=client,
        assignment_id=assignment.id,
        data=reminders.ReminderInput(times=times),
        now=MONDAY,
    )
    subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"{sink.base}/phone"), settings=settings
    )
    session.commit()
    return client, assignment, reminder


def _every_day_at_seven(session: Session, client: Client, reminder: Reminder) -> None:
    """The client's reminder for the record at 19:00 on every day of the week, whatever it asks."""
    reminders.save(
        session,
        client=client,
        assignment_id=reminder.assignment_id,
        data=reminders.ReminderInput(times=("19:00",), weekdays=(1, 2, 3, 4, 5, 6, 7)),
        now=MONDAY,
    )
    session.commit()


def _next(session: Session, dispatcher: Dispatcher, reminder: Reminder) -> ReminderOccurrence:
    """Run the dispatcher when the reminder is next due; the occurrence it recorded."""
    session.refresh(reminder)
    due = reminder.next_due_at
    dispatch(dispatcher, due_now(reminder))
    session.expire_all()
    return session.exec(select(ReminderOccurrence).where(ReminderOccurrence.due_at == due)).one()


def test_twice_a_day_with_one_done_the_evening_reminder_is_sent(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, assignment, reminder = _set_up(
        session,
        sink,
        dispatch_settings,
        times=("09:00", "20:00"),
        frequency=Frequency.times_per_day,
        times_per_day=2,
    )
    morning = _next(session, dispatcher, reminder)
    assert morning.status is OccurrenceStatus.sent
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 4, 9, 30, tzinfo=UTC))

    evening = _next(session, dispatcher, reminder)  # one of the two done: the second is still asked for

    assert evening.status is OccurrenceStatus.sent
    assert sink.hits("/phone") == 2
    # Both done on Tuesday before its morning: that day's reminders stay quiet, and say so.
    for hour in (7, 8):
        make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 5, hour, tzinfo=UTC))
    tuesday = _next(session, dispatcher, reminder)
    assert tuesday.status is OccurrenceStatus.suppressed
    assert tuesday.last_error == frequency.QUIET_DONE
    assert sink.hits("/phone") == 2


def test_every_day_with_two_reminder_times_the_second_stays_quiet_once_done_and_says_why(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, assignment, reminder = _set_up(session, sink, dispatch_settings, times=("09:00", "20:00"))
    assert assignment.frequency is Frequency.daily
    assert _next(session, dispatcher, reminder).status is OccurrenceStatus.sent
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 4, 9, 30, tzinfo=UTC))

    evening = _next(session, dispatcher, reminder)

    assert evening.status is OccurrenceStatus.suppressed
    assert evening.last_error == frequency.QUIET_DONE
    assert sink.hits("/phone") == 1
    # Not a failure: delivery health counts it apart, and the client's page says why.
    health = reminder_health.delivery_health(session, client=client, now=datetime(2026, 5, 4, 21, tzinfo=UTC))
    assert health.quiet_done == 1 and health.quiet_not_due == 0
    assert health.recent_failures == []
    [quiet] = reminder_health.quiet_reminders(session, client=client, now=datetime(2026, 5, 4, 21, tzinfo=UTC))
    assert (quiet.due_local.hour, quiet.due_local.minute, quiet.reason, quiet.today) == (20, 0, "done", True)


def test_a_weekday_record_stays_quiet_on_other_days_and_speaks_up_on_its_own(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, _assignment, reminder = _set_up(
        session, sink, dispatch_settings, times=("19:00",), frequency=Frequency.weekdays, weekdays=[1, 3, 5]
    )
    _every_day_at_seven(session, client, reminder)

    outcomes = [_next(session, dispatcher, reminder) for _day in ("Mon", "Tue", "Wed")]

    assert [item.status for item in outcomes] == [
        OccurrenceStatus.sent,
        OccurrenceStatus.suppressed,
        OccurrenceStatus.sent,
    ]
    assert outcomes[1].last_error == frequency.QUIET_NOT_DUE
    health = reminder_health.delivery_health(session, client=client, now=datetime(2026, 5, 6, 20, tzinfo=UTC))
    assert health.quiet_not_due == 1 and health.quiet_done == 0


def test_a_record_kept_as_it_happens_gets_a_check_in_unless_something_was_written(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    client, assignment, reminder = _set_up(
        session, sink, dispatch_settings, times=("20:00",), frequency=Frequency.as_it_happens
    )
    assert _next(session, dispatcher, reminder).status is OccurrenceStatus.sent  # nothing written on Monday
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 5, 11, tzinfo=UTC))

    tuesday = _next(session, dispatcher, reminder)

    assert tuesday.status is OccurrenceStatus.suppressed
    assert tuesday.last_error == frequency.QUIET_LOGGED
    assert sink.hits("/phone") == 1


def test_the_rule_in_one_place() -> None:
    monday, tuesday = datetime(2026, 5, 4).date(), datetime(2026, 5, 5).date()
    rule = frequency.quiet_reason
    assert rule(Frequency.daily, times_per_day=1, weekdays=(), day=monday, entries=0) is None
    assert rule(Frequency.daily, times_per_day=1, weekdays=(), day=monday, entries=1) == "done"
    assert rule(Frequency.times_per_day, times_per_day=2, weekdays=(), day=monday, entries=1) is None
    assert rule(Frequency.times_per_day, times_per_day=2, weekdays=(), day=monday, entries=2) == "done"
    assert rule(Frequency.weekdays, times_per_day=1, weekdays=(1,), day=monday, entries=0) is None
    assert rule(Frequency.weekdays, times_per_day=1, weekdays=(1,), day=tuesday, entries=0) == "not_due"
    assert rule(Frequency.as_it_happens, times_per_day=1, weekdays=(), day=monday, entries=0) is None
    assert rule(Frequency.as_it_happens, times_per_day=1, weekdays=(), day=monday, entries=3) == "logged"
    assert frequency.entries_asked(Frequency.as_it_happens, times_per_day=1, weekdays=(), day=monday) == 0
    assert frequency.entries_asked(Frequency.times_per_day, times_per_day=3, weekdays=(), day=monday) == 3
    # A weekly record: the entries of its week count, and say so.
    assert rule(Frequency.weekly, times_per_day=1, weekdays=(7,), day=tuesday, entries=0) is None
    assert rule(Frequency.weekly, times_per_day=1, weekdays=(7,), day=tuesday, entries=1) == "week_done"
    week = frequency.counted_days(Frequency.weekly, weekdays=(7,), day=tuesday, first_day=monday)
    assert week == (monday, datetime(2026, 5, 10).date())
    assert frequency.counted_days(Frequency.daily, weekdays=(), day=tuesday, first_day=monday) == (tuesday, tuesday)


def _week_of_reminders(
    session: Session, dispatcher: Dispatcher, client: Client, assignment: Assignment, reminder: Reminder
) -> list[ReminderOccurrence]:
    """Every day's 19:00 reminder from Monday to the next Monday, with the week's entry written on
    Tuesday morning."""
    assignment.created_at = MONDAY
    session.add(assignment)
    _every_day_at_seven(session, client, reminder)
    monday = _next(session, dispatcher, reminder)
    make_entry(session, client=client, assignment=assignment, occurred_at=datetime(2026, 5, 5, 8, tzinfo=UTC))
    return [monday, *(_next(session, dispatcher, reminder) for _day in range(7))]


def test_a_weekly_record_done_early_in_its_week_keeps_its_reminders_quiet_until_the_next_week(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    # Due on Sundays: its weeks run Monday to Sunday. Done on Tuesday, the rest of the week is quiet.
    client, assignment, reminder = _set_up(
        session, sink, dispatch_settings, times=("19:00",), frequency=Frequency.weekly, weekdays=[7]
    )

    week = _week_of_reminders(session, dispatcher, client, assignment, reminder)

    assert [item.status for item in week] == [
        OccurrenceStatus.sent,
        *[OccurrenceStatus.suppressed] * 6,
        OccurrenceStatus.sent,
    ]
    assert {item.last_error for item in week[1:7]} == {frequency.QUIET_WEEK_DONE}
    assert sink.hits("/phone") == 2
    health = reminder_health.delivery_health(session, client=client, now=datetime(2026, 5, 10, 20, tzinfo=UTC))
    assert health.quiet_done == 6 and health.quiet_not_due == 0  # already done, as the therapist reads it
    [sunday, *_older] = reminder_health.quiet_reminders(
        session, client=client, now=datetime(2026, 5, 10, 20, tzinfo=UTC)
    )
    assert (sunday.due_local.day, sunday.reason, sunday.today) == (10, frequency.QUIET_WEEK_DONE, True)


def test_a_weekly_record_without_a_day_counts_its_weeks_from_its_first_day(
    session: Session, sink: Sink, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    # Set before weeks had a day (all seven): weeks run from its first day, a Monday here.
    client, assignment, reminder = _set_up(
        session, sink, dispatch_settings, times=("19:00",), frequency=Frequency.weekly, weekdays=[1, 2, 3, 4, 5, 6, 7]
    )

    week = _week_of_reminders(session, dispatcher, client, assignment, reminder)

    assert [item.status for item in week] == [
        OccurrenceStatus.sent,
        *[OccurrenceStatus.suppressed] * 6,
        OccurrenceStatus.sent,
    ]
