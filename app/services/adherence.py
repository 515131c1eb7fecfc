"""The adherence engine: what was expected of a client, what they did, and how steadily.

Pure functions over plain data: no web code, no database. Callers turn rows into
`EntryFact`s and a `Schedule`, and get back an `Adherence` per assignment.

Vocabulary
----------
An *occasion* is one thing the schedule asks for: a day for daily and
N-times-a-day records, a chosen weekday for weekday records, a seven-day window
(anchored on the assignment's first day) for weekly ones. Each occasion has a
*due day* (the day itself, or the window's last day).

- The occasion still open (due today or later, not yet done) is *pending*: it is
  neither done nor missed, so an unfinished today never breaks a streak.
- The first day of a daily or weekday record is a bonus: done, it counts; not
  done, it is not held against anyone (the task may have been given at night).
- "Nothing to report" fulfils an occasion and is also counted apart.
- Days are the client's local days (their zone at that instant, and their day
  boundary), so DST and moving zones never shift an entry into the wrong day.
  A date the client never lived (flying east over the date line) is not expected.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app.models.assignment import Frequency
from app.services.days import local_day

BACKFILL_AFTER = timedelta(hours=12)
_TINY = timedelta(microseconds=1)
ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


class DayState(StrEnum):
    expected = "expected"  # due today and still open
    done = "done"
    nothing_to_report = "nothing_to_report"
    partial = "partial"  # some, but fewer than the N a day asked for (counted as missed)
    missed = "missed"
    not_expected = "not_expected"
    future = "future"


DONE_STATES = frozenset({DayState.done, DayState.nothing_to_report})


@dataclass(frozen=True, slots=True)
class EntryFact:
    occurred_at: datetime
    logged_at: datetime
    nothing_to_report: bool = False
    prompted_at: datetime | None = None
    key: Hashable | None = None


@dataclass(frozen=True)
class Schedule:
    frequency: Frequency = Frequency.daily
    times_per_day: int = 1
    weekdays: tuple[int, ...] = ALL_WEEKDAYS

    @classmethod
    def of(cls, assignment: Any) -> Schedule:
        """From anything shaped like an Assignment (frequency, times_per_day, weekdays)."""
        return cls(
            frequency=Frequency(assignment.frequency),
            times_per_day=max(1, int(assignment.times_per_day or 1)),
            weekdays=tuple(sorted(set(assignment.weekdays or ALL_WEEKDAYS))),
        )

    @property
    def target(self) -> int:
        """Entries one occasion asks for."""
        return self.times_per_day if self.frequency is Frequency.times_per_day else 1

    @property
    def days_per_repetition(self) -> float:
        if self.frequency is Frequency.weekly:
            return 7.0
        if self.frequency is Frequency.weekdays:
            return 7.0 / max(1, len(self.weekdays))
        return 1.0

    @property
    def multiplier(self) -> float:
        """Loop Habit Tracker's smoothing factor: m = 0.5 ** (sqrt(f) / 13)."""
        return float(0.5 ** (math.sqrt(self.days_per_repetition) / 13.0))


@dataclass(frozen=True)
class ZoneChange:
    """From this instant on, the client lives in `timezone`."""

    effective_from: datetime
    timezone: str


ZoneHistory = Sequence[ZoneChange]


@dataclass(frozen=True)
class Rate:
    done: int
    expected: int

    @property
    def value(self) -> float | None:
        """In [0, 1]; None when nothing was expected."""
        if self.expected <= 0:
            return None
        return min(1.0, self.done / self.expected)


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    state: DayState
    count: int
    expected: bool  # the schedule asked for something on (or by) this day


@dataclass(frozen=True)
class EntryDelay:
    key: Hashable | None
    occurred_at: datetime
    logged_at: datetime
    delay: timedelta  # logged - occurred
    prompt_delay: timedelta | None  # logged - the reminder that prompted it
    backfilled: bool


@dataclass(frozen=True)
class Adherence:
    today: date
    first_day: date
    last_day: date
    window_from: date | None  # set when only entries from this day on were considered
    days: list[Day]
    expected: int
    done: int  # includes nothing-to-report
    nothing_to_report: int
    missed: int
    pending: bool  # today's (or this week's) occasion is still open
    current_streak: int
    longest_streak: int
    overall: Rate
    since: Rate | None
    last_7: Rate
    last_28: Rate
    score: float
    delays: list[EntryDelay] = field(default_factory=list)
    backfilled: int = 0
    median_delay: timedelta | None = None
    last_entry_at: datetime | None = None

    @property
    def completion(self) -> float | None:
        return self.overall.value

    @property
    def completion_since(self) -> float | None:
        return self.since.value if self.since is not None else None

    @property
    def completion_7d(self) -> float | None:
        return self.last_7.value

    @property
    def completion_28d(self) -> float | None:
        return self.last_28.value

    def day_map(self) -> dict[date, Day]:
        return {item.day: item for item in self.days}


# -- zones and days ---------------------------------------------------------------------------


def normalize_zones(zones: ZoneHistory | str) -> list[ZoneChange]:
    if isinstance(zones, str):
        return [ZoneChange(datetime.min.replace(tzinfo=UTC), zones)]
    if not zones:
        return [ZoneChange(datetime.min.replace(tzinfo=UTC), "UTC")]
    return sorted(zones, key=lambda change: change.effective_from)


class DayClock:
    """Maps instants to the client's local days, following their zone history."""

    def __init__(self, zones: ZoneHistory | str, boundary: time = time(0, 0)) -> None:
        self.changes = normalize_zones(zones)
        self.starts = [change.effective_from for change in self.changes]
        self.boundary = boundary
        self._infos = [ZoneInfo(change.timezone) for change in self.changes]
        self._shift = timedelta(hours=boundary.hour, minutes=boundary.minute)

    def zone_at(self, instant: datetime) -> str:
        # Before the first recorded change, the first known zone applies.
        index = bisect.bisect_right(self.starts, instant) - 1
        return self.changes[max(index, 0)].timezone

    def day_of(self, instant: datetime) -> date:
        """Same as days.local_day in the zone of that instant (inlined: it runs once per entry)."""
        if len(self._infos) == 1:
            zone = self._infos[0]
        else:
            zone = self._infos[max(bisect.bisect_right(self.starts, instant) - 1, 0)]
        return (instant.astimezone(zone).replace(tzinfo=None) - self._shift).date()

    def lived_days(self, start: datetime, stop: datetime) -> set[date]:
        """Every local day the client lived through in [start, stop]."""
        days: set[date] = set()
        if stop < start:
            return days
        if len(self.changes) == 1:
            first, last = self.day_of(start), self.day_of(stop)
            return {first + timedelta(days=offset) for offset in range((last - first).days + 1)}
        spans: list[tuple[datetime, datetime, str]] = []
        for index, change in enumerate(self.changes):
            span_start = start if index == 0 else max(change.effective_from, start)
            has_next = index + 1 < len(self.changes)
            span_end = min(self.changes[index + 1].effective_from, stop) if has_next else stop
            if has_next and span_end > span_start:
                span_end -= _TINY  # the next zone takes over at its own instant
            if span_end >= span_start:
                spans.append((span_start, span_end, change.timezone))
        for span_start, span_end, zone in spans:
            first = local_day(span_start, timezone=zone, boundary=self.boundary)
            last = local_day(span_end, timezone=zone, boundary=self.boundary)
            for offset in range((last - first).days + 1):
                days.add(first + timedelta(days=offset))
        return days


# -- occasions ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Occasion:
    due: date
    days: list[date]
    target: int
    count: int = 0
    real: int = 0  # entries that are not "nothing to report"
    nothing: int = 0
    counted: bool = True  # False: pending, or the first-day bonus not taken

    @property
    def satisfied(self) -> bool:
        return self.nothing > 0 or self.count >= self.target

    @property
    def nothing_only(self) -> bool:
        return self.satisfied and self.real < self.target and self.nothing > 0

    @property
    def value(self) -> float:
        if self.satisfied:
            return 1.0
        return min(1.0, self.count / self.target)


def _occasions(
    schedule: Schedule, *, first_day: date, last_day: date, lived: set[date], from_day: date
) -> list[_Occasion]:
    """Occasions from the first day on; with a later `from_day`, only those wholly after it."""
    out: list[_Occasion] = []
    span = (last_day - first_day).days
    skip = max(0, (from_day - first_day).days)
    if span < 0:
        return out
    if schedule.frequency is Frequency.weekly:
        for week_start in range(-(-skip // 7) * 7, span + 1, 7):
            window = [first_day + timedelta(days=week_start + offset) for offset in range(7)]
            if any(day in lived for day in window if day <= last_day):
                out.append(_Occasion(due=window[-1], days=window, target=1))
        return out
    chosen = schedule.weekdays if schedule.frequency is Frequency.weekdays else ALL_WEEKDAYS
    weekdays = set(chosen)
    for offset in range(skip, span + 1):
        day = first_day + timedelta(days=offset)
        if day in lived and day.isoweekday() in weekdays:
            out.append(_Occasion(due=day, days=[day], target=schedule.target))
    return out


# -- the computation ----------------------------------------------------------------------------


def compute(
    *,
    entries: Iterable[EntryFact],
    schedule: Schedule,
    zones: ZoneHistory | str,
    boundary: time = time(0, 0),
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    since: datetime | None = None,
    through: date | None = None,
    window_start: datetime | None = None,
    backfill_after: timedelta = BACKFILL_AFTER,
    with_delays: bool = True,
    with_days: bool = True,
) -> Adherence:
    """Adherence of one assignment from `start` (its creation) to `now` (or `end`, if it ended).

    `since` (the last session) gives `Adherence.since`; `through` extends the day
    list past today with "future" days (for calendars). With `window_start`, only
    entries from then on were loaded: occasions that began earlier are left out
    (and `Adherence.window_from` says so), so streaks read "at least".
    `with_delays` / `with_days` off leave `delays` / `days` empty (a caseload needs neither).
    """
    facts = list(entries)
    clock = DayClock(zones, boundary)
    today = clock.day_of(now)
    stop = min(now, end) if end is not None else now
    if stop < start:
        stop = start
    first_day = clock.day_of(start)
    last_day = max(first_day, clock.day_of(stop))
    window_from: date | None = None
    if window_start is not None and window_start > start:
        window_from = min(clock.day_of(window_start), last_day)
    from_day = window_from or first_day
    lived = clock.lived_days(max(start, window_start or start), stop)

    occasions = _occasions(schedule, first_day=first_day, last_day=last_day, lived=lived, from_day=from_day)
    by_day: dict[date, _Occasion] = {}
    for occasion in occasions:
        for day in occasion.days:
            by_day[day] = occasion

    counts: dict[date, int] = {}
    nothing_days: dict[date, int] = {}
    for fact in facts:
        day = clock.day_of(fact.occurred_at)
        if day < from_day or day > last_day:
            continue
        counts[day] = counts.get(day, 0) + 1
        if fact.nothing_to_report:
            nothing_days[day] = nothing_days.get(day, 0) + 1
        slot = by_day.get(day)
        if slot is not None:
            slot.count += 1
            if fact.nothing_to_report:
                slot.nothing += 1
            else:
                slot.real += 1

    pending = False
    for occasion in occasions:
        if occasion.satisfied:
            continue
        if occasion.due >= last_day:
            occasion.counted = False
            pending = pending or last_day == today
        elif schedule.frequency is not Frequency.weekly and occasion.due == first_day:
            occasion.counted = False

    counted = [occasion for occasion in occasions if occasion.counted]
    done = sum(1 for occasion in counted if occasion.satisfied)
    nothing = sum(1 for occasion in counted if occasion.nothing_only)

    current = longest = run = 0
    for occasion in counted:
        run = run + 1 if occasion.satisfied else 0
        longest = max(longest, run)
    current = run

    multiplier = schedule.multiplier
    score = 0.0
    for occasion in counted:
        score = score * multiplier + occasion.value * (1.0 - multiplier)
    score = min(1.0, max(0.0, score))

    # A week done early counts in the window where it was done.
    effective = [(min(item.due, last_day), item.satisfied) for item in counted]

    def rate(from_day: date) -> Rate:
        done_ = expected_ = 0
        for day, satisfied in effective:
            if from_day <= day <= today:
                expected_ += 1
                done_ += satisfied
        return Rate(done=done_, expected=expected_)

    since_rate = rate(clock.day_of(since)) if since is not None else None

    days = (
        []
        if not with_days
        else _day_states(
            schedule,
            occasions=occasions,
            counts=counts,
            nothing_days=nothing_days,
            lived=lived,
            first_day=from_day,
            last_day=last_day,
            today=today,
            through=max(through or last_day, last_day),
        )
    )

    delays = (
        []
        if not with_delays
        else [
            EntryDelay(
                key=fact.key,
                occurred_at=fact.occurred_at,
                logged_at=fact.logged_at,
                delay=fact.logged_at - fact.occurred_at,
                prompt_delay=None if fact.prompted_at is None else fact.logged_at - fact.prompted_at,
                backfilled=fact.logged_at - fact.occurred_at >= backfill_after,
            )
            for fact in sorted(facts, key=lambda item: item.occurred_at)
        ]
    )
    positive = sorted(max(item.delay, timedelta(0)) for item in delays)

    return Adherence(
        today=today,
        first_day=first_day,
        last_day=last_day,
        window_from=window_from,
        days=days,
        expected=len(counted),
        done=done,
        nothing_to_report=nothing,
        missed=len(counted) - done,
        pending=pending,
        current_streak=current,
        longest_streak=longest,
        overall=Rate(done=done, expected=len(counted)),
        since=since_rate,
        last_7=rate(today - timedelta(days=6)),
        last_28=rate(today - timedelta(days=27)),
        score=score,
        delays=delays,
        backfilled=sum(1 for item in delays if item.backfilled),
        median_delay=positive[len(positive) // 2] if positive else None,
        last_entry_at=max((fact.occurred_at for fact in facts), default=None),
    )


def _day_states(
    schedule: Schedule,
    *,
    occasions: list[_Occasion],
    counts: dict[date, int],
    nothing_days: dict[date, int],
    lived: set[date],
    first_day: date,
    last_day: date,
    today: date,
    through: date,
) -> list[Day]:
    by_day: dict[date, _Occasion] = {day: item for item in occasions for day in item.days}
    weekly = schedule.frequency is Frequency.weekly
    out: list[Day] = []
    for offset in range((through - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        count = counts.get(day, 0)
        occasion = by_day.get(day)
        if day > last_day:
            state = DayState.future if day > today else DayState.not_expected
            out.append(Day(day, state, 0, False))
            continue
        if day not in lived and count == 0:
            out.append(Day(day, DayState.not_expected, 0, False))
            continue
        if count:
            only_nothing = nothing_days.get(day, 0) == count
            if occasion is not None and not weekly and not occasion.satisfied:
                state = (
                    DayState.partial
                    if occasion.counted
                    else (DayState.expected if day == today else DayState.not_expected)
                )
            else:
                state = DayState.nothing_to_report if only_nothing else DayState.done
            due = occasion is not None and (not weekly or day == occasion.due)
            out.append(Day(day, state, count, due))
            continue
        if occasion is None:
            out.append(Day(day, DayState.not_expected, 0, False))
            continue
        if weekly:
            if occasion.satisfied:
                state = DayState.not_expected
            elif not occasion.counted:
                state = DayState.expected if day == today else DayState.not_expected
            else:
                state = DayState.missed if day == occasion.due else DayState.not_expected
            out.append(Day(day, state, 0, day == occasion.due))
            continue
        open_state = DayState.expected if day == today else DayState.not_expected
        out.append(Day(day, DayState.missed if occasion.counted else open_state, 0, True))
    return out


# -- a glance: what a caseload row shows, over a bounded window ------------------------------

_UNIX_DAY_ZERO = date(1970, 1, 1).toordinal()
_SECONDS_PER_DAY = 86400
# Offsets are sampled this often to find DST transitions; no zone changes twice within it.
_OFFSET_STEP = 6 * 3600


def _offset_at(zone: ZoneInfo, epoch: float) -> int:
    offset = datetime.fromtimestamp(epoch, zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@functools.lru_cache(maxsize=512)
def _offset_periods(zone_name: str, lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    """(first second, UTC offset) of each stretch of one offset in [lo, hi), from zoneinfo.

    Transitions fall on whole seconds: a bisection between two samples that differ finds
    the first second of the new offset. Cached: a caseload's clients share a few zones
    and, rounded to whole days, a few windows.
    """
    zone = ZoneInfo(zone_name)
    periods = [(lo, _offset_at(zone, lo))]
    at = lo
    while at < hi:
        step_to = min(at + _OFFSET_STEP, hi)
        offset = _offset_at(zone, step_to)
        if offset != periods[-1][1]:
            before, after = at, step_to  # offset(before) is the old one, offset(after) the new
            while after - before > 1:
                middle = (before + after) // 2
                if _offset_at(zone, middle) == periods[-1][1]:
                    before = middle
                else:
                    after = middle
            periods.append((after, offset))
        at = step_to
    return tuple(periods)


class DayIndex:
    """A client's local days over a span, as the instants (epoch seconds) where each begins.

    Built once per client and span from zoneinfo, following the zone history and the day
    boundary like `DayClock`; then an instant's day is one bisection, with no time-zone
    conversion per entry. Within a stretch of one UTC offset, a day begins where the
    wall clock passes the boundary; where the offset or the zone changes, the day is read
    anew (clocks falling back over the boundary step back into the previous day, as
    `DayClock.day_of` says too). Instants outside the span fall back to `DayClock`.
    """

    def __init__(self, zones: ZoneHistory | str, boundary: time, start: datetime, stop: datetime) -> None:
        self.clock = clock = DayClock(zones, boundary)
        self.multi_zone = len(clock.changes) > 1
        # Whole days either side, so that windows a few hours apart share cached offsets.
        lo = (math.floor(start.timestamp()) // _SECONDS_PER_DAY - 1) * _SECONDS_PER_DAY
        hi = (math.ceil(stop.timestamp()) // _SECONDS_PER_DAY + 2) * _SECONDS_PER_DAY
        self.lo, self.hi = lo, hi
        shift = boundary.hour * 3600 + boundary.minute * 60
        instants: list[float] = []
        days: list[int] = []
        changes = clock.changes
        for index, change in enumerate(changes):
            seg_lo: float = lo if index == 0 else max(lo, change.effective_from.timestamp())
            seg_hi: float = hi if index + 1 == len(changes) else min(hi, changes[index + 1].effective_from.timestamp())
            if seg_hi <= seg_lo:
                continue
            periods = _offset_periods(change.timezone, math.floor(seg_lo), math.ceil(seg_hi))
            for number, (period_lo, offset) in enumerate(periods):
                begins: float = max(period_lo, seg_lo)
                ends: float = min(periods[number + 1][0], seg_hi) if number + 1 < len(periods) else seg_hi
                if ends <= begins:
                    continue
                day = int((begins + offset - shift) // _SECONDS_PER_DAY)
                instants.append(begins)
                days.append(day)
                following = (day + 1) * _SECONDS_PER_DAY + shift - offset
                while following < ends:
                    day += 1
                    instants.append(following)
                    days.append(day)
                    following += _SECONDS_PER_DAY
        self.instants = instants
        self.days = [day + _UNIX_DAY_ZERO for day in days]  # proleptic ordinals, as date.toordinal

    def ordinal(self, epoch: float) -> int:
        """The local day (as an ordinal) of an instant given in epoch seconds."""
        if self.lo <= epoch < self.hi:
            return self.days[bisect.bisect_right(self.instants, epoch) - 1]
        return self.clock.day_of(datetime.fromtimestamp(epoch, UTC)).toordinal()

    def ordinal_of(self, instant: datetime) -> int:
        if self.lo <= instant.timestamp() < self.hi:
            return self.ordinal(instant.timestamp())
        return self.clock.day_of(instant).toordinal()

    def lived(self, start: datetime, stop: datetime, first: int, last: int) -> range | set[int]:
        """As `DayClock.lived_days`, as ordinals (`first`, `last`: the days of start and stop)."""
        if stop < start:
            return range(0)
        if not self.multi_zone:
            return range(first, last + 1)
        return {day.toordinal() for day in self.clock.lived_days(start, stop)}


def glance(
    *,
    entries: Iterable[tuple[float, bool]],
    schedule: Schedule,
    days: DayIndex,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    since: datetime | None = None,
    window_start: datetime | None = None,
) -> Adherence:
    """What `compute(..., with_delays=False, with_days=False)` gives, for a caseload row.

    `entries` are (occurred at, in epoch seconds; nothing to report) pairs, and `days`
    indexes the client's local days over the window: counting needs no datetime per
    entry. Same rules as `compute`, on day ordinals; the property tests hold the two equal.
    """
    ordinal = days.ordinal
    today = days.ordinal_of(now)
    stop = min(now, end) if end is not None else now
    if stop < start:
        stop = start
    first_day = days.ordinal_of(start)
    stop_day = days.ordinal_of(stop)
    last_day = max(first_day, stop_day)
    window_from: int | None = None
    if window_start is not None and window_start > start:
        window_from = min(days.ordinal_of(window_start), last_day)
    from_day = first_day if window_from is None else window_from
    lived_from = max(start, window_start or start)
    lived = days.lived(lived_from, stop, days.ordinal_of(lived_from), stop_day)

    counts: dict[int, int] = {}
    nothing_counts: dict[int, int] = {}
    latest: float | None = None
    for occurred, nothing_to_report in entries:
        if latest is None or occurred > latest:
            latest = occurred
        day = ordinal(occurred)
        if day < from_day or day > last_day:
            continue
        counts[day] = counts.get(day, 0) + 1
        if nothing_to_report:
            nothing_counts[day] = nothing_counts.get(day, 0) + 1

    weekly = schedule.frequency is Frequency.weekly
    target = schedule.target
    # Occasions as (due day, entries, of which "nothing to report"), as `_occasions` finds them.
    occasions: list[tuple[int, int, int]] = []
    span = last_day - first_day
    skip = max(0, from_day - first_day)
    if weekly:
        for week_start in range(-(-skip // 7) * 7, span + 1, 7):
            window = range(first_day + week_start, first_day + week_start + 7)
            if any(day in lived for day in window if day <= last_day):
                count = sum(counts.get(day, 0) for day in window)
                nothing = sum(nothing_counts.get(day, 0) for day in window)
                occasions.append((window[-1], count, nothing))
    else:
        chosen = frozenset(schedule.weekdays if schedule.frequency is Frequency.weekdays else ALL_WEEKDAYS)
        every_day = len(chosen) == 7
        for day in range(first_day + skip, last_day + 1):
            # Ordinal 1 (1 January of year 1) was a Monday.
            if day in lived and (every_day or (day - 1) % 7 + 1 in chosen):
                occasions.append((day, counts.get(day, 0), nothing_counts.get(day, 0)))

    pending = False
    counted: list[tuple[int, bool, bool, float]] = []  # due, satisfied, nothing only, value
    for due, count, nothing in occasions:
        satisfied = nothing > 0 or count >= target
        if not satisfied:
            if due >= last_day:
                pending = pending or last_day == today
                continue
            if not weekly and due == first_day:
                continue
        nothing_only = satisfied and count - nothing < target and nothing > 0
        counted.append((due, satisfied, nothing_only, 1.0 if satisfied else min(1.0, count / target)))

    done = nothing_only_count = longest = run = 0
    multiplier = schedule.multiplier
    score = 0.0
    for _due, satisfied, nothing_only, value in counted:
        if satisfied:
            done += 1
            run += 1
            longest = max(longest, run)
        else:
            run = 0
        nothing_only_count += nothing_only
        score = score * multiplier + value * (1.0 - multiplier)
    score = min(1.0, max(0.0, score))

    effective = [(min(due, last_day), satisfied) for due, satisfied, _nothing, _value in counted]

    def rate(from_day: int) -> Rate:
        done_ = expected_ = 0
        for day, satisfied in effective:
            if from_day <= day <= today:
                expected_ += 1
                done_ += satisfied
        return Rate(done=done_, expected=expected_)

    return Adherence(
        today=date.fromordinal(today),
        first_day=date.fromordinal(first_day),
        last_day=date.fromordinal(last_day),
        window_from=None if window_from is None else date.fromordinal(window_from),
        days=[],
        expected=len(counted),
        done=done,
        nothing_to_report=nothing_only_count,
        missed=len(counted) - done,
        pending=pending,
        current_streak=run,
        longest_streak=longest,
        overall=Rate(done=done, expected=len(counted)),
        since=None if since is None else rate(days.ordinal_of(since)),
        last_7=rate(today - 6),
        last_28=rate(today - 27),
        score=score,
        last_entry_at=None if latest is None else datetime.fromtimestamp(latest, UTC),
    )
