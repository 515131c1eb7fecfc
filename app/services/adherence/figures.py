"""A glance: what a caseload row shows of `adherence.compute`, over a bounded window, for hundreds of clients.

The same rules as the engine, on day ordinals instead of dates: a `DayIndex` lists
where each of the client's local days begins (epoch seconds), so that a record's
entries per day are bisections of its sorted entry times at those instants, done by
the standard library, with no datetime and no time-zone conversion per entry; and
the occasions are lists worked through by comprehensions rather than objects.
tests/services/test_adherence_fast.py holds `glance` equal to `compute` for any
schedule, zones, boundary and entries.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.models.assignment import Frequency
from app.services.adherence.rules import (
    ALL_WEEKDAYS,
    Adherence,
    DayClock,
    Rate,
    Schedule,
    Tally,
    ZoneHistory,
    week_windows,
)

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


def _add_day_starts(zone: str, shift: int, lo: float, hi: float, instants: list[float], days: list[int]) -> None:
    """Append where each local day begins in [lo, hi) in one zone (days counted from 1970-01-01).

    Within a stretch of one UTC offset, a day begins where the wall clock passes the
    boundary (`shift` seconds after midnight); where the offset changes, the day is read
    anew, and goes on if it is the same one.
    """
    if hi <= lo:
        return
    periods = _offset_periods(zone, math.floor(lo), math.ceil(hi))
    for number, (period_lo, offset) in enumerate(periods):
        begins: float = max(period_lo, lo)
        ends: float = min(periods[number + 1][0], hi) if number + 1 < len(periods) else hi
        if ends <= begins:
            continue
        day = int((begins + offset - shift) // _SECONDS_PER_DAY)
        if not days or days[-1] != day:
            instants.append(begins)
            days.append(day)
        following = (day + 1) * _SECONDS_PER_DAY + shift - offset
        while following < ends:
            day += 1
            instants.append(following)
            days.append(day)
            following += _SECONDS_PER_DAY


@functools.lru_cache(maxsize=256)
def _day_starts(zone: str, shift: int, lo: int, hi: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Where each day begins in [lo, hi) for a client who never moved, as ordinals: cached, as a
    caseload's clients share a few zones and boundaries and, rounded to whole days, a window."""
    instants: list[float] = []
    days: list[int] = []
    _add_day_starts(zone, shift, lo, hi, instants, days)
    return tuple(instants), tuple(day + _UNIX_DAY_ZERO for day in days)


class DayIndex:
    """A client's local days over a span, as the instants (epoch seconds) where each begins.

    Built once per client and span from zoneinfo, following the zone history and the day
    boundary like `DayClock`; then an instant's day is one bisection, with no time-zone
    conversion per entry. Where the zone changes, the day is read anew (as where clocks
    fall back over the boundary, which steps back into the previous day, as
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
        changes = clock.changes
        if not self.multi_zone:
            instants, days = _day_starts(changes[0].timezone, shift, lo, hi)
        else:
            starts: list[float] = []
            numbers: list[int] = []
            for index, change in enumerate(changes):
                seg_lo = lo if index == 0 else max(lo, change.effective_from.timestamp())
                seg_hi = hi if index + 1 == len(changes) else min(hi, changes[index + 1].effective_from.timestamp())
                _add_day_starts(change.timezone, shift, seg_lo, seg_hi, starts, numbers)
            instants, days = tuple(starts), tuple(day + _UNIX_DAY_ZERO for day in numbers)
        self.instants = instants
        self.days = days  # proleptic ordinals, as date.toordinal
        self._position = functools.partial(bisect.bisect_right, instants)
        # Each day begins once, the day after the one before (no date skipped or lived twice).
        self.consecutive = all(later - earlier == 1 for earlier, later in itertools.pairwise(days))

    def ordinal(self, epoch: float) -> int:
        """The local day (as an ordinal) of an instant given in epoch seconds."""
        if self.lo <= epoch < self.hi:
            return self.days[bisect.bisect_right(self.instants, epoch) - 1]
        return self.clock.day_of(datetime.fromtimestamp(epoch, UTC)).toordinal()

    def ordinal_of(self, instant: datetime) -> int:
        epoch = instant.timestamp()
        if self.lo <= epoch < self.hi:
            return self.days[bisect.bisect_right(self.instants, epoch) - 1]
        return self.clock.day_of(instant).toordinal()

    def per_day(self, epochs: Sequence[float]) -> dict[int, int]:
        """How many of these instants fall on each local day (ordinal), as `ordinal` tells them apart.

        The bisections run through `map` and `Counter`, in C; the few instants outside the
        span take the slow way.
        """
        out: dict[int, int] = {}
        if not epochs:
            return out
        lo, hi = self.lo, self.hi
        inside: Sequence[float] = epochs
        if min(epochs) < lo or max(epochs) >= hi:
            inside = [epoch for epoch in epochs if lo <= epoch < hi]
            for epoch in epochs:
                if not lo <= epoch < hi:
                    day = self.ordinal(epoch)
                    out[day] = out.get(day, 0) + 1
        days = self.days
        for position, count in Counter(map(self._position, inside)).items():
            day = days[position - 1]
            out[day] = out.get(day, 0) + count
        return out

    def day_counts(self, epochs: Sequence[float], first: int, last: int) -> list[int]:
        """How many of these instants (sorted) fall on each local day from `first` to `last` (ordinals).

        Where the index has each of those days begin once, a day's count is the difference of
        two bisections at the instants it begins and ends: no step per instant (but for the
        few outside the span, which take the slow way).
        """
        if last < first:
            return []
        days = self.days
        if not (self.consecutive and days and days[0] <= first and last + 1 - days[0] < len(days)):
            counts = self.per_day(epochs)
            return [counts.get(day, 0) for day in range(first, last + 1)]
        instants = self.instants[first - days[0] : last + 2 - days[0]]
        cuts = list(map(functools.partial(bisect.bisect_left, epochs), instants))
        out = list(map(operator.sub, cuts[1:], cuts))
        inside_from, inside_to = bisect.bisect_left(epochs, self.lo), bisect.bisect_left(epochs, self.hi)
        for epoch in itertools.chain(epochs[:inside_from], epochs[inside_to:]):
            day = self.ordinal(epoch)
            if first <= day <= last:
                out[day - first] += 1
        return out

    def lived(self, start: datetime, stop: datetime, first: int, last: int) -> range | set[int]:
        """As `DayClock.lived_days`, as ordinals (`first`, `last`: the days of start and stop)."""
        if stop < start:
            return range(0)
        if not self.multi_zone:
            return range(first, last + 1)
        return {day.toordinal() for day in self.clock.lived_days(start, stop)}


def glance(
    *,
    times: Sequence[float],
    nothing: Sequence[float] = (),
    schedule: Schedule,
    days: DayIndex,
    start: datetime,
    now: datetime,
    end: datetime | None = None,
    since: datetime | None = None,
    window_start: datetime | None = None,
) -> Adherence:
    """What `compute(..., with_delays=False, with_days=False)` gives, for a caseload row.

    `times` are when the entries happened, in epoch seconds, sorted, and `nothing` those of
    the ones that were "nothing to report" (each also in `times`), sorted; `days` indexes
    the client's local days over the window. Same rules as `compute`, on day ordinals.
    """
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

    # Entries per day of [from_day, last_day]: those before the window or after the end do not count.
    per_day = days.day_counts(times, from_day, last_day)
    nothing_per_day = days.day_counts(nothing, from_day, last_day) if nothing else []

    weekly = schedule.frequency is Frequency.weekly
    target = schedule.target
    # Entries and check-ins over [lo, today] (within the days read): differences of running sums
    # of the day counts.
    tally_to = min(today, last_day)
    upto = tally_to - from_day + 1
    running = list(itertools.accumulate(per_day, initial=0))
    running_nothing = list(itertools.accumulate(nothing_per_day, initial=0)) if nothing_per_day else None

    def tally(lo: int) -> Tally:
        first = max(lo, from_day) - from_day
        if upto <= first:
            return Tally(0, 0, 0)
        if running_nothing is None:
            return Tally(running[upto] - running[first], 0, upto - first)
        nothing_ = running_nothing[upto] - running_nothing[first]
        return Tally(running[upto] - running[first] - nothing_, nothing_, upto - first)

    happened, happened_7, happened_28 = tally(from_day), tally(today - 6), tally(today - 27)
    happened_since = None if since is None else tally(days.ordinal_of(since))
    if schedule.as_it_happens:
        # Nothing is scheduled: no occasions, so nothing expected, missed or pending.
        nil = Rate(0, 0)
        return Adherence(
            today=date.fromordinal(today),
            first_day=date.fromordinal(first_day),
            last_day=date.fromordinal(last_day),
            window_from=None if window_from is None else date.fromordinal(window_from),
            days=[],
            expected=0,
            done=0,
            nothing_to_report=0,
            missed=0,
            pending=False,
            current_streak=0,
            longest_streak=0,
            overall=nil,
            since=None if since is None else nil,
            last_7=nil,
            last_28=nil,
            score=0.0,
            last_entry_at=datetime.fromtimestamp(max(times), UTC) if times else None,
            as_it_happens=True,
            happened=happened,
            happened_7=happened_7,
            happened_28=happened_28,
            happened_since=happened_since,
        )
    # The occasions in day order, as `_occasions` finds them: due day, entries, "nothing to report" entries.
    # Every occasion day is on or after from_day.
    span = last_day - first_day
    skip = max(0, from_day - first_day)
    dues: list[int]
    entries: list[int]
    nothings: list[int]
    short_first = False  # a weekly record's first week ends on its day sooner than in seven days
    if weekly:
        dues, entries, nothings = [], [], []
        # Ordinal 1 (1 January of year 1) was a Monday.
        for opens, closes in week_windows(
            span=span, skip=skip, first_weekday=(first_day - 1) % 7 + 1, due_weekday=schedule.due_weekday
        ):
            window = range(first_day + opens, min(first_day + closes + 1, last_day + 1))
            if any(day in lived for day in window):
                if not dues:
                    short_first = closes - opens < 6
                dues.append(first_day + closes)
                entries.append(sum(per_day[day - from_day] for day in window))
                nothings.append(sum(nothing_per_day[day - from_day] for day in window) if nothing_per_day else 0)
    else:
        chosen = frozenset(schedule.weekdays if schedule.frequency is Frequency.weekdays else ALL_WEEKDAYS)
        every_day = len(chosen) == 7
        begin = first_day + skip
        if every_day and isinstance(lived, range):
            # Every day of a stretch: slices of the day counts.
            low, high = max(begin, lived.start), min(last_day + 1, lived.stop)
            dues = list(range(low, high))
            entries = per_day[low - from_day : high - from_day]
            nothings = nothing_per_day[low - from_day : high - from_day] if nothing_per_day else [0] * len(dues)
        else:
            # Ordinal 1 (1 January of year 1) was a Monday.
            dues = [
                day for day in range(begin, last_day + 1) if day in lived and (every_day or (day - 1) % 7 + 1 in chosen)
            ]
            entries = [per_day[day - from_day] for day in dues]
            nothings = [nothing_per_day[day - from_day] for day in dues] if nothing_per_day else [0] * len(dues)
    # Days with entries (not only "nothing to report") the schedule did not ask for: done extra.
    extra = 0
    if not weekly and len(dues) < len(per_day):
        if (
            schedule.frequency is Frequency.weekdays
            and isinstance(lived, range)
            and lived.start <= from_day
            and last_day < lived.stop
            and not nothing_per_day
        ):
            # Every day lived: the days not asked for are the other weekdays, every seventh count.
            first_weekday = (from_day - 1) % 7 + 1
            others = [(day - first_weekday) % 7 for day in range(1, 8) if day not in chosen]
            extra = sum(len(per_day[offset::7]) - per_day[offset::7].count(0) for offset in others)
        else:
            scheduled_days = set(dues)
            extra = sum(
                1
                for offset, count in enumerate(per_day)
                if count
                and count > (nothing_per_day[offset] if nothing_per_day else 0)
                and from_day + offset not in scheduled_days
            )
    if nothing_per_day:
        satisfied = [nothing > 0 or count >= target for count, nothing in zip(entries, nothings, strict=True)]
    else:
        satisfied = [count >= target for count in entries]

    # Only the last occasion can be due on the last day or later: undone, it is still open (pending),
    # neither done nor missed; and an undone first day of a daily record is a bonus not taken.
    pending = False
    if dues and not satisfied[-1] and dues[-1] >= last_day:
        pending = last_day == today
        del dues[-1], entries[-1], nothings[-1], satisfied[-1]
    if dues and not satisfied[0] and (short_first if weekly else dues[0] == first_day):
        del dues[0], entries[0], nothings[0], satisfied[0]
    # What is left counts: lists, comprehensions and bytes do in C what `compute` loops over.
    done = sum(satisfied)
    runs = bytes(satisfied).split(b"\x00")  # the streaks of done occasions
    nothing_only = 0
    if nothing_per_day:
        nothing_only = sum(
            1 for count, nothing in zip(entries, nothings, strict=True) if nothing and count - nothing < target
        )
    multiplier = schedule.multiplier
    weight = 1.0 - multiplier
    score = 0.0
    for term in [
        weight if done_ else (count / target) * weight for done_, count in zip(satisfied, entries, strict=True)
    ]:
        score = score * multiplier + term
    score = min(1.0, max(0.0, score))

    # A week done early counts on the last day; rates over [from_day, today] are slices of the occasions.
    if dues and dues[-1] > last_day:
        dues[-1] = last_day
    done_before = [0, *itertools.accumulate(satisfied)]
    through_today = bisect.bisect_right(dues, today)

    def rate(from_day: int) -> Rate:
        first = min(bisect.bisect_left(dues, from_day), through_today)
        return Rate(done=done_before[through_today] - done_before[first], expected=through_today - first)

    return Adherence(
        today=date.fromordinal(today),
        first_day=date.fromordinal(first_day),
        last_day=date.fromordinal(last_day),
        window_from=None if window_from is None else date.fromordinal(window_from),
        days=[],
        expected=len(dues),
        done=done,
        nothing_to_report=nothing_only,
        missed=len(dues) - done,
        pending=pending,
        current_streak=len(runs[-1]),
        longest_streak=max(map(len, runs)),
        overall=Rate(done=done, expected=len(dues)),
        since=None if since is None else rate(days.ordinal_of(since)),
        last_7=rate(today - 6),
        last_28=rate(today - 27),
        score=score,
        last_entry_at=datetime.fromtimestamp(max(times), UTC) if times else None,
        extra=extra,
        happened=happened,
        happened_7=happened_7,
        happened_28=happened_28,
        happened_since=happened_since,
    )
