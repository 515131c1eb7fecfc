"""Due instants in the client's zone: DST gaps and repeats, odd offsets, day boundaries."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.services.reminders.schedule import (
    Kind,
    ReminderTimes,
    instants_for_days,
    next_due,
    random_offsets,
    step,
    upcoming,
)


def _local(schedule: ReminderTimes, first: date, days: int) -> list[str]:
    zone = ZoneInfo(schedule.timezone)
    return [due.at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for due in instants_for_days(schedule, first, days)]


def test_new_york_spring_forward_fires_right_after_the_gap() -> None:
    schedule = ReminderTimes("America/New_York", times=(time(2, 30),))
    assert _local(schedule, date(2026, 3, 7), 3) == [
        "2026-03-07 02:30 EST",
        "2026-03-08 03:00 EDT",  # 02:30 does not exist that night
        "2026-03-09 02:30 EDT",
    ]
    # and fires once: the instant right after the gap, not 03:30
    assert next_due(schedule, datetime(2026, 3, 8, 6, 0, tzinfo=UTC)).at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # type: ignore[union-attr]


def test_nine_oclock_stays_nine_oclock_across_dst() -> None:
    schedule = ReminderTimes("America/New_York", times=(time(9, 0),))
    assert _local(schedule, date(2026, 3, 7), 2) == ["2026-03-07 09:00 EST", "2026-03-08 09:00 EDT"]


def test_london_fall_back_repeated_time_fires_once_the_first() -> None:
    schedule = ReminderTimes("Europe/London", times=(time(1, 30),))
    dues = instants_for_days(schedule, date(2026, 10, 25), 1)
    assert [due.at for due in dues] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 01:30 BST
    after_first = next_due(schedule, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    assert after_first is not None and after_first.at == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_lord_howe_half_hour_shift() -> None:
    schedule = ReminderTimes("Australia/Lord_Howe", times=(time(2, 15), time(9, 0)))
    assert _local(schedule, date(2026, 10, 4), 1) == ["2026-10-04 02:30 +11", "2026-10-04 09:00 +11"]
    # back in April 01:30–02:00 happens twice; 01:45 fires once, the first time (+11)
    schedule = ReminderTimes("Australia/Lord_Howe", times=(time(1, 45),))
    [due] = instants_for_days(schedule, date(2026, 4, 5), 1)
    assert due.at == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)


def test_kolkata_half_hour_offset_without_dst() -> None:
    schedule = ReminderTimes("Asia/Kolkata", times=(time(8, 30),))
    assert [due.at for due in instants_for_days(schedule, date(2026, 6, 1), 2)] == [
        datetime(2026, 6, 1, 3, 0, tzinfo=UTC),
        datetime(2026, 6, 2, 3, 0, tzinfo=UTC),
    ]


def test_day_boundary_keeps_late_night_on_the_previous_day() -> None:
    # Weekdays Monday–Friday at 01:00 with the day ending at 03:00: Friday's 01:00 is Saturday night early.
    schedule = ReminderTimes(
        "UTC", times=(time(23, 0), time(1, 0)), weekdays=frozenset({1, 2, 3, 4, 5}), day_boundary=time(3, 0)
    )
    assert _local(schedule, date(2026, 5, 8), 3) == [
        "2026-05-08 23:00 UTC",
        "2026-05-09 01:00 UTC",
    ]  # Fri, then nothing
    assert _local(schedule, date(2026, 5, 11), 1) == ["2026-05-11 23:00 UTC", "2026-05-12 01:00 UTC"]


def test_weekdays_and_quiet_hours() -> None:
    schedule = ReminderTimes(
        "Europe/Berlin",
        times=(time(6, 30), time(12, 0), time(23, 0)),
        weekdays=frozenset({6, 7}),
        quiet_start=time(22, 0),
        quiet_end=time(7, 0),
    )
    assert _local(schedule, date(2026, 5, 8), 3) == ["2026-05-09 12:00 CEST", "2026-05-10 12:00 CEST"]


def test_random_prompts_stay_in_the_window_with_the_gap_and_are_reproducible() -> None:
    schedule = ReminderTimes(
        "Asia/Kolkata",
        random_start=time(10, 0),
        random_end=time(20, 0),
        random_count=5,
        random_min_gap_minutes=90,
        seed="reminder-1",
    )
    for day in (date(2026, 6, d) for d in range(1, 29)):
        offsets = random_offsets(schedule, day)
        assert offsets == random_offsets(schedule, day)  # every dispatcher computes the same
        assert len(offsets) == 5
        assert all(b - a >= 90 for a, b in itertools.pairwise(offsets))
        assert offsets[0] >= 600 and offsets[-1] <= 1200
    dues = instants_for_days(schedule, date(2026, 6, 1), 1)
    assert {due.kind for due in dues} == {Kind.random}
    other = ReminderTimes(**{**schedule.__dict__, "seed": "reminder-2"})
    assert random_offsets(other, date(2026, 6, 1)) != random_offsets(schedule, date(2026, 6, 1))


def test_random_window_across_midnight_for_a_night_owl() -> None:
    schedule = ReminderTimes(
        "UTC",
        random_start=time(22, 0),
        random_end=time(2, 0),
        random_count=2,
        random_min_gap_minutes=60,
        day_boundary=time(3, 0),
        seed="x",
    )
    for due in instants_for_days(schedule, date(2026, 6, 1), 1):
        assert datetime(2026, 6, 1, 22, 0, tzinfo=UTC) <= due.at <= datetime(2026, 6, 2, 2, 0, tzinfo=UTC)


def test_a_client_who_moves_time_zone_gets_nine_local_in_the_new_zone() -> None:
    berlin = ReminderTimes("Europe/Berlin", times=(time(9, 0),))
    new_york = ReminderTimes("America/New_York", times=(time(9, 0),))
    moment = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    old = next_due(berlin, moment)
    new = next_due(new_york, moment)
    assert old is not None and old.at == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    assert new is not None and new.at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    # what was claimed under the old zone is recognised as no longer wanted
    current, following = step(new_york, old.at)
    assert current is None and following is not None and following.at == datetime(2026, 6, 2, 13, 0, tzinfo=UTC)


def test_nothing_scheduled() -> None:
    assert next_due(ReminderTimes("UTC", times=(time(9, 0),), weekdays=frozenset()), datetime.now(UTC)) is None
    assert upcoming(ReminderTimes("UTC"), datetime.now(UTC), limit=3) == []
