"""The adherence rules written plainly, one object per occasion: the reference the engine
(`app/services/adherence/figures.py`) is held equal to.

This was the app's first engine. It reads like the rules in `rules.py`'s docstring and is
slow (a datetime and a time-zone conversion per entry, an object per occasion), so the app
runs `figures` instead; test_engine_matches_reference.py checks the two agree for any
schedule, edit history, zones, day boundary and entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
    Rate,
    Schedule,
    ScheduleChange,
    Tally,
    ZoneHistory,
    in_the_moment,
    week_windows,
)

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
    window: bool = False  # a week's window (done on any of its days)
    bonus: bool = False  # counts only when done: a first day, a short first week, a week cut by an edit
    multiplier: float | None = None  # the habit score's smoothing under the rules of the time

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
    if schedule.as_it_happens:
        return out
    span = (last_day - first_day).days
    skip = max(0, (from_day - first_day).days)
    if span < 0:
        return out
    if schedule.frequency is Frequency.weekly:
        windows = week_windows(
            span=span, skip=skip, first_weekday=first_day.isoweekday(), due_weekday=schedule.due_weekday
        )
        for start, end in windows:
            window = [first_day + timedelta(days=offset) for offset in range(start, end + 1)]
            if any(day in lived for day in window if day <= last_day):
                out.append(_Occasion(due=window[-1], days=window, target=1, window=True, bonus=len(window) < 7))
        return out
    chosen = schedule.weekdays if schedule.frequency is Frequency.weekdays else ALL_WEEKDAYS
    weekdays = set(chosen)
    for offset in range(skip, span + 1):
        day = first_day + timedelta(days=offset)
        if day in lived and day.isoweekday() in weekdays:
            out.append(_Occasion(due=day, days=[day], target=schedule.target, bonus=offset == 0))
    return out


def _occasions_over(
    schedule: Schedule,
    history: Sequence[ScheduleChange],
    clock: DayClock,
    *,
    first_day: date,
    last_day: date,
    lived: set[date],
    from_day: date,
) -> list[_Occasion]:
    """`_occasions` under each set of rules in turn: the earlier ones (`history`) up to the
    day before their edit, the current `schedule` from the day of the last edit on."""
    if not history:
        return _occasions(schedule, first_day=first_day, last_day=last_day, lived=lived, from_day=from_day)
    out: list[_Occasion] = []
    begin = first_day
    for change in sorted(history, key=lambda item: item.until):
        edited = clock.day_of(change.until)
        end = min(edited - timedelta(days=1), last_day)
        if end < begin:
            begin = max(begin, edited)  # changed again the same day: those rules never held a whole day
            continue
        rules = change.schedule
        part = [] if rules is None else _occasions(rules, first_day=begin, last_day=end, lived=lived, from_day=from_day)
        for occasion in part:
            if occasion.days[-1] > end:  # a week the edit cut short: it counts only if done
                occasion.days = [day for day in occasion.days if day <= end]
                occasion.due = end
                occasion.bonus = True
            occasion.multiplier = rules.multiplier if rules is not None else None
        out.extend(part)
        begin = end + timedelta(days=1)
    if begin <= last_day:
        out.extend(_occasions(schedule, first_day=begin, last_day=last_day, lived=lived, from_day=from_day))
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
    history: Sequence[ScheduleChange] = (),
) -> Adherence:
    """Adherence of one assignment from `start` (its creation) to `now` (or `end`, if it ended).

    `since` (the last session) gives `Adherence.since`; `through` extends the day
    list past today with "future" days (for calendars). With `window_start`, only
    entries from then on were loaded: occasions that began earlier are left out
    (and `Adherence.window_from` says so), so streaks read "at least".
    `with_delays` / `with_days` off leave `delays` / `days` empty (a caseload needs neither).
    `history`: the rules the assignment had before each edit (past days keep them).
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

    occasions = _occasions_over(
        schedule, history, clock, first_day=first_day, last_day=last_day, lived=lived, from_day=from_day
    )
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
        elif occasion.bonus:
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
        factor = multiplier if occasion.multiplier is None else occasion.multiplier
        score = score * factor + occasion.value * (1.0 - factor)
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

    # Days with entries outside the schedule; a week's window takes any day of it.
    extra = 0
    if not schedule.as_it_happens and schedule.frequency is not Frequency.weekly:
        extra = sum(1 for day, count in counts.items() if day not in by_day and count > nothing_days.get(day, 0))
    tally_to = min(today, last_day)

    def tally(lo: date) -> Tally:
        lo = max(lo, from_day)
        entries_ = nothing_ = 0
        for day, count in counts.items():
            if lo <= day <= tally_to:
                entries_ += count
                nothing_ += nothing_days.get(day, 0)
        return Tally(entries=entries_ - nothing_, nothing=nothing_, days=max(0, (tally_to - lo).days + 1))

    def quality(lo: date) -> tuple[Rate, Rate]:
        """Of the entries written on the days [lo, today] read: in the moment, and complete."""
        lo = max(lo, from_day)
        written = [
            fact for fact in facts if not fact.nothing_to_report and lo <= clock.day_of(fact.occurred_at) <= tally_to
        ]
        with_work = [fact for fact in written if fact.complete is not None]
        return (
            Rate(done=sum(1 for fact in written if in_the_moment(fact)), expected=len(written)),
            Rate(done=sum(1 for fact in with_work if fact.complete), expected=len(with_work)),
        )

    moment, complete = quality(clock.day_of(since) if since is not None else from_day)

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
        extra=extra,
        as_it_happens=schedule.as_it_happens,
        happened=tally(from_day),
        happened_7=tally(today - timedelta(days=6)),
        happened_28=tally(today - timedelta(days=27)),
        happened_since=tally(clock.day_of(since)) if since is not None else None,
        in_the_moment=moment,
        complete=complete,
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
    # Entries on a day a schedule did not ask for are done extra; as it happens, every one is plain done.
    extra_days = not weekly and not schedule.as_it_happens
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
            if occasion is not None and not occasion.window and not occasion.satisfied:
                state = (
                    DayState.partial
                    if occasion.counted
                    else (DayState.expected if day == today else DayState.not_expected)
                )
            elif only_nothing:
                state = DayState.nothing_to_report
            else:
                state = DayState.extra if occasion is None and extra_days else DayState.done
            due = occasion is not None and (not occasion.window or day == occasion.due)
            out.append(Day(day, state, count, due))
            continue
        if occasion is None:
            out.append(Day(day, DayState.not_expected, 0, False))
            continue
        if occasion.window:
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
