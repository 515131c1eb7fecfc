"""The adherence engine: the one place the rules of `rules.py` are worked out.

`figures` serves every reader: the caseload (hundreds of records, no day list), the brief
and the client's pages (a day list for the charts), the pre-session nudge and the API
(through `compute` and `load.ClientRecords`, which loads what it needs in a fixed number of queries).

It works on day ordinals instead of dates: a `DayIndex` lists where each of the client's
local days begins (epoch seconds), so that a record's entries per day are bisections of its
sorted entry times at those instants, done by the standard library, with no datetime and
no time-zone conversion per entry; and the occasions are parallel lists worked through by
comprehensions rather than objects. tests/services/adherence/reference.py keeps the
rules written plainly, one object per occasion, and tests/services/adherence/
test_engine_matches_reference.py holds the engine equal to it for any schedule, edits,
zones, boundary and entries.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.models.assignment import Frequency
from app.models.standing import DayState
from app.services.adherence.rules import (
    ALL_WEEKDAYS,
    BACKFILL_AFTER,
    Adherence,
    Day,
    DayClock,
    EntryDelay,
    EntryFact,
    Quality,
    Rate,
    Schedule,
    ScheduleChange,
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


class _Occasions:
    """A record's occasions in day order (see `rules.py`), as parallel lists over day ordinals:
    when each is due, the entries it got, whether that was enough. Week windows also keep the
    day they open on; `bonus` lists the occasions that count only when done."""

    __slots__ = ("bonus", "counts", "dues", "factors", "nothings", "opens", "satisfied", "targets")

    def __init__(self) -> None:
        self.dues: list[int] = []
        self.counts: list[int] = []
        self.nothings: list[int] = []
        self.targets: list[int] = []
        self.satisfied: list[bool] = []
        self.bonus: list[int] = []
        self.opens: dict[int, int] = {}  # a week's window: occasion index -> the day it opens
        # (first occasion, smoothing factor of the rules it was asked under; None: the current rules)
        self.factors: list[tuple[int, float | None]] = []

    def add(
        self,
        schedule: Schedule,
        *,
        first: int,
        last: int,
        lived: range | set[int],
        from_day: int,
        per_day: list[int],
        nothing_per_day: list[int],
        cut: bool = False,
        factor: float | None = None,
    ) -> None:
        """The occasions of `schedule` over the days `first`..`last` that start on `from_day` or
        later. `cut`: the rules changed after `last`, so a week running past it ends there and
        counts only if done."""
        span = last - first
        if schedule.as_it_happens or span < 0:
            return
        base = len(self.dues)
        self.factors.append((base, factor))
        skip = max(0, from_day - first)
        target = schedule.target
        if schedule.frequency is Frequency.weekly:
            counts, nothings = [], []
            # Ordinal 1 (1 January of year 1) was a Monday.
            for opens, closes in week_windows(
                span=span, skip=skip, first_weekday=(first - 1) % 7 + 1, due_weekday=schedule.due_weekday
            ):
                low, high = first + opens, first + closes
                if not any(day in lived for day in range(low, min(high, last) + 1)):
                    continue
                short = closes - opens < 6
                if cut and high > last:
                    high, short = last, True
                if short:
                    self.bonus.append(len(self.dues))
                self.opens[len(self.dues)] = low
                self.dues.append(high)
                counts.append(sum(per_day[low - from_day : high - from_day + 1]))
                nothings.append(sum(nothing_per_day[low - from_day : high - from_day + 1]) if nothing_per_day else 0)
            target = 1
        else:
            chosen = frozenset(schedule.weekdays if schedule.frequency is Frequency.weekdays else ALL_WEEKDAYS)
            every_day = len(chosen) == 7
            begin = first + skip
            dues: Sequence[int]
            if every_day and isinstance(lived, range):
                # Every day of a stretch: slices of the day counts.
                low = max(begin, lived.start)
                high = max(low, min(last + 1, lived.stop))  # none lived (an end before the window): empty
                dues = range(low, high)
                counts = per_day[low - from_day : high - from_day]
                nothings = nothing_per_day[low - from_day : high - from_day] if nothing_per_day else [0] * len(dues)
            else:
                dues = [
                    day for day in range(begin, last + 1) if day in lived and (every_day or (day - 1) % 7 + 1 in chosen)
                ]
                counts = [per_day[day - from_day] for day in dues]
                nothings = [nothing_per_day[day - from_day] for day in dues] if nothing_per_day else [0] * len(dues)
            if dues and dues[0] == first:
                self.bonus.append(base)  # a first day not done is not held against anyone
            self.dues.extend(dues)
        self.counts.extend(counts)
        self.nothings.extend(nothings)
        self.targets.extend([target] * len(counts))
        if nothing_per_day:
            pairs = zip(counts, nothings, strict=True)
            self.satisfied.extend(nothing > 0 or count >= target for count, nothing in pairs)
        else:
            self.satisfied.extend(count >= target for count in counts)

    def covered(self) -> dict[int, int]:
        """Every day some occasion takes entries on -> that occasion's index."""
        out: dict[int, int] = {}
        for index, due in enumerate(self.dues):
            for day in range(self.opens.get(index, due), due + 1):
                out[day] = index
        return out


def _occasions(
    schedule: Schedule,
    history: Sequence[ScheduleChange],
    days: DayIndex,
    *,
    first_day: int,
    last_day: int,
    lived: range | set[int],
    from_day: int,
    per_day: list[int],
    nothing_per_day: list[int],
) -> _Occasions:
    """The occasions under each set of rules in turn: the earlier ones (`history`) up to the day
    before their edit, the current `schedule` from the day of the last edit on."""
    out = _Occasions()
    add = functools.partial(out.add, lived=lived, from_day=from_day, per_day=per_day, nothing_per_day=nothing_per_day)
    begin = first_day
    for change in sorted(history, key=lambda item: item.until):
        edited = days.ordinal_of(change.until)
        end = min(edited - 1, last_day)
        if end < begin:
            begin = max(begin, edited)  # changed again the same day: those rules never held a whole day
            continue
        if change.schedule is not None:
            add(change.schedule, first=begin, last=end, cut=True, factor=change.schedule.multiplier)
        begin = end + 1
    if begin <= last_day:
        add(schedule, first=begin, last=last_day)
    return out


def figures(
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
    history: Sequence[ScheduleChange] = (),
    through: date | None = None,
    with_days: bool = False,
    quality: Quality | None = None,
) -> Adherence:
    """Adherence of one assignment from `start` (its creation) to `now` (or `end`, if it ended).

    `times` are when its entries happened, in epoch seconds, sorted, and `nothing` those of the
    ones that were "nothing to report" (each also in `times`), sorted; `days` indexes the
    client's local days over the span. `since` (the last session) gives `Adherence.since`.
    With `window_start`, only entries from then on were loaded: occasions that began earlier
    are left out (and `Adherence.window_from` says so), so streaks read "at least".
    `history`: the rules the assignment had before each edit (past days keep them).
    `with_days` lists each day's state, up to `through` (future days, for calendars).
    `quality` gives `Adherence.in_the_moment` and `.complete`, over the same days as `happened_since`.
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

    # Entries and check-ins over [lo, today] (within the days read): differences of running sums.
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

    def share(of: Sequence[float], among: Sequence[float], lo: int) -> Rate:
        """Of the entries `among` on the days [lo, today] read, how many are also `of`."""
        first = max(lo, from_day)
        if tally_to < first or not among:
            return Rate(0, 0)
        done = sum(days.day_counts(of, first, tally_to))
        return Rate(done=done, expected=sum(days.day_counts(among, first, tally_to)))

    quality_from = from_day if since is None else days.ordinal_of(since)

    occasions = _occasions(
        schedule,
        history,
        days,
        first_day=first_day,
        last_day=last_day,
        lived=lived,
        from_day=from_day,
        per_day=per_day,
        nothing_per_day=nothing_per_day,
    )
    dues, satisfied = occasions.dues, occasions.satisfied
    # An occasion not done is left out when it is still open (due on the last day or later:
    # pending, neither done nor missed) or a bonus not taken.
    tail = bisect.bisect_left(dues, last_day)
    open_ = [index for index in range(tail, len(dues)) if not satisfied[index]]
    pending = bool(open_) and last_day == today
    dropped = set(open_).union(index for index in occasions.bonus if not satisfied[index])
    if dropped:
        keep = [index not in dropped for index in range(len(dues))]
        kept_dues = list(itertools.compress(dues, keep))
        kept_counts = list(itertools.compress(occasions.counts, keep))
        kept_nothings = list(itertools.compress(occasions.nothings, keep))
        kept_targets = list(itertools.compress(occasions.targets, keep))
        kept = list(itertools.compress(satisfied, keep))
    else:
        kept_dues, kept_counts, kept_nothings = list(dues), occasions.counts, occasions.nothings
        kept_targets, kept = occasions.targets, satisfied

    done = sum(kept)
    runs = bytes(kept).split(b"\x00")  # the streaks of done occasions
    nothing_only = sum(
        1
        for count, nothing_, target in zip(kept_counts, kept_nothings, kept_targets, strict=True)
        if nothing_ and count - nothing_ < target
    )
    score = _habit_score(occasions, schedule, keep=None if not dropped else keep, satisfied=kept)

    # A week done early counts on the last day; rates over [from_day, today] are slices of the occasions.
    if kept_dues and kept_dues[-1] > last_day:
        kept_dues[-1] = last_day
    done_before = [0, *itertools.accumulate(kept)]
    through_today = bisect.bisect_right(kept_dues, today)

    def rate(lo: int) -> Rate:
        first = min(bisect.bisect_left(kept_dues, lo), through_today)
        return Rate(done=done_before[through_today] - done_before[first], expected=through_today - first)

    extra_days = not schedule.as_it_happens and schedule.frequency is not Frequency.weekly
    return Adherence(
        today=date.fromordinal(today),
        first_day=date.fromordinal(first_day),
        last_day=date.fromordinal(last_day),
        window_from=None if window_from is None else date.fromordinal(window_from),
        days=[]
        if not with_days
        else _day_list(
            occasions,
            dropped=dropped,
            per_day=per_day,
            nothing_per_day=nothing_per_day,
            lived=lived,
            from_day=from_day,
            last_day=last_day,
            today=today,
            through=max(last_day, through.toordinal() if through is not None else last_day),
            extra_days=extra_days,
        ),
        expected=len(kept),
        done=done,
        nothing_to_report=nothing_only,
        missed=len(kept) - done,
        pending=pending,
        current_streak=len(runs[-1]),
        longest_streak=max(map(len, runs)),
        overall=Rate(done=done, expected=len(kept)),
        since=None if since is None else rate(days.ordinal_of(since)),
        last_7=rate(today - 6),
        last_28=rate(today - 27),
        score=score,
        last_entry_at=datetime.fromtimestamp(max(times), UTC) if times else None,
        extra=_extra(occasions, schedule, per_day, nothing_per_day, lived, from_day, last_day, edited=bool(history))
        if extra_days
        else 0,
        as_it_happens=schedule.as_it_happens,
        happened=tally(from_day),
        happened_7=tally(today - 6),
        happened_28=tally(today - 27),
        happened_since=None if since is None else tally(days.ordinal_of(since)),
        in_the_moment=None if quality is None else share(quality.in_the_moment, quality.written, quality_from),
        complete=None if quality is None else share(quality.complete, quality.with_work, quality_from),
    )


def _habit_score(occasions: _Occasions, schedule: Schedule, *, keep: list[bool] | None, satisfied: list[bool]) -> float:
    """Loop Habit Tracker's score over the occasions that count, each under the smoothing of the
    rules it was asked under."""
    counts, targets = occasions.counts, occasions.targets
    if keep is not None:
        counts, targets = list(itertools.compress(counts, keep)), list(itertools.compress(targets, keep))
    factors = occasions.factors
    score = 0.0
    if all(factor is None for _first, factor in factors):
        multiplier = schedule.multiplier
        weight = 1.0 - multiplier
        for term in [
            weight if done else (count / target) * weight
            for done, count, target in zip(satisfied, counts, targets, strict=True)
        ]:
            score = score * multiplier + term
        return min(1.0, max(0.0, score))
    per_occasion: list[float] = []
    for position, (first, factor) in enumerate(factors):
        following = factors[position + 1][0] if position + 1 < len(factors) else len(occasions.dues)
        per_occasion.extend([schedule.multiplier if factor is None else factor] * (following - first))
    if keep is not None:
        per_occasion = list(itertools.compress(per_occasion, keep))
    for done, count, target, factor in zip(satisfied, counts, targets, per_occasion, strict=True):
        value = 1.0 if done else min(1.0, count / target)
        score = score * factor + value * (1.0 - factor)
    return min(1.0, max(0.0, score))


def _extra(
    occasions: _Occasions,
    schedule: Schedule,
    per_day: list[int],
    nothing_per_day: list[int],
    lived: range | set[int],
    from_day: int,
    last_day: int,
    *,
    edited: bool,
) -> int:
    """Days with entries (not only "nothing to report") no occasion asked for: done extra."""
    if len(occasions.dues) >= len(per_day) and not occasions.opens:
        return 0  # every day read is an occasion's day
    if (
        not edited
        and schedule.frequency is Frequency.weekdays
        and isinstance(lived, range)
        and lived.start <= from_day
        and last_day < lived.stop
        and not nothing_per_day
    ):
        # Every day lived, under one set of rules: the days not asked for are the other weekdays,
        # every seventh count.
        first_weekday = (from_day - 1) % 7 + 1
        others = [(day - first_weekday) % 7 for day in range(1, 8) if day not in schedule.weekdays]
        return sum(len(per_day[offset::7]) - per_day[offset::7].count(0) for offset in others)
    covered = occasions.covered() if occasions.opens else set(occasions.dues)
    return sum(
        1
        for offset, count in enumerate(per_day)
        if count and count > (nothing_per_day[offset] if nothing_per_day else 0) and from_day + offset not in covered
    )


def _day_list(
    occasions: _Occasions,
    *,
    dropped: set[int],
    per_day: list[int],
    nothing_per_day: list[int],
    lived: range | set[int],
    from_day: int,
    last_day: int,
    today: int,
    through: int,
    extra_days: bool,
) -> list[Day]:
    """Each day's state from `from_day` to `through`, for the charts and calendars."""
    by_day = occasions.covered()
    dues, satisfied, windows = occasions.dues, occasions.satisfied, occasions.opens
    out: list[Day] = []
    for day in range(from_day, through + 1):
        when = date.fromordinal(day)
        if day > last_day:
            out.append(Day(when, DayState.future if day > today else DayState.not_expected, 0, False))
            continue
        count = per_day[day - from_day]
        index = by_day.get(day)
        if day not in lived and count == 0:
            out.append(Day(when, DayState.not_expected, 0, False))
            continue
        open_state = DayState.expected if day == today else DayState.not_expected
        if count:
            if index is not None and index not in windows and not satisfied[index]:
                state = DayState.partial if index not in dropped else open_state
            elif nothing_per_day and nothing_per_day[day - from_day] == count:
                state = DayState.nothing_to_report
            else:
                state = DayState.extra if index is None and extra_days else DayState.done
            due = index is not None and (index not in windows or day == dues[index])
            out.append(Day(when, state, count, due))
        elif index is None:
            out.append(Day(when, DayState.not_expected, 0, False))
        elif index in windows:
            if satisfied[index]:
                state = DayState.not_expected
            elif index in dropped:
                state = open_state
            else:
                state = DayState.missed if day == dues[index] else DayState.not_expected
            out.append(Day(when, state, 0, day == dues[index]))
        else:
            out.append(Day(when, DayState.missed if index not in dropped else open_state, 0, True))
    return out


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
    history: Sequence[ScheduleChange] = (),
) -> Adherence:
    """`figures` from entry facts, with the day list and how long after each entry it was
    logged (`with_delays`: backfilled entries, the median delay) unless switched off."""
    facts = list(entries)
    index = DayIndex(zones, boundary, min(start, window_start or start), max(now, end or now))
    result = figures(
        times=sorted(fact.occurred_at.timestamp() for fact in facts),
        nothing=sorted(fact.occurred_at.timestamp() for fact in facts if fact.nothing_to_report),
        schedule=schedule,
        days=index,
        start=start,
        now=now,
        end=end,
        since=since,
        window_start=window_start,
        history=history,
        through=through,
        with_days=with_days,
        quality=Quality.of(facts),
    )
    last_entry_at = max((fact.occurred_at for fact in facts), default=None)
    if not with_delays:
        return replace(result, last_entry_at=last_entry_at)
    delays = [
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
    positive = sorted(max(item.delay, timedelta(0)) for item in delays)
    return replace(
        result,
        delays=delays,
        backfilled=sum(1 for item in delays if item.backfilled),
        median_delay=positive[len(positive) // 2] if positive else None,
        last_entry_at=last_entry_at,
    )
