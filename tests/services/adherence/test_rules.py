"""Named cases of the adherence engine: DST, day boundaries, moving zones, schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.models import Frequency
from app.services.adherence.figures import compute
from app.services.adherence.rules import (
    DayState,
    EntryFact,
    Schedule,
    ZoneChange,
)

NY = "America/New_York"
DAILY = Schedule()


def at(zone: str, year: int, month: int, day: int, hour: int = 12, minute: int = 0, *, fold: int = 0) -> datetime:
    """A wall-clock time in a zone, as a UTC instant."""
    local = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return local.astimezone(UTC)


def fact(occurred: datetime, *, logged: datetime | None = None, nothing: bool = False, **extra) -> EntryFact:  # type: ignore[no-untyped-def]
    return EntryFact(occurred_at=occurred, logged_at=logged or occurred, nothing_to_report=nothing, **extra)


def states(result) -> dict[date, DayState]:  # type: ignore[no-untyped-def]
    return {item.day: item.state for item in result.days}


def test_spring_forward_day_is_one_day_and_late_entries_land_right() -> None:
    # 2026-03-08: clocks jump from 02:00 to 03:00 in New York (a 23-hour day).
    entries = [fact(at(NY, 2026, 3, day, 21)) for day in range(1, 8)]
    entries.append(fact(at(NY, 2026, 3, 8, 0, 30)))  # before the jump, EST
    entries.append(fact(at(NY, 2026, 3, 8, 23, 30)))  # after it, EDT
    # 00:30 EDT on the 9th: with last week's offset (-5) it would look like 23:30 on the 8th.
    entries.append(fact(datetime(2026, 3, 9, 4, 30, tzinfo=UTC)))
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones=NY,
        start=at(NY, 2026, 3, 1, 9),
        now=at(NY, 2026, 3, 9, 12),
    )
    days = result.day_map()
    assert days[date(2026, 3, 8)].count == 2
    assert days[date(2026, 3, 9)].count == 1
    assert days[date(2026, 3, 9)].state is DayState.done
    assert [item.day for item in result.days] == [date(2026, 3, 1) + timedelta(days=n) for n in range(9)]
    assert result.expected == result.done == 9
    assert result.current_streak == result.longest_streak == 9
    assert result.missed == 0


def test_fall_back_day_is_one_day_including_the_repeated_hour() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York (a 25-hour day).
    first = at(NY, 2026, 11, 1, 1, 30, fold=0)
    second = at(NY, 2026, 11, 1, 1, 30, fold=1)
    assert second - first == timedelta(hours=1)
    late = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)  # 23:30 EST on the 1st; 00:30 on the 2nd in EDT
    result = compute(
        entries=[fact(first), fact(second), fact(late), fact(at(NY, 2026, 10, 31, 20))],
        schedule=Schedule(frequency=Frequency.times_per_day, times_per_day=3),
        zones=NY,
        start=at(NY, 2026, 10, 31, 8),
        now=at(NY, 2026, 11, 2, 8),
    )
    days = result.day_map()
    assert days[date(2026, 11, 1)].count == 3
    assert days[date(2026, 11, 1)].state is DayState.done
    # The first day (one of three) is a bonus not taken; today is still open.
    assert days[date(2026, 10, 31)].state is DayState.not_expected
    assert days[date(2026, 11, 2)].state is DayState.expected
    assert (result.expected, result.done, result.current_streak) == (1, 1, 1)
    assert result.pending


def test_day_boundary_at_three_puts_small_hours_on_the_previous_day() -> None:
    zone = "Europe/Madrid"
    boundary = time(3, 0)
    entries = [
        fact(at(zone, 2026, 5, 5, 2, 30)),  # Tuesday 02:30 -> Monday
        fact(at(zone, 2026, 5, 6, 3, 0)),  # Wednesday 03:00 -> Wednesday
    ]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones=zone,
        boundary=boundary,
        start=at(zone, 2026, 5, 4, 10),
        now=at(zone, 2026, 5, 7, 2, 59),
    )
    days = states(result)
    assert result.today == date(2026, 5, 6)
    assert days[date(2026, 5, 4)] is DayState.done
    assert days[date(2026, 5, 5)] is DayState.missed
    assert days[date(2026, 5, 6)] is DayState.done
    assert result.current_streak == 1
    assert result.longest_streak == 1
    # Without the boundary, the 02:30 entry belongs to Tuesday.
    plain = compute(
        entries=entries,
        schedule=DAILY,
        zones=zone,
        start=at(zone, 2026, 5, 4, 10),
        now=at(zone, 2026, 5, 7, 2, 59),
    )
    assert states(plain)[date(2026, 5, 5)] is DayState.done
    assert plain.today == date(2026, 5, 7)


def test_zone_change_mid_streak_keeps_the_streak_and_uses_the_zone_of_the_moment() -> None:
    berlin, la = "Europe/Berlin", "America/Los_Angeles"
    moved = at(berlin, 2026, 5, 8, 9)  # boards the plane; lands the same calendar day
    zones = [ZoneChange(datetime(2020, 1, 1, tzinfo=UTC), berlin), ZoneChange(moved, la)]
    entries = [fact(at(berlin, 2026, 5, day, 21)) for day in range(1, 8)]
    entries += [fact(at(la, 2026, 5, day, 23)) for day in range(8, 13)]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones=zones,
        start=at(berlin, 2026, 5, 1, 8),
        now=at(la, 2026, 5, 13, 8),
    )
    days = result.day_map()
    # 23:00 in Los Angeles is 08:00 the next day in Berlin: still the 10th for this client.
    assert days[date(2026, 5, 10)].count == 1
    assert all(days[date(2026, 5, d)].state is DayState.done for d in range(1, 13))
    assert result.current_streak == result.longest_streak == 12
    # With only today's zone, the Berlin evenings would be read in Los Angeles time: same days here,
    # but the LA nights read in Berlin time would all slip to the next day.
    berlin_only = compute(
        entries=entries,
        schedule=DAILY,
        zones=berlin,
        start=at(berlin, 2026, 5, 1, 8),
        now=at(la, 2026, 5, 13, 8),
    )
    assert berlin_only.day_map()[date(2026, 5, 8)].state is not DayState.done


def test_flying_over_the_date_line_skips_a_date_without_breaking_the_streak() -> None:
    honolulu, kiritimati = "Pacific/Honolulu", "Pacific/Kiritimati"  # UTC-10, then UTC+14
    moved = at(honolulu, 2026, 6, 4, 0, 0)  # midnight after the 3rd is already the 5th there
    zones = [ZoneChange(datetime(2020, 1, 1, tzinfo=UTC), honolulu), ZoneChange(moved, kiritimati)]
    entries = [fact(at(honolulu, 2026, 6, day, 20)) for day in (1, 2, 3)]
    entries += [fact(at(kiritimati, 2026, 6, day, 20)) for day in (5, 6)]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones=zones,
        start=at(honolulu, 2026, 6, 1, 8),
        now=at(kiritimati, 2026, 6, 7, 8),
    )
    days = states(result)
    assert days[date(2026, 6, 4)] is DayState.not_expected  # never lived
    assert result.current_streak == 5
    assert result.missed == 0


def test_entry_logged_after_midnight_for_the_previous_evening() -> None:
    zone = "Europe/London"
    evening = at(zone, 2026, 2, 9, 22)
    entries = [
        fact(evening, logged=at(zone, 2026, 2, 10, 0, 40)),  # written up just after midnight
        fact(at(zone, 2026, 2, 10, 20), logged=at(zone, 2026, 2, 11, 14)),  # reconstructed next afternoon
    ]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones=zone,
        start=at(zone, 2026, 2, 9, 9),
        now=at(zone, 2026, 2, 11, 16),
    )
    days = states(result)
    assert days[date(2026, 2, 9)] is DayState.done
    assert days[date(2026, 2, 10)] is DayState.done
    assert days[date(2026, 2, 11)] is DayState.expected
    delays = {item.occurred_at: item for item in result.delays}
    assert delays[evening].delay == timedelta(hours=2, minutes=40)
    assert not delays[evening].backfilled
    assert delays[at(zone, 2026, 2, 10, 20)].backfilled
    assert result.backfilled == 1


def test_prompt_delay_and_backfill_threshold() -> None:
    prompt = datetime(2026, 4, 1, 9, tzinfo=UTC)
    entries = [
        fact(
            datetime(2026, 4, 1, 9, 5, tzinfo=UTC),
            logged=datetime(2026, 4, 1, 9, 20, tzinfo=UTC),
            prompted_at=prompt,
            key="a",
        ),
        fact(
            datetime(2026, 4, 2, 9, tzinfo=UTC),
            logged=datetime(2026, 4, 2, 15, tzinfo=UTC),
            key="b",
        ),
    ]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones="UTC",
        start=datetime(2026, 4, 1, tzinfo=UTC),
        now=datetime(2026, 4, 3, tzinfo=UTC),
        backfill_after=timedelta(hours=6),
    )
    first, second = result.delays
    assert first.key == "a" and first.prompt_delay == timedelta(minutes=20)
    assert first.delay == timedelta(minutes=15)
    assert second.prompt_delay is None and second.backfilled
    assert result.median_delay == timedelta(hours=6)


def test_nothing_to_report_days_are_done_and_counted_apart() -> None:
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    entries = [
        fact(start + timedelta(days=0)),
        fact(start + timedelta(days=1), nothing=True),
        fact(start + timedelta(days=2), nothing=True),
        fact(start + timedelta(days=3)),
    ]
    result = compute(entries=entries, schedule=DAILY, zones="UTC", start=start, now=start + timedelta(days=4))
    days = states(result)
    assert days[date(2026, 1, 6)] is DayState.nothing_to_report
    assert days[date(2026, 1, 7)] is DayState.nothing_to_report
    assert days[date(2026, 1, 8)] is DayState.done
    assert result.done == 4
    assert result.nothing_to_report == 2
    assert result.missed == 0
    assert result.current_streak == 4


def test_weekly_assignment_counts_weeks_anchored_on_its_first_day() -> None:
    start = datetime(2026, 3, 5, 10, tzinfo=UTC)  # a Thursday
    weekly = Schedule(frequency=Frequency.weekly)
    entries = [
        fact(start + timedelta(days=2)),
        fact(start + timedelta(days=3)),
        fact(start + timedelta(days=15)),
    ]
    result = compute(entries=entries, schedule=weekly, zones="UTC", start=start, now=start + timedelta(days=22))
    # Windows: 5-11 done, 12-18 missed, 19-25 done, 26-... open and not done yet.
    assert (result.expected, result.done, result.missed) == (3, 2, 1)
    assert result.current_streak == 1
    assert result.longest_streak == 1
    days = states(result)
    assert days[date(2026, 3, 18)] is DayState.missed
    assert days[date(2026, 3, 14)] is DayState.not_expected
    assert days[date(2026, 3, 27)] is DayState.expected  # today, this week still open
    assert result.pending
    # Doing it early in the week counts at once, in the streak and in the last 7 days.
    result = compute(
        entries=[*entries, fact(start + timedelta(days=21, hours=1))],
        schedule=weekly,
        zones="UTC",
        start=start,
        now=start + timedelta(days=22),
    )
    assert result.current_streak == 2
    assert (result.last_7.done, result.last_7.expected) == (2, 2)
    assert not result.pending
    assert weekly.multiplier == pytest.approx(0.5 ** (7**0.5 / 13))


def test_weekdays_assignment_ignores_other_days() -> None:
    monday = datetime(2026, 6, 1, 18, tzinfo=UTC)
    schedule = Schedule(frequency=Frequency.weekdays, weekdays=(1, 3, 5))
    # Mon, Wed, Fri, (Sat extra), Mon, Wed: other days neither help nor hurt.
    offsets = [0, 2, 4, 5, 7, 9]
    entries = [fact(monday + timedelta(days=n)) for n in offsets]
    result = compute(
        entries=entries,
        schedule=schedule,
        zones="UTC",
        start=monday,
        now=monday + timedelta(days=10),
    )
    assert result.expected == 5
    assert result.done == 5
    assert result.current_streak == result.longest_streak == 5
    days = result.day_map()
    assert days[date(2026, 6, 2)].state is DayState.not_expected
    assert days[date(2026, 6, 6)].state is DayState.extra and not days[date(2026, 6, 6)].expected
    assert result.extra == 1
    assert schedule.days_per_repetition == pytest.approx(7 / 3)
    # Friday the 12th is missed: the streak is broken, the longest stays.
    later = compute(
        entries=entries,
        schedule=schedule,
        zones="UTC",
        start=monday,
        now=monday + timedelta(days=12),
    )
    assert later.current_streak == 0
    assert later.longest_streak == 5
    assert later.missed == 1


def test_entries_on_unscheduled_days_are_done_extra_and_do_not_lower_the_rate() -> None:
    # Set for Mon/Wed/Fri, done on Tue, Thu and Fri: one of the days asked for, two extra.
    monday = datetime(2026, 6, 1, 8, tzinfo=UTC)
    schedule = Schedule(frequency=Frequency.weekdays, weekdays=(1, 3, 5))
    entries = [fact(monday + timedelta(days=n, hours=10)) for n in (1, 3, 4)]
    result = compute(entries=entries, schedule=schedule, zones="UTC", start=monday, now=monday + timedelta(days=6))
    days = result.day_map()
    assert [days[date(2026, 6, n)].state for n in range(1, 8)] == [
        DayState.not_expected,  # the first day, not done: not held against anyone
        DayState.extra,
        DayState.missed,
        DayState.extra,
        DayState.done,
        DayState.not_expected,
        DayState.not_expected,
    ]
    assert (result.done, result.expected, result.extra) == (1, 2, 2)
    assert result.happened_7.entries == 3
    without_extra = compute(
        entries=entries[2:], schedule=schedule, zones="UTC", start=monday, now=monday + timedelta(days=6)
    )
    assert without_extra.overall == result.overall and without_extra.last_7 == result.last_7
    assert without_extra.extra == 0


def test_a_record_kept_as_it_happens_counts_what_happened() -> None:
    monday = datetime(2026, 6, 1, 8, tzinfo=UTC)
    schedule = Schedule(frequency=Frequency.as_it_happens)
    entries = [fact(monday + timedelta(days=n, hours=10)) for n in (1, 3, 4, 4, 12)]
    entries.append(fact(monday + timedelta(days=13, hours=11), nothing=True))
    result = compute(
        entries=entries,
        schedule=schedule,
        zones="UTC",
        start=monday,
        now=monday + timedelta(days=13, hours=12),
        since=monday + timedelta(days=7),
    )
    assert result.as_it_happens
    assert (result.expected, result.done, result.missed, result.extra) == (0, 0, 0, 0)
    assert result.current_streak == result.longest_streak == 0 and not result.pending
    assert result.overall.value is None and result.since is not None and result.since.value is None
    assert result.happened.entries == 5 and result.happened.nothing == 1 and result.happened.days == 14
    assert result.happened.per_week == pytest.approx(2.5)
    assert result.happened_7.entries == 1 and result.happened_7.nothing == 1
    assert result.happened_since is not None and result.happened_since.entries == 1
    days = result.day_map()
    assert days[date(2026, 6, 5)].state is DayState.done and days[date(2026, 6, 5)].count == 2
    assert days[date(2026, 6, 3)].state is DayState.not_expected
    assert days[date(2026, 6, 14)].state is DayState.nothing_to_report
    assert DayState.missed not in {item.state for item in result.days}


def test_today_not_done_does_not_break_the_streak_and_is_not_counted() -> None:
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    entries = [fact(start + timedelta(days=n)) for n in range(5)]
    result = compute(entries=entries, schedule=DAILY, zones="UTC", start=start, now=start + timedelta(days=5))
    assert result.current_streak == 5
    assert result.expected == 5
    assert result.pending
    assert result.last_7.value == 1.0
    assert states(result)[date(2026, 1, 6)] is DayState.expected


def test_first_day_not_done_is_not_held_against_anyone() -> None:
    start = datetime(2026, 1, 1, 22, tzinfo=UTC)
    result = compute(
        entries=[fact(start + timedelta(days=1))],
        schedule=DAILY,
        zones="UTC",
        start=start,
        now=start + timedelta(days=1, hours=1),
    )
    assert (result.expected, result.done, result.missed) == (1, 1, 0)
    assert states(result)[date(2026, 1, 1)] is DayState.not_expected


def test_several_times_a_day_partial_days_count_as_missed_with_partial_credit() -> None:
    start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    schedule = Schedule(frequency=Frequency.times_per_day, times_per_day=3)
    entries = [fact(start + timedelta(hours=h)) for h in (0, 4, 8)]  # day 1: 3
    entries += [fact(start + timedelta(days=1, hours=h)) for h in (0, 4)]  # day 2: 2
    result = compute(entries=entries, schedule=schedule, zones="UTC", start=start, now=start + timedelta(days=2))
    assert states(result)[date(2026, 1, 2)] is DayState.partial
    assert (result.expected, result.done, result.missed) == (2, 1, 1)
    m = schedule.multiplier
    assert result.score == pytest.approx((1 - m) * m + (2 / 3) * (1 - m))


def test_habit_score_follows_loop_formula() -> None:
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    entries = [fact(start + timedelta(days=n)) for n in range(13)]
    result = compute(entries=entries, schedule=DAILY, zones="UTC", start=start, now=start + timedelta(days=13))
    # Thirteen done days from nothing, half-life thirteen days: exactly one half.
    assert result.score == pytest.approx(0.5)
    long = compute(
        entries=[fact(start + timedelta(days=n)) for n in range(400)],
        schedule=DAILY,
        zones="UTC",
        start=start,
        now=start + timedelta(days=400),
    )
    assert 0.99 < long.score <= 1.0


def test_completion_since_the_last_session_and_rolling_windows() -> None:
    start = datetime(2026, 2, 1, 8, tzinfo=UTC)
    done_days = [0, 1, 2, 3, 10, 12, 13]
    entries = [fact(start + timedelta(days=n)) for n in done_days]
    session = start + timedelta(days=9, hours=8)  # the 10th, 16:00
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones="UTC",
        start=start,
        now=start + timedelta(days=14, hours=1),
        since=session,
        through=date(2026, 2, 20),
    )
    assert result.since is not None
    # The 10th..14th: done on 11th, 13th, 14th; today (15th) still open.
    assert (result.since.done, result.since.expected) == (3, 5)
    assert result.completion_since == pytest.approx(0.6)
    assert (result.last_7.done, result.last_7.expected) == (3, 6)
    assert (result.last_28.done, result.last_28.expected) == (7, 14)
    assert result.days[-1].day == date(2026, 2, 20)
    assert result.days[-1].state is DayState.future


def test_ended_assignment_stops_counting() -> None:
    start = datetime(2026, 2, 1, 8, tzinfo=UTC)
    entries = [fact(start + timedelta(days=n)) for n in range(3)]
    result = compute(
        entries=entries,
        schedule=DAILY,
        zones="UTC",
        start=start,
        end=start + timedelta(days=3, hours=1),
        now=start + timedelta(days=30),
    )
    assert result.last_day == date(2026, 2, 4)
    assert (result.expected, result.done) == (3, 3)
    assert not result.pending
    assert result.last_7.value is None


def test_nothing_expected_gives_none_rates() -> None:
    start = datetime(2026, 2, 1, 8, tzinfo=UTC)
    result = compute(entries=[], schedule=DAILY, zones="UTC", start=start, now=start + timedelta(hours=1))
    assert result.overall.value is None
    assert result.last_7.value is None
    assert result.since is None
    assert result.score == 0.0
    assert result.current_streak == result.longest_streak == 0


def test_a_window_of_recent_entries_gives_the_same_recent_picture() -> None:
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    now = start + timedelta(days=60, hours=2)
    entries = [fact(start + timedelta(days=n)) for n in range(61) if n not in (20, 50)]
    full = compute(entries=entries, schedule=DAILY, zones="UTC", start=start, now=now)
    window_start = now - timedelta(days=28)
    recent = [item for item in entries if item.occurred_at >= window_start]
    windowed = compute(entries=recent, schedule=DAILY, zones="UTC", start=start, now=now, window_start=window_start)
    assert windowed.window_from == date(2026, 2, 2)
    assert windowed.days[0].day == date(2026, 2, 2)
    assert windowed.current_streak == full.current_streak == 10
    assert windowed.last_7 == full.last_7
    assert windowed.last_28 == full.last_28
    assert windowed.longest_streak < full.longest_streak
    weekly = Schedule(frequency=Frequency.weekly)
    full_weekly = compute(entries=entries, schedule=weekly, zones="UTC", start=start, now=now)
    windowed_weekly = compute(
        entries=recent,
        schedule=weekly,
        zones="UTC",
        start=start,
        now=now,
        window_start=window_start,
    )
    assert windowed_weekly.current_streak == min(full_weekly.current_streak, 4)
