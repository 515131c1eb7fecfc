"""Properties of the adherence engine that hold for any entries, schedule and zones."""

from __future__ import annotations

import os
import time as clock
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Frequency
from app.services.adherence.figures import compute
from app.services.adherence.rules import Adherence, DayState, EntryFact, Schedule, ZoneChange

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
]
# Zones without DST: there, moving every instant by 24 hours moves every local day by one.
STEADY_ZONES = ["UTC", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+5"]

BASE = datetime(2026, 1, 1, tzinfo=UTC)
HORIZON_HOURS = 24 * 120

schedules = st.one_of(
    st.just(Schedule()),
    st.builds(
        Schedule,
        frequency=st.just(Frequency.times_per_day),
        times_per_day=st.integers(min_value=1, max_value=4),
    ),
    st.builds(
        Schedule,
        frequency=st.just(Frequency.weekdays),
        weekdays=st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(lambda days: tuple(sorted(days))),
    ),
    st.just(Schedule(frequency=Frequency.weekly)),
    # Once a week on a chosen day: weeks end on it, the first one sooner.
    st.builds(Schedule, frequency=st.just(Frequency.weekly), weekdays=st.integers(1, 7).map(lambda day: (day,))),
    st.just(Schedule(frequency=Frequency.as_it_happens)),
)
# A few chosen weekdays, so that many entries fall on days the schedule does not ask for.
sparse_weekdays = st.builds(
    Schedule,
    frequency=st.just(Frequency.weekdays),
    weekdays=st.lists(st.integers(1, 7), min_size=1, max_size=3, unique=True).map(lambda days: tuple(sorted(days))),
)

boundaries = st.sampled_from([time(0, 0), time(3, 0), time(4, 30)])


@st.composite
def scenarios(draw: st.DrawFn, zone_names: list[str] = ZONES) -> dict:  # type: ignore[type-arg]
    start = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    now = start + timedelta(minutes=draw(st.integers(0, 60 * HORIZON_HOURS)))
    span = int((now - start).total_seconds() // 60)
    entries = draw(
        st.lists(
            st.builds(
                lambda offset, delay, nothing, prompt: EntryFact(
                    occurred_at=start + timedelta(minutes=offset),
                    logged_at=start + timedelta(minutes=offset + delay),
                    nothing_to_report=nothing,
                    prompted_at=None if prompt is None else start + timedelta(minutes=offset - prompt),
                ),
                st.integers(-60 * 24 * 3, span),
                st.integers(0, 60 * 48),
                st.booleans(),
                st.none() | st.integers(0, 600),
            ),
            max_size=80,
        )
    )
    first_zone = draw(st.sampled_from(zone_names))
    moves = draw(
        st.lists(
            st.tuples(st.integers(0, max(span, 1)), st.sampled_from(zone_names)),
            max_size=3,
        )
    )
    zones = [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), first_zone)]
    zones += [ZoneChange(start + timedelta(minutes=minute), zone) for minute, zone in moves]
    since = None
    if draw(st.booleans()):
        since = start + timedelta(minutes=draw(st.integers(0, max(span, 1))))
    window_start = None
    if draw(st.booleans()):
        window_start = start + timedelta(minutes=draw(st.integers(0, max(span, 1))))
        entries = [item for item in entries if item.occurred_at >= window_start]
    return {
        "window_start": window_start,
        "entries": entries,
        "schedule": draw(schedules),
        "zones": zones,
        "boundary": draw(boundaries),
        "start": start,
        "now": now,
        "since": since,
    }


def _rates(result: Adherence) -> list[float | None]:
    return [
        result.overall.value,
        result.last_7.value,
        result.last_28.value,
        result.completion_since,
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_counts_streaks_and_rates_stay_consistent(scenario: dict) -> None:  # type: ignore[type-arg]
    result = compute(**scenario)
    assert 0 <= result.current_streak <= result.longest_streak <= result.done <= result.expected
    assert result.missed == result.expected - result.done
    assert 0 <= result.nothing_to_report <= result.done
    for value in _rates(result):
        assert value is None or 0.0 <= value <= 1.0
    for rate in (result.overall, result.last_7, result.last_28, result.since):
        if rate is not None:
            assert 0 <= rate.done <= rate.expected
    assert 0.0 <= result.score <= 1.0
    assert result.score == 0.0 or result.done > 0 or result.expected > 0
    days = [item.day for item in result.days]
    assert days == sorted(days) and len(days) == len(set(days))
    assert sum(1 for item in result.delays if item.backfilled) == result.backfilled
    assert len(result.delays) == len(scenario["entries"])
    # Done extra: as many days as the calendar shows, none of them due.
    extra_days = [item for item in result.days if item.state is DayState.extra]
    assert result.extra == len(extra_days)
    assert not any(item.expected for item in extra_days)
    # What happened, over nested windows.
    for tally in (result.happened, result.happened_7, result.happened_28, result.happened_since):
        if tally is not None:
            assert tally.entries >= 0 and tally.nothing >= 0 and tally.days >= 0
    assert result.happened_7.entries <= result.happened_28.entries <= result.happened.entries
    assert result.happened_7.days <= 7 and result.happened_28.days <= 28
    counted_days = [item for item in result.days if item.day <= min(result.today, result.last_day)]
    assert result.happened.entries + result.happened.nothing == sum(item.count for item in counted_days)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_records_kept_as_they_happen_expect_nothing_and_miss_nothing(scenario: dict, data: st.DataObject) -> None:  # type: ignore[type-arg]
    result = compute(**{**scenario, "schedule": Schedule(frequency=Frequency.as_it_happens)})
    assert result.as_it_happens
    assert result.expected == result.done == result.missed == result.nothing_to_report == 0
    assert result.current_streak == result.longest_streak == 0 and not result.pending
    assert result.overall.value is None and result.last_7.value is None and result.last_28.value is None
    assert result.extra == 0
    states = {item.state for item in result.days}
    assert not states & {DayState.missed, DayState.partial, DayState.expected, DayState.extra}
    assert not any(item.expected for item in result.days)
    # Every day with an entry shows as done (or as a "nothing to report" check-in).
    for item in result.days:
        assert (item.count > 0) == (item.state in (DayState.done, DayState.nothing_to_report))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(STEADY_ZONES), sparse_weekdays, st.lists(st.integers(0, 24 * 120), min_size=1, max_size=12))
def test_entries_on_unscheduled_days_are_done_extra_and_never_lower_the_rate(
    scenario: dict,  # type: ignore[type-arg]
    schedule: Schedule,
    hours: list[int],
) -> None:
    scenario = {**scenario, "schedule": schedule, "zones": scenario["zones"][:1]}
    before = compute(**scenario)
    zone = ZoneInfo(scenario["zones"][0].timezone)
    shift = timedelta(hours=scenario["boundary"].hour, minutes=scenario["boundary"].minute)
    extra = []
    for hour in hours:
        at = scenario["start"] + timedelta(hours=hour)
        day = (at.astimezone(zone).replace(tzinfo=None) - shift).date()
        if at <= scenario["now"] and day.isoweekday() not in schedule.weekdays:
            extra.append(EntryFact(occurred_at=at, logged_at=at))
    after = compute(**{**scenario, "entries": [*scenario["entries"], *extra]})
    for name in ("expected", "done", "missed", "current_streak", "longest_streak", "pending"):
        assert getattr(after, name) == getattr(before, name), name
    assert _rates(after) == _rates(before)
    assert after.score == before.score
    assert after.extra >= before.extra
    by_day = after.day_map()
    for fact in extra:
        day = (fact.occurred_at.astimezone(zone).replace(tzinfo=None) - shift).date()
        if day in by_day and (scenario["window_start"] is None or fact.occurred_at >= scenario["window_start"]):
            assert by_day[day].state is DayState.extra


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(min_value=1, max_value=60))
def test_more_entries_never_lower_done_days(scenario: dict, extra_offset_hours: int) -> None:  # type: ignore[type-arg]
    before = compute(**scenario)
    extra = EntryFact(
        occurred_at=scenario["start"] + timedelta(hours=extra_offset_hours),
        logged_at=scenario["start"] + timedelta(hours=extra_offset_hours),
    )
    after = compute(**{**scenario, "entries": [*scenario["entries"], extra]})
    assert after.done >= before.done
    assert after.longest_streak >= before.longest_streak


@settings(max_examples=120, deadline=None)
@given(scenarios(STEADY_ZONES), st.integers(min_value=-400, max_value=400))
def test_shifting_everything_by_whole_days_shifts_the_result(scenario: dict, days: int) -> None:  # type: ignore[type-arg]
    schedule: Schedule = scenario["schedule"]
    if schedule.frequency is Frequency.weekdays or schedule.due_weekday is not None:
        days *= 7  # weekdays stay weekdays only when whole weeks pass
    shift = timedelta(days=days)

    def moved(instant: datetime | None) -> datetime | None:
        return None if instant is None else instant + shift

    shifted = {
        **scenario,
        "entries": [
            replace(
                item,
                occurred_at=item.occurred_at + shift,
                logged_at=item.logged_at + shift,
                prompted_at=moved(item.prompted_at),
            )
            for item in scenario["entries"]
        ],
        "zones": [
            scenario["zones"][0],
            *(ZoneChange(change.effective_from + shift, change.timezone) for change in scenario["zones"][1:]),
        ],
        "start": scenario["start"] + shift,
        "now": scenario["now"] + shift,
        "since": moved(scenario["since"]),
        "window_start": moved(scenario["window_start"]),
    }
    original, later = compute(**scenario), compute(**shifted)
    assert later.today == original.today + shift
    assert [(item.day - shift, item.state, item.count) for item in later.days] == [
        (item.day, item.state, item.count) for item in original.days
    ]
    for name in (
        "expected",
        "done",
        "nothing_to_report",
        "missed",
        "current_streak",
        "longest_streak",
        "backfilled",
    ):
        assert getattr(later, name) == getattr(original, name)
    assert _rates(later) == _rates(original)
    assert later.score == pytest.approx(original.score)
    assert [item.delay for item in later.delays] == [item.delay for item in original.delays]


@pytest.fixture
def server_zone() -> Iterator[None]:
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    clock.tzset()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_results_do_not_depend_on_the_server_time_zone(server_zone: None, scenario: dict) -> None:  # type: ignore[type-arg]
    results = []
    for zone in ("UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kathmandu"):
        os.environ["TZ"] = zone
        clock.tzset()
        results.append(compute(**scenario))
    first = results[0]
    for other in results[1:]:
        assert other == first
