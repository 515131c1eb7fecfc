"""When reminders fall due: pure functions of the settings and the clock, no I/O.

Every time is a wall-clock time in the client's IANA zone. The client's "day"
starts at their day boundary (a night owl's Monday may end at 03:00 on
Tuesday): weekdays, random prompts and "already done today" all refer to that
day. The dispatcher and `between reminders preview` both use this module.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.core.days import local_day

MINUTES_PER_DAY = 24 * 60
# Far enough to cross any weekday set, short enough to stay cheap.
SEARCH_DAYS = 16


class Kind(StrEnum):
    scheduled = "scheduled"
    random = "random"


@dataclass(frozen=True)
class ReminderTimes:
    timezone: str
    times: tuple[time, ...] = ()
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(1, 8)))
    day_boundary: time = time(0, 0)
    quiet_start: time | None = None
    quiet_end: time | None = None
    random_start: time | None = None
    random_end: time | None = None
    random_count: int = 0
    random_min_gap_minutes: int = 0
    # Makes random prompts the same for every dispatcher: usually the reminder id.
    seed: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def empty(self) -> bool:
        return not self.weekdays or (not self.times and not self.has_random)

    @property
    def has_random(self) -> bool:
        return (
            self.random_count > 0
            and self.random_start is not None
            and self.random_end is not None
            and window_minutes(self.random_start, self.random_end, self.day_boundary) > 0
        )


@dataclass(frozen=True, order=True)
class Due:
    at: datetime  # aware, UTC
    kind: Kind = Kind.scheduled


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def offset_in_day(at: time, boundary: time) -> int:
    """Minutes from the start of the client's day (its boundary) to a wall-clock time."""
    return (_minutes(at) - _minutes(boundary)) % MINUTES_PER_DAY


def window_minutes(start: time, end: time, boundary: time) -> int:
    """Length of a window inside one client day; <= 0 when it ends before it starts."""
    return offset_in_day(end, boundary) - offset_in_day(start, boundary)


def in_quiet_hours(at: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end  # across midnight, e.g. 22:00-07:00


def resolve_local(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall-clock time.

    On a fall-back day a repeated time is its first occurrence (fold=0). A time
    that does not exist (skipped by a spring-forward) fires right after the gap:
    at the transition itself, e.g. 02:30 on a 02:00→03:00 day fires at 03:00.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In the gap: fold=0 reads the wall time with the offset before the transition
    # (an instant after it), fold=1 with the offset after it (an instant before it).
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = first
    if before > after:
        before, after = after, before
    target = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0)


def _wall(day: date, offset: int, boundary: time) -> datetime:
    minutes = _minutes(boundary) + offset
    return datetime.combine(day + timedelta(days=minutes // MINUTES_PER_DAY), time()) + timedelta(
        minutes=minutes % MINUTES_PER_DAY
    )


def random_offsets(schedule: ReminderTimes, day: date) -> list[int]:
    """Minutes from the day boundary of the day's random prompts, the same for every dispatcher."""
    if not schedule.has_random:
        return []
    assert schedule.random_start is not None and schedule.random_end is not None
    start = offset_in_day(schedule.random_start, schedule.day_boundary)
    span = window_minutes(schedule.random_start, schedule.random_end, schedule.day_boundary)
    count = schedule.random_count
    gap = max(schedule.random_min_gap_minutes, 0)
    # Fewer prompts when the window cannot hold them all with the gap between them.
    while count > 1 and span - (count - 1) * gap < 0:
        count -= 1
    slack = span - (count - 1) * gap
    digest = hashlib.sha256(f"{schedule.seed}:{day.isoformat()}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    picks = sorted(rng.randrange(0, slack + 1) if slack > 0 else 0 for _ in range(count))
    return [start + pick + index * gap for index, pick in enumerate(picks)]


def instants_for_day(schedule: ReminderTimes, day: date) -> list[Due]:
    """Every due instant belonging to one client day, in order, without duplicates."""
    if schedule.seed and not schedule.has_random:
        # Without random prompts the seed changes nothing: share one cache entry.
        schedule = replace(schedule, seed="")
    return list(_instants_for_day(schedule, day))


@lru_cache(maxsize=8192)
def _instants_for_day(schedule: ReminderTimes, day: date) -> tuple[Due, ...]:
    if schedule.empty or day.isoweekday() not in schedule.weekdays:
        return ()
    zone = schedule.zone
    found: dict[datetime, Kind] = {}
    candidates = [(offset_in_day(at, schedule.day_boundary), Kind.scheduled) for at in schedule.times]
    candidates += [(offset, Kind.random) for offset in random_offsets(schedule, day)]
    for offset, kind in candidates:
        wall = _wall(day, offset, schedule.day_boundary)
        if in_quiet_hours(wall.time(), schedule.quiet_start, schedule.quiet_end):
            continue
        instant = resolve_local(wall, zone)
        found.setdefault(instant, kind)
    return tuple(Due(at, kind) for at, kind in sorted(found.items()))


def next_due(schedule: ReminderTimes, after: datetime) -> Due | None:
    """The first due instant strictly after `after` (aware), or None when nothing is scheduled."""
    if schedule.empty:
        return None
    first_day = local_day(after, timezone=schedule.timezone, boundary=schedule.day_boundary)
    for index in range(-1, SEARCH_DAYS):
        for due in instants_for_day(schedule, first_day + timedelta(days=index)):
            if due.at > after:
                return due
    return None


def upcoming(schedule: ReminderTimes, after: datetime, *, limit: int) -> list[Due]:
    """The next `limit` due instants after `after`."""
    found: list[Due] = []
    cursor = after
    while len(found) < limit:
        due = next_due(schedule, cursor)
        if due is None:
            break
        found.append(due)
        cursor = due.at
    return found


def instants_for_days(schedule: ReminderTimes, first_day: date, days: int) -> list[Due]:
    """Every due instant of `days` client days starting with `first_day`."""
    found: list[Due] = []
    for index in range(days):
        found.extend(instants_for_day(schedule, first_day + timedelta(days=index)))
    return found


def step(schedule: ReminderTimes, instant: datetime) -> tuple[Due | None, Due | None]:
    """(the due instant at `instant` if the settings still produce it, the next one after it).

    One pass for the dispatcher: it checks that what it claimed is still wanted
    (the client may have changed zone or times) and learns when to come back.
    """
    if schedule.empty:
        return None, None
    current: Due | None = None
    first_day = local_day(instant, timezone=schedule.timezone, boundary=schedule.day_boundary)
    for index in range(-1, SEARCH_DAYS):
        for due in instants_for_day(schedule, first_day + timedelta(days=index)):
            if due.at == instant:
                current = due
            elif due.at > instant:
                return current, due
    return current, None
