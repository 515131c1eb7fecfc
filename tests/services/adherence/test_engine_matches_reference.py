"""The engine (`figures`, and `compute` over entry facts) gives what the plainly written
reference gives, for any schedule, edit history, zones, day boundary and entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Frequency
from app.services.adherence.figures import DayIndex, compute, figures
from app.services.adherence.rules import Adherence, EntryFact, Quality, Schedule, ScheduleChange, ZoneChange
from tests.services.adherence import reference
from tests.services.adherence.test_properties import schedules, sparse_weekdays

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Asia/Kolkata",
    "America/Sao_Paulo",  # clocks changed at midnight (2017-2018): days began twice or not at all
    "Pacific/Apia",  # skipped a whole date in 2011
]
# Around DST changes in both hemispheres, and the dates some zones skipped or repeated.
BASES = [
    datetime(2026, 2, 20, tzinfo=UTC),
    datetime(2026, 9, 15, tzinfo=UTC),
    datetime(2017, 10, 1, tzinfo=UTC),
    datetime(2011, 12, 1, tzinfo=UTC),
]
HORIZON_MINUTES = 60 * 24 * 90

# Boundaries that fall inside repeated or skipped wall-clock hours of some of the zones.
boundaries = st.sampled_from([time(0, 0), time(1, 30), time(1, 45), time(2, 15), time(2, 30), time(3, 0), time(4, 30)])


@st.composite
def scenarios(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    base = draw(st.sampled_from(BASES))
    start = base + timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
    now = start + timedelta(minutes=draw(st.integers(0, HORIZON_MINUTES)))
    span = int((now - start).total_seconds() // 60)
    # Whole minutes (on the hour and half hour, where days begin) and odd microseconds.
    instants = st.builds(
        lambda minute, micro: start + timedelta(minutes=minute, microseconds=micro),
        st.integers(-60 * 24 * 3, span + 60 * 24),
        st.sampled_from([0, 0, 0, 1, -1, 500_000]),
    )
    occurred = draw(st.lists(st.tuples(instants, st.booleans()), max_size=120))
    first_zone = draw(st.sampled_from(ZONES))
    moves = draw(st.lists(st.tuples(st.integers(0, max(span, 1)), st.sampled_from(ZONES)), max_size=3))
    zones = [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), first_zone)]
    zones += [ZoneChange(start + timedelta(minutes=minute, seconds=7), zone) for minute, zone in moves]
    since = start + timedelta(minutes=draw(st.integers(-60 * 24 * 200, span))) if draw(st.booleans()) else None
    window_start = start + timedelta(minutes=draw(st.integers(0, max(span, 1)))) if draw(st.booleans()) else None
    if window_start is not None:
        occurred = [(at, nothing) for at, nothing in occurred if at >= window_start]
    end = start + timedelta(minutes=draw(st.integers(0, span + 60 * 24))) if draw(st.booleans()) else None
    # The index may cover less than every instant asked about: those fall back to DayClock.
    index_from = (window_start or start) + timedelta(hours=draw(st.integers(-48, 48)))
    index_to = now + timedelta(hours=draw(st.integers(-48, 48)))
    # Edits: until each instant the record followed other rules (or was stopped).
    edits = draw(
        st.lists(st.tuples(st.integers(-60 * 24, span + 60 * 24), st.one_of(st.none(), schedules)), max_size=3)
    )
    history = tuple(ScheduleChange(start + timedelta(minutes=minute), rules) for minute, rules in edits)
    through = (now + timedelta(days=draw(st.integers(0, 40)))).date() if draw(st.booleans()) else None
    return {
        "occurred": occurred,
        "schedule": draw(schedules),
        "zones": zones if draw(st.booleans()) else zones[:1],
        "boundary": draw(boundaries),
        "start": start,
        "now": now,
        "end": end,
        "since": since,
        "window_start": window_start,
        "index_span": (index_from, index_to),
        "history": history if draw(st.booleans()) else (),
        "through": through,
    }


def _both(scenario: dict) -> tuple[Adherence, Adherence]:  # type: ignore[type-arg]
    """The reference and the engine on the same scenario; the engine both ways (from entry facts,
    and from epoch times over an index that may not cover every instant), which must agree."""
    common = {
        "schedule": scenario["schedule"],
        "start": scenario["start"],
        "now": scenario["now"],
        "end": scenario["end"],
        "since": scenario["since"],
        "window_start": scenario["window_start"],
        "history": scenario.get("history", ()),
        "through": scenario.get("through"),
    }
    facts = [
        EntryFact(
            at,
            at + timedelta(minutes=at.minute * 7 % 150),  # within the hour of the event, or not
            nothing,
            # Some prompted by a reminder, within the hour before being logged or not.
            prompted_at=None if at.minute % 3 else at + timedelta(minutes=at.minute % 90),
            complete=(None, True, False)[at.minute % 3],
        )
        for at, nothing in scenario["occurred"]
    ]
    expected = reference.compute(entries=facts, zones=scenario["zones"], boundary=scenario["boundary"], **common)
    engine = compute(entries=facts, zones=scenario["zones"], boundary=scenario["boundary"], **common)
    assert engine == expected
    index = DayIndex(scenario["zones"], scenario["boundary"], *scenario["index_span"])
    light = figures(
        times=sorted(at.timestamp() for at, _nothing in scenario["occurred"]),
        nothing=sorted(at.timestamp() for at, nothing in scenario["occurred"] if nothing),
        days=index,
        with_days=True,
        quality=Quality.of(facts),
        **common,
    )
    return replace(expected, delays=[], backfilled=0, median_delay=None), light


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_engine_equals_the_reference(scenario: dict) -> None:  # type: ignore[type-arg]
    full, light = _both(scenario)
    assert light == full


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    boundary=boundaries,
    base=st.sampled_from(BASES),
    history=st.lists(st.tuples(st.integers(0, 60 * 24 * 120), st.sampled_from(ZONES)), max_size=2),
)
def test_day_index_agrees_with_the_day_clock_at_every_day_start(zone, boundary, base, history) -> None:  # type: ignore[no-untyped-def]
    """Every instant where a local day begins, a microsecond either side, and each hour."""
    zones = [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), zone)]
    zones += [ZoneChange(base + timedelta(minutes=minute), name) for minute, name in history]
    stop = base + timedelta(days=120)
    index = DayIndex(zones, boundary, base, stop)
    probes = [base + timedelta(minutes=30 * step) for step in range(120 * 48)]
    probes += [datetime.fromtimestamp(at, UTC) for at in index.instants]
    tiny = timedelta(microseconds=1)
    for at in list(probes):
        probes += [at - tiny, at + tiny, at - timedelta(seconds=1)]
    for at in probes:
        assert index.ordinal(at.timestamp()) == index.clock.day_of(at).toordinal(), at


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    boundary=boundaries,
    base=st.sampled_from(BASES),
    history=st.lists(st.tuples(st.integers(0, 60 * 24 * 40), st.sampled_from(ZONES)), max_size=2),
    minutes=st.lists(st.integers(-60 * 24 * 5, 60 * 24 * 45), max_size=60),
    span=st.tuples(st.integers(-4, 40), st.integers(-4, 40)),
)
def test_day_counts_are_the_entries_of_each_day(zone, boundary, base, history, minutes, span) -> None:  # type: ignore[no-untyped-def]
    """Counted by bisections at the days' starts, as the day clock would file each one (some outside the index)."""
    zones = [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), zone)]
    zones += [ZoneChange(base + timedelta(minutes=minute, seconds=7), name) for minute, name in history]
    index = DayIndex(zones, boundary, base, base + timedelta(days=35))
    instants = sorted(base + timedelta(minutes=minute, microseconds=minute % 3 - 1) for minute in minutes)
    first_day = index.clock.day_of(base).toordinal()
    first, last = first_day + span[0], first_day + span[1]
    expected = [0] * max(0, last - first + 1)
    for instant in instants:
        day = index.clock.day_of(instant).toordinal()
        if first <= day <= last:
            expected[day - first] += 1
    assert index.day_counts([at.timestamp() for at in instants], first, last) == expected


def test_named_cases_around_dst_with_entries_on_day_starts() -> None:
    """New York's fall-back hour with a 01:30 boundary: 01:30 comes twice, the day starts once."""
    zones = [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), "America/New_York")]
    start = datetime(2026, 10, 20, tzinfo=UTC)
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    first_1_30 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_1_30 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    tiny = timedelta(microseconds=1)
    occurred = [(at, False) for at in (first_1_30 - tiny, first_1_30, second_1_30 - tiny, second_1_30)]
    for schedule in (Schedule(), Schedule(frequency=Frequency.times_per_day, times_per_day=2)):
        scenario = {
            "occurred": occurred,
            "schedule": schedule,
            "zones": zones,
            "boundary": time(1, 30),
            "start": start,
            "now": now,
            "end": None,
            "since": datetime(2026, 10, 30, tzinfo=UTC),
            "window_start": None,
            "index_span": (start, now),
        }
        full, light = _both(scenario)
        assert light == full


def test_extra_days_and_records_kept_as_they_happen_agree() -> None:
    """Set for Mon/Wed/Fri and done on Tue, Thu and Fri; the same entries kept as they happen."""
    monday = datetime(2026, 6, 1, 8, tzinfo=UTC)
    occurred = [(monday + timedelta(days=n, hours=10), False) for n in (1, 3, 4)]
    occurred.append((monday + timedelta(days=5, hours=9), True))
    for schedule in (
        Schedule(frequency=Frequency.weekdays, weekdays=(1, 3, 5)),
        Schedule(frequency=Frequency.as_it_happens),
    ):
        full, light = _both(
            {
                "occurred": occurred,
                "schedule": schedule,
                "zones": [ZoneChange(datetime(2000, 1, 1, tzinfo=UTC), "Europe/Madrid")],
                "boundary": time(0, 0),
                "start": monday,
                "now": monday + timedelta(days=6),
                "end": None,
                "since": monday + timedelta(days=2),
                "window_start": None,
                "index_span": (monday, monday + timedelta(days=6)),
            }
        )
        assert light == full
        assert light.happened_7.entries == 3 and light.happened_7.nothing == 1
        if schedule.as_it_happens:
            assert (light.expected, light.extra) == (0, 0)
        else:
            assert (light.done, light.expected, light.extra) == (1, 2, 2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), sparse_weekdays)
def test_days_done_extra_counted_by_weekday_as_the_reference_does(scenario: dict, schedule: Schedule) -> None:  # type: ignore[type-arg]
    """A few chosen weekdays and no "nothing to report": the days done extra are counted by weekday."""
    scenario = {**scenario, "schedule": schedule, "occurred": [(at, False) for at, _nothing in scenario["occurred"]]}
    full, light = _both(scenario)
    assert light == full
