"""The adherence engine: what was expected of a client, what they did, and how steadily.

Plain data and the words of the rules: no web code, no database, no computation beyond the
clock. Callers turn rows into `EntryFact`s and a `Schedule`; `figures.py` (the engine) works
out an `Adherence` per assignment.

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
- Entries on a day the schedule does not ask for (a Tuesday of a Monday/Wednesday/Friday
  record) are *done extra*: shown and counted apart, never as nothing, and they do not
  lower the completion rate.
- A record kept "as it happens" (thought records, urges: they follow events) has no
  occasions at all: nothing is expected, so nothing is missed and there is no streak
  of misses. What counts is what happened: `Tally`s of entries and of "nothing to
  report" check-ins over the same windows as the rates.
- Quality, not only quantity: of the entries with something in them (not "nothing to
  report") since the last session, those written *in the moment* (logged within an hour of
  when it happened, or of the reminder that prompted it: `in_the_moment`) and, for record
  types whose form has parts that carry the work (`LibraryTemplate.work`: a thought
  record's balanced thought and re-rating, an ABC record's consequences), those *complete*
  (every such part answered; decided when the entry is saved, `EntryFact.complete`).
- Days are the client's local days (their zone at that instant, and their day
  boundary), so DST and moving zones never shift an entry into the wrong day.
  A date the client never lived (flying east over the date line) is not expected.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from app.core.days import local_day
from app.models.assignment import Frequency
from app.models.standing import DayState

BACKFILL_AFTER = timedelta(hours=12)
_TINY = timedelta(microseconds=1)
ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)


DONE_STATES = frozenset({DayState.done, DayState.nothing_to_report, DayState.extra})


@dataclass(frozen=True, slots=True)
class EntryFact:
    occurred_at: datetime
    logged_at: datetime
    nothing_to_report: bool = False
    prompted_at: datetime | None = None
    key: Hashable | None = None
    # Every part of the form that carries the work is answered; None: the form names no such parts.
    complete: bool | None = None


# An entry logged within this long of when it happened, or of the reminder that prompted it,
# was written in the moment.
IN_THE_MOMENT = timedelta(hours=1)
_IN_THE_MOMENT_SECONDS = IN_THE_MOMENT.total_seconds()


def logged_in_the_moment(*, occurred: float, logged: float, prompted: float | None = None) -> bool:
    """The rule, on epoch seconds (the caseload reads them so): logged within the hour of the
    event, or within the hour after the reminder that prompted it."""
    if logged - occurred <= _IN_THE_MOMENT_SECONDS:
        return True
    return prompted is not None and 0 <= logged - prompted <= _IN_THE_MOMENT_SECONDS


def in_the_moment(fact: EntryFact) -> bool:
    """Whether an entry was written in the moment (see `logged_in_the_moment`)."""
    return logged_in_the_moment(
        occurred=fact.occurred_at.timestamp(),
        logged=fact.logged_at.timestamp(),
        prompted=None if fact.prompted_at is None else fact.prompted_at.timestamp(),
    )


@dataclass(frozen=True, slots=True)
class Quality:
    """What the quality figures count, as sorted epochs of when entries happened: those with
    something in them (`written`), of which those written in the moment, those of a form with
    parts that carry the work (`with_work`), and of these the complete ones."""

    written: Sequence[float] = ()
    in_the_moment: Sequence[float] = ()
    with_work: Sequence[float] = ()
    complete: Sequence[float] = ()

    @classmethod
    def of(cls, facts: Iterable[EntryFact]) -> Quality:
        written = [fact for fact in facts if not fact.nothing_to_report]
        return cls(
            written=sorted(fact.occurred_at.timestamp() for fact in written),
            in_the_moment=sorted(fact.occurred_at.timestamp() for fact in written if in_the_moment(fact)),
            with_work=sorted(fact.occurred_at.timestamp() for fact in written if fact.complete is not None),
            complete=sorted(fact.occurred_at.timestamp() for fact in written if fact.complete),
        )


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
    def as_it_happens(self) -> bool:
        """Counted as it happens: no occasions, nothing expected."""
        return self.frequency is Frequency.as_it_happens

    @property
    def due_weekday(self) -> int | None:
        return due_weekday(self.frequency, self.weekdays)

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
class ScheduleChange:
    """Until this instant the assignment followed `schedule` (None: it was stopped, and
    nothing was asked); then an edit changed it. Days before the day of the edit are counted
    by the rules they had."""

    until: datetime
    schedule: Schedule | None


def week_windows(*, span: int, skip: int, first_weekday: int, due_weekday: int | None) -> list[tuple[int, int]]:
    """A weekly record's seven-day windows as (first, last) day offsets from its first day:
    ending on `due_weekday` (the first one shorter, from the first day), or every seven days
    from the first day when it has none. Those that start on or after `skip` and by `span`."""
    end = 6 if due_weekday is None else (due_weekday - first_weekday) % 7
    out = []
    while end - 6 <= span:
        start = max(0, end - 6)
        if start >= skip:
            out.append((start, end))
        end += 7
    return out


def due_weekday(frequency: Frequency | str, weekdays: Sequence[int]) -> int | None:
    """A weekly record's day (ISO weekday): its weeks end on that day. None for weeks counted
    from the assignment's first day (weekly records set before weeks had a day), and for
    every other frequency."""
    if Frequency(frequency) is Frequency.weekly and len(weekdays or ()) == 1:
        return int(weekdays[0])
    return None


def days_of(first: date, last: date) -> list[date]:
    """Each day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def week_of(day: date, *, first_day: date, due_weekday: int | None) -> tuple[date, date]:
    """The week of a weekly record that `day` falls in, as (first, last) day: the window of
    `week_windows` that holds it (ending on `due_weekday`, or seven days from `first_day`)."""
    if due_weekday is None:
        start = first_day + timedelta(days=(day - first_day).days // 7 * 7)
        return start, start + timedelta(days=6)
    end = day + timedelta(days=(due_weekday - day.isoweekday()) % 7)
    return max(first_day, end - timedelta(days=6)), end


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


class Tally(NamedTuple):
    """What happened over a window of days: entries and "nothing to report" check-ins.
    (A named tuple: a caseload builds four per record, and these are cheap to make.)"""

    entries: int  # entries with something in them (not "nothing to report")
    nothing: int  # "nothing to report" check-ins
    days: int  # days of the window the record was assigned (for entries per week)

    @property
    def per_week(self) -> float | None:
        """Entries per week over the window; None for a window shorter than a week."""
        if self.days < 7:
            return None
        return self.entries * 7 / self.days


NO_TALLY = Tally(0, 0, 0)


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
    # Days with entries the schedule did not ask for (scheduled records, but weekly ones).
    extra: int = 0
    as_it_happens: bool = False
    # Entries and check-ins over the whole span, the last 7 and 28 days and since `since`.
    happened: Tally = NO_TALLY
    happened_7: Tally = NO_TALLY
    happened_28: Tally = NO_TALLY
    happened_since: Tally | None = None
    # Quality since `since` (or over the days read, without it): of the entries written, those
    # written in the moment; of those whose form names parts that carry the work, the complete
    # ones. None when the caller passed no `Quality`.
    in_the_moment: Rate | None = None
    complete: Rate | None = None

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
            return set(days_of(self.day_of(start), self.day_of(stop)))
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
            days.update(days_of(first, local_day(span_end, timezone=zone, boundary=self.boundary)))
        return days
