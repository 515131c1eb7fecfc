"""My patterns: what a client's own records say, computed from the entries of the last 13 weeks.

Each insight has a minimum amount of data; below it, only how many more entries it needs.

- Mood by time of day: 7 mood entries, and at least two parts of the day with 2 each.
  By weekday: 14 mood entries, and at least three weekdays with 2 each. The part of the day is
  the hour on the client's clock when the entry says it happened (as the functional analysis
  counts it); the weekday is the client's day, after their day boundary.
- What goes with the lows and the highs: 10 mood entries with something ticked under "What were
  you doing?" or a #tag in the note. The lows are the entries at or below the mood a third of
  the way up the sorted moods, the highs those at or above the mood a third of the way down;
  within each, what was ticked or tagged at least twice, most often first (three at most).
  Average mood per activity or tag is shown for those with 3 entries or more.
- Belief change: 3 thought records with both belief ratings (before and after the balanced
  thought). Thinking traps: 3 thought records with one ticked.
- Exposure fear curves: 3 exposures with distress at the peak and at the end. A change in the
  peak is told only from 6 on: the first three against the latest three.
- Sleep efficiency: 7 nights with bed and wake times. Estimated as time asleep (in bed, less
  the time to fall asleep and the time awake in the night) over time in bed. The latest 7
  nights are compared with the 7 before them from 14 nights on.
- Urges: 5 urge logs saying whether the urge was acted on.

Entries deleted or with "nothing to report" never count. The client's own view reads what
their device may show (every entry once confirmed); the therapist's reads shared and "discuss
in session" entries only, filtered in the query, so a private entry is never read for them.
Sections the therapist switched off (Client.patterns_off) are neither computed nor returned.

Two queries (the entries and the assigned record types) plus the client's zone history.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.core.i18n import N_, _
from app.core.timeutil import parse_hhmm
from app.library import EXPOSURE_LOG, MOOD_LOG, SLEEP_DIARY, THOUGHT_RECORD, URGE_LOG
from app.library.records import ACTIVITIES, THINKING_TRAPS
from app.models import Assignment, Client, Entry, RecordTemplate, TemplateVersion, Therapist
from app.models.types import utcnow
from app.services import sharing, zone_history
from app.services.adherence.rules import DayClock
from app.services.device_trust import PrivateAccess
from app.services.functional_analysis import TIMES_OF_DAY

WINDOW = timedelta(days=91)

MIN_MOOD_TIMES = 7
MIN_MOOD_WEEKDAYS = 14
MIN_PER_GROUP = 2
MIN_CONTEXT = 10
MIN_AVERAGE = 3  # entries behind an activity's or tag's average mood
MIN_BELIEFS = 3
MIN_TRAPS = 3
MIN_EXPOSURES = 3
MIN_PEAK_CHANGE = 6
MIN_SLEEP = 7
SLEEP_COMPARE = 14
MIN_URGES = 5
LATEST_URGES = 5
# A difference in average mood below this (on the 0–10 scale) is said to be small.
SMALL_MOOD_DIFFERENCE = 1.0

TAG = re.compile(r"#(\w[\w-]{0,29})")


class Section(StrEnum):
    mood_times = "mood_times"
    mood_context = "mood_context"
    beliefs = "beliefs"
    exposures = "exposures"
    sleep = "sleep"
    urges = "urges"


SECTION_TITLES: dict[Section, str] = {
    Section.mood_times: N_("Mood by time of day and weekday"),
    Section.mood_context: N_("What goes with your lows and highs"),
    Section.beliefs: N_("Thought records: how much you believe the thought"),
    Section.exposures: N_("Exposures: distress from peak to end"),
    Section.sleep: N_("Sleep efficiency"),
    Section.urges: N_("Urges acted on and ridden out"),
}
# The record type each section reads.
SOURCES: dict[Section, str] = {
    Section.mood_times: MOOD_LOG.slug,
    Section.mood_context: MOOD_LOG.slug,
    Section.beliefs: THOUGHT_RECORD.slug,
    Section.exposures: EXPOSURE_LOG.slug,
    Section.sleep: SLEEP_DIARY.slug,
    Section.urges: URGE_LOG.slug,
}
ACTIVITY_LABELS = {item["value"]: item["label"] for item in ACTIVITIES}
TRAP_LABELS = {item["value"]: item["label"] for item in THINKING_TRAPS}


@dataclass
class Group:
    """Entries sharing something (a part of the day, a weekday, an activity, a #tag)."""

    key: str
    label: str  # a msgid, or the client's own #tag
    values: list[float] = field(default_factory=list)
    translate: bool = True

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return round(sum(self.values) / len(self.values), 1) if self.values else 0.0

    @property
    def text(self) -> str:
        return _(self.label) if self.translate else self.label


@dataclass
class Tally:
    key: str
    label: str
    count: int
    of: int
    translate: bool = True

    @property
    def text(self) -> str:
        return _(self.label) if self.translate else self.label


@dataclass
class MoodTimes:
    entries: int
    times: list[Group]  # the parts of the day with entries, in the day's order
    weekdays: list[Group]  # key "0" (Monday) to "6", in the week's order

    @property
    def times_ready(self) -> bool:
        return self.entries >= MIN_MOOD_TIMES and len(_compared(self.times)) >= 2

    @property
    def weekdays_ready(self) -> bool:
        return self.entries >= MIN_MOOD_WEEKDAYS and len(_compared(self.weekdays)) >= 3

    @property
    def ready(self) -> bool:
        return self.times_ready

    def extremes(self, groups: list[Group]) -> tuple[list[Group], list[Group]]:
        """The groups (with enough entries) at the lowest average, and those at the highest:
        several when tied, in the day's or the week's order."""
        compared = _compared(groups)
        low, high = min(group.mean for group in compared), max(group.mean for group in compared)
        return [group for group in compared if group.mean == low], [group for group in compared if group.mean == high]


@dataclass
class MoodContext:
    entries: int  # mood entries with an activity or a #tag
    low_cut: float = 0
    high_cut: float = 0
    low: list[Tally] = field(default_factory=list)
    high: list[Tally] = field(default_factory=list)
    low_size: int = 0
    high_size: int = 0
    averages: list[Group] = field(default_factory=list)  # lowest average first

    @property
    def ready(self) -> bool:
        return self.entries >= MIN_CONTEXT

    @property
    def steady(self) -> bool:
        return self.low_cut >= self.high_cut


@dataclass(frozen=True)
class Pair:
    """Two ratings of one entry: belief before and after, or distress at the peak and the end."""

    day: date
    first: int
    second: int
    start: int | None = None  # an exposure's distress before it began


@dataclass
class Beliefs:
    records: list[Pair]  # oldest first
    traps: list[Tally]
    with_traps: int

    @property
    def entries(self) -> int:
        return len(self.records)

    @property
    def ready(self) -> bool:
        return self.entries >= MIN_BELIEFS

    @property
    def traps_ready(self) -> bool:
        return self.with_traps >= MIN_TRAPS

    @property
    def mean_before(self) -> float:
        return _mean([pair.first for pair in self.records])

    @property
    def mean_after(self) -> float:
        return _mean([pair.second for pair in self.records])

    @property
    def went_down(self) -> int:
        return sum(1 for pair in self.records if pair.second < pair.first)


@dataclass
class Exposures:
    records: list[Pair]  # oldest first

    @property
    def entries(self) -> int:
        return len(self.records)

    @property
    def ready(self) -> bool:
        return self.entries >= MIN_EXPOSURES

    @property
    def mean_peak(self) -> float:
        return _mean([pair.first for pair in self.records])

    @property
    def mean_end(self) -> float:
        return _mean([pair.second for pair in self.records])

    @property
    def came_down(self) -> int:
        return sum(1 for pair in self.records if pair.second < pair.first)

    @property
    def peak_change(self) -> tuple[float, float] | None:
        """(first three, latest three) average peaks, from MIN_PEAK_CHANGE exposures on."""
        if self.entries < MIN_PEAK_CHANGE:
            return None
        return _mean([p.first for p in self.records[:3]]), _mean([p.first for p in self.records[-3:]])


@dataclass(frozen=True)
class Night:
    day: date
    efficiency: int  # percent


@dataclass
class Sleep:
    nights: list[Night]  # oldest first, one per entry

    @property
    def entries(self) -> int:
        return len(self.nights)

    @property
    def ready(self) -> bool:
        return self.entries >= MIN_SLEEP

    @property
    def latest(self) -> float:
        return _mean([night.efficiency for night in self.nights[-7:]])

    @property
    def before(self) -> float | None:
        if self.entries < SLEEP_COMPARE:
            return None
        return _mean([night.efficiency for night in self.nights[-14:-7]])


@dataclass
class Urges:
    outcomes: list[bool]  # acted on, oldest first

    @property
    def entries(self) -> int:
        return len(self.outcomes)

    @property
    def ready(self) -> bool:
        return self.entries >= MIN_URGES

    @property
    def acted(self) -> int:
        return sum(self.outcomes)

    @property
    def rode_out(self) -> int:
        return self.entries - self.acted

    @property
    def latest_rode_out(self) -> int:
        return sum(1 for acted in self.outcomes[-LATEST_URGES:] if not acted)


@dataclass
class Patterns:
    as_of: datetime
    since: datetime
    shown: list[Section]  # on, and with entries or an active assignment to speak of
    mood_times: MoodTimes | None = None
    mood_context: MoodContext | None = None
    beliefs: Beliefs | None = None
    exposures: Exposures | None = None
    sleep: Sleep | None = None
    urges: Urges | None = None

    def of(self, section: Section) -> Any:
        return getattr(self, section.value)


def switched_off(client: Client) -> set[Section]:
    return {Section(value) for value in client.patterns_off or [] if value in Section.__members__}


def set_switched_off(session: Session, *, therapist: Therapist, client: Client, off: set[Section]) -> None:
    """The therapist's switches for one client; only their own client."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    client.patterns_off = [section.value for section in Section if section in off]
    session.add(client)


def for_client(session: Session, *, client: Client, access: PrivateAccess, now: datetime | None = None) -> Patterns:
    """The client's own patterns: every entry their device may show."""
    return _patterns(session, client=client, condition=access.entries(), now=now)


def for_therapist(session: Session, *, therapist: Therapist, client: Client, now: datetime | None = None) -> Patterns:
    """What the therapist may see: shared and "discuss in session" entries, never a private one."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    return _patterns(session, client=client, condition=sharing.shared(), now=now)


def _patterns(session: Session, *, client: Client, condition: Any, now: datetime | None) -> Patterns:
    now = now or utcnow()
    since = now - WINDOW
    on = [section for section in Section if section not in switched_off(client)]
    result = Patterns(as_of=now, since=since, shown=[])
    slugs = sorted({SOURCES[section] for section in on})
    if not slugs:
        return result
    statement = (
        select(Entry.answers, Entry.occurred_at, RecordTemplate.slug)
        .join(TemplateVersion, col(TemplateVersion.id) == Entry.template_version_id)
        .join(RecordTemplate, col(RecordTemplate.id) == TemplateVersion.template_id)
        .where(
            Entry.client_id == client.id,
            col(Entry.deleted_at).is_(None),
            col(Entry.nothing_to_report).is_(False),
            col(RecordTemplate.slug).in_(slugs),
            Entry.occurred_at >= since,
            Entry.occurred_at <= now,
            condition,
        )
        .order_by(col(Entry.occurred_at))
    )
    rows: dict[str, list[tuple[dict[str, Any], datetime]]] = {slug: [] for slug in slugs}
    for answers, occurred_at, slug in session.exec(statement):
        if slug in rows and isinstance(answers, dict):
            rows[slug].append((answers, occurred_at))
    assigned = set(
        session.exec(
            select(RecordTemplate.slug)
            .join(Assignment, col(Assignment.template_id) == RecordTemplate.id)
            .where(Assignment.client_id == client.id, col(Assignment.ended_at).is_(None))
        )
    )
    clock = DayClock(zone_history.history(session, client=client), client.day_boundary)
    builders = {
        Section.mood_times: lambda: mood_times(rows[MOOD_LOG.slug], clock),
        Section.mood_context: lambda: mood_context(rows[MOOD_LOG.slug]),
        Section.beliefs: lambda: beliefs(rows[THOUGHT_RECORD.slug], clock),
        Section.exposures: lambda: exposures(rows[EXPOSURE_LOG.slug], clock),
        Section.sleep: lambda: sleep(rows[SLEEP_DIARY.slug], clock),
        Section.urges: lambda: urges(rows[URGE_LOG.slug]),
    }
    for section in on:
        if rows[SOURCES[section]] or SOURCES[section] in assigned:
            setattr(result, section.value, builders[section]())
            result.shown.append(section)
    return result


Rows = list[tuple[dict[str, Any], datetime]]


def mood_times(rows: Rows, clock: DayClock) -> MoodTimes:
    times = [Group(key, label) for key, label in TIMES_OF_DAY]
    weekdays = [Group(str(index), "") for index in range(7)]
    entries = 0
    for answers, occurred_at in rows:
        mood = _number(answers.get("mood"))
        if mood is None:
            continue
        entries += 1
        local = occurred_at.astimezone(ZoneInfo(clock.zone_at(occurred_at)))
        times[local.hour // 6].values.append(mood)
        weekdays[clock.day_of(occurred_at).weekday()].values.append(mood)
    return MoodTimes(
        entries=entries,
        times=[group for group in times if group.count],
        weekdays=[group for group in weekdays if group.count],
    )


def mood_context(rows: Rows) -> MoodContext:
    tagged: list[tuple[float, list[tuple[str, str, bool]]]] = []
    for answers, _occurred_at in rows:
        mood = _number(answers.get("mood"))
        if mood is None:
            continue
        found = _context(answers)
        if found:
            tagged.append((mood, found))
    result = MoodContext(entries=len(tagged))
    if not result.ready:
        return result
    moods = sorted(mood for mood, _found in tagged)
    third = (len(moods) - 1) // 3
    result.low_cut, result.high_cut = moods[third], moods[len(moods) - 1 - third]
    if result.steady:
        return result
    low = [found for mood, found in tagged if mood <= result.low_cut]
    high = [found for mood, found in tagged if mood >= result.high_cut]
    result.low, result.low_size = _most_often(low), len(low)
    result.high, result.high_size = _most_often(high), len(high)
    groups: dict[str, Group] = {}
    for mood, found in tagged:
        for key, label, translate in found:
            groups.setdefault(key, Group(key, label, translate=translate)).values.append(mood)
    result.averages = sorted(
        (group for group in groups.values() if group.count >= MIN_AVERAGE), key=lambda group: (group.mean, group.key)
    )
    return result


def _context(answers: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(key, label, translate) of each activity ticked and each #tag in the note, once each."""
    found: dict[str, tuple[str, str, bool]] = {}
    activities = answers.get("activities")
    if isinstance(activities, list):
        for value in activities:
            if isinstance(value, str) and value in ACTIVITY_LABELS:
                found[f"activity:{value}"] = (f"activity:{value}", ACTIVITY_LABELS[value], True)
    note = answers.get("note")
    if isinstance(note, str):
        for tag in TAG.findall(note):
            key = f"tag:{tag.lower()}"
            found.setdefault(key, (key, f"#{tag.lower()}", False))
    return list(found.values())


def _most_often(groups: list[list[tuple[str, str, bool]]]) -> list[Tally]:
    counts: Counter[str] = Counter()
    labels: dict[str, tuple[str, bool]] = {}
    for found in groups:
        for key, label, translate in found:
            counts[key] += 1
            labels[key] = (label, translate)
    ranked = sorted((item for item in counts.items() if item[1] >= MIN_PER_GROUP), key=lambda item: (-item[1], item[0]))
    return [Tally(key, labels[key][0], count, len(groups), labels[key][1]) for key, count in ranked[:3]]


def beliefs(rows: Rows, clock: DayClock) -> Beliefs:
    records: list[Pair] = []
    traps: Counter[str] = Counter()
    with_traps = 0
    for answers, occurred_at in rows:
        before, after = _number(answers.get("belief_before")), _number(answers.get("belief_after"))
        if before is not None and after is not None:
            records.append(Pair(clock.day_of(occurred_at), int(before), int(after)))
        ticked = answers.get("thinking_traps")
        picked = {value for value in ticked if value in TRAP_LABELS} if isinstance(ticked, list) else set()
        if picked:
            with_traps += 1
            traps.update(picked)
    ranked = sorted(traps.items(), key=lambda item: (-item[1], list(TRAP_LABELS).index(item[0])))
    return Beliefs(
        records=records,
        traps=[Tally(key, TRAP_LABELS[key], count, with_traps) for key, count in ranked[:3]],
        with_traps=with_traps,
    )


def exposures(rows: Rows, clock: DayClock) -> Exposures:
    records = []
    for answers, occurred_at in rows:
        peak, end = _number(answers.get("suds_peak")), _number(answers.get("suds_after"))
        if peak is None or end is None:
            continue
        start = _number(answers.get("suds_before"))
        records.append(Pair(clock.day_of(occurred_at), int(peak), int(end), None if start is None else int(start)))
    return Exposures(records=records)


def sleep_efficiency(answers: dict[str, Any]) -> int | None:
    """Time asleep over time in bed, in percent; None without bed and wake times."""
    try:
        bed = parse_hhmm(str(answers.get("bedtime", "")))
        wake = parse_hhmm(str(answers.get("wake_time", "")))
    except ValueError:
        return None
    in_bed = (wake.hour * 60 + wake.minute - bed.hour * 60 - bed.minute) % (24 * 60)
    if in_bed == 0:
        return None
    awake = (_number(answers.get("time_to_fall_asleep")) or 0) + (_number(answers.get("awake_in_night")) or 0)
    return max(0, min(100, round(100 * (in_bed - awake) / in_bed)))


def sleep(rows: Rows, clock: DayClock) -> Sleep:
    nights = []
    for answers, occurred_at in rows:
        efficiency = sleep_efficiency(answers)
        if efficiency is not None:
            nights.append(Night(clock.day_of(occurred_at), efficiency))
    return Sleep(nights=nights)


def urges(rows: Rows) -> Urges:
    return Urges(outcomes=[answers["acted_on"] for answers, _at in rows if isinstance(answers.get("acted_on"), bool)])


def _compared(groups: list[Group]) -> list[Group]:
    return [group for group in groups if group.count >= MIN_PER_GROUP]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _mean(values: list[int] | list[float]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0
