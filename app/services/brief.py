"""The therapist's pre-session brief, and the client's own progress page.

The brief reads adherence from every entry (private ones count as done) but
content (answers, scores, agenda, back-filled entries) only from entries the
client shared. The client's own progress uses all of their entries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.core.i18n import N_, _
from app.library import KEY_SCALES
from app.models import (
    Appointment,
    Client,
    Entry,
    OccurrenceStatus,
    Reminder,
    ReminderOccurrence,
    TemplateVersion,
    Therapist,
    Visibility,
)
from app.models.types import utcnow
from app.services import (
    appointments,
    audit,
    barriers,
    clients,
    day_before,
    functional_analysis,
    plans,
    record_types,
    scoring,
    sharing,
    zone_history,
)
from app.services.adherence import load as adherence
from app.services.adherence.load import Assigned, assigned
from app.services.adherence.rules import Adherence, DayClock, EntryFact, ZoneChange
from app.services.device_trust import PrivateAccess

# Scales that make a trend line, whatever form they come from.
TREND_KEYS = ("mood", "intensity", "quality", "suds_peak")
TREND_LABELS = {
    "mood": N_("Mood"),
    "intensity": N_("Urge intensity"),
    "quality": N_("Sleep quality"),
    "suds_peak": N_("Peak distress (SUDS)"),
}
QUESTIONNAIRE_LABELS = {"phq9": N_("PHQ-9 (depression)"), "gad7": N_("GAD-7 (anxiety)")}
# Trends look back at least this far, so a week between sessions still shows a direction.
TREND_SPAN = timedelta(days=56)
# Without any session yet, "since the last session" means this far back.
DEFAULT_SPAN = timedelta(days=14)
# A prompt this long before an entry may still be the one that prompted it.
PROMPT_REACH = timedelta(hours=6)


@dataclass(frozen=True)
class RecordBrief:
    item: Assigned
    adherence: Adherence

    @property
    def title(self) -> str:
        return self.item.title


@dataclass(frozen=True)
class Point:
    day: date
    value: float
    count: int = 1
    # A day's lowest and highest entry, when its value is their mean (a low hides in a mean).
    low: float | None = None
    high: float | None = None


@dataclass
class Series:
    key: str
    label: str
    low: float
    high: float
    points: list[Point] = field(default_factory=list)
    # Questionnaires only: the rule and its band of the latest score.
    rule: str | None = None

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def band(self) -> str | None:
        if self.rule is None or self.latest is None:
            return None
        return scoring.severity(self.rule, round(self.latest.value))

    @property
    def bands(self) -> tuple[tuple[int, int, str], ...]:
        return scoring.SEVERITY_BANDS.get(self.rule or "", ())


@dataclass(frozen=True)
class RiskFlag:
    occurred_at: datetime
    kind: str  # scoring.PHQ9_ITEM9, scoring.SELF_HARM
    entry_id: uuid.UUID
    title: str = ""  # the record's name, as the brief shows it


@dataclass(frozen=True)
class Backfill:
    entry: Entry
    title: str
    delay: timedelta


@dataclass
class Brief:
    client: Client
    appointment: Appointment | None
    previous: Appointment | None
    since: datetime
    as_of: datetime
    first_day: date
    last_day: date
    records: list[RecordBrief]
    trends: list[Series]
    questionnaires: list[Series]
    risks: list[RiskFlag]
    # "Discuss in session" entries since the last session: the ones the client picked the
    # day before first (in the order picked), then the others, oldest first.
    agenda: list[Entry]
    # The client's note for this session (empty when none, or kept private) and their picks.
    client_agenda: day_before.ClientAgenda
    # Every shared entry since the last session (never a private one), oldest first.
    entries: list[Entry]
    backfilled: list[Backfill]
    upcoming: list[Appointment]
    titles: dict[uuid.UUID, str]
    # What comes before and after, from shared ABC records and urge logs (one more query).
    functional: functional_analysis.FunctionalAnalysis
    # What got in the way since the last session (shared and discuss check-ins only).
    barriers: barriers.Summary
    # The plans made together in force, and whether each held since it was confirmed.
    agreements: list[plans.Held]

    @property
    def has_risk(self) -> bool:
        return bool(self.risks)


def _zones_and_clock(session: Session, client: Client) -> tuple[list[ZoneChange], DayClock]:
    zones = zone_history.history(session, client=client)
    return zones, DayClock(zones, client.day_boundary)


def _entries(session: Session, *, client: Client, since: datetime | None = None) -> list[Entry]:
    statement = select(Entry).where(Entry.client_id == client.id, col(Entry.deleted_at).is_(None))
    if since is not None:
        statement = statement.where(Entry.occurred_at >= since)
    return list(session.exec(statement.order_by(col(Entry.occurred_at))))


def _timed_facts(
    session: Session, *, client: Client, since: datetime, until: datetime, prompts: dict[uuid.UUID, list[datetime]]
) -> dict[uuid.UUID, list[EntryFact]]:
    """Every live entry's times from `since` to `until` (private ones too: they count as done),
    by assignment, with the reminder that prompted it. Only times and flags are read, never
    answers: a year of entries costs no JSON parsing."""
    columns = [
        col(Entry.id),
        col(Entry.assignment_id),
        col(Entry.occurred_at),
        col(Entry.logged_at),
        col(Entry.nothing_to_report),
        col(Entry.complete),
    ]
    statement = (
        select(*columns)
        .where(
            Entry.client_id == client.id,
            col(Entry.deleted_at).is_(None),
            Entry.occurred_at >= since,
            Entry.occurred_at <= until,
        )
        .order_by(col(Entry.occurred_at))
    )
    out: dict[uuid.UUID, list[EntryFact]] = defaultdict(list)
    for entry_id, assignment_id, occurred_at, logged_at, nothing_to_report, complete in session.execute(statement):
        out[assignment_id].append(
            EntryFact(
                occurred_at=occurred_at,
                logged_at=logged_at,
                nothing_to_report=bool(nothing_to_report),
                prompted_at=_prompt_at(logged_at, prompts.get(assignment_id, [])),
                key=entry_id,
                complete=complete,
            )
        )
    return out


def _prompts(session: Session, *, client: Client, since: datetime) -> dict[uuid.UUID, list[datetime]]:
    """When reminders reached the client, by assignment (for "logged - prompt" delays)."""
    statement = (
        select(Reminder.assignment_id, ReminderOccurrence.sent_at)
        .join(Reminder, col(Reminder.id) == ReminderOccurrence.reminder_id)
        .where(
            ReminderOccurrence.client_id == client.id,
            ReminderOccurrence.due_at >= since - PROMPT_REACH,
            col(ReminderOccurrence.sent_at).is_not(None),
            col(ReminderOccurrence.status).in_(
                [OccurrenceStatus.sent, OccurrenceStatus.retried_sent, OccurrenceStatus.email]
            ),
        )
    )
    out: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for assignment_id, sent_at in session.execute(statement):
        out[assignment_id].append(sent_at)
    for times in out.values():
        times.sort()
    return out


def _prompt_for(entry: Entry, prompts: list[datetime]) -> datetime | None:
    return _prompt_at(entry.logged_at, prompts)


def _prompt_at(logged_at: datetime, prompts: list[datetime]) -> datetime | None:
    best = None
    for sent in prompts:
        if sent > logged_at:
            break
        if logged_at - sent <= PROMPT_REACH:
            best = sent
    return best


def _facts(rows: list[Entry], prompts: dict[uuid.UUID, list[datetime]]) -> dict[uuid.UUID, list[EntryFact]]:
    out: dict[uuid.UUID, list[EntryFact]] = defaultdict(list)
    for row in rows:
        out[row.assignment_id].append(
            EntryFact(
                occurred_at=row.occurred_at,
                logged_at=row.logged_at,
                nothing_to_report=row.nothing_to_report,
                prompted_at=_prompt_for(row, prompts.get(row.assignment_id, [])),
                key=row.id,
                complete=row.complete,
            )
        )
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _series(
    rows: list[Entry],
    *,
    records: list[Assigned],
    versions: dict[uuid.UUID, TemplateVersion],
    clock: DayClock,
    from_: datetime,
) -> tuple[list[Series], list[Series]]:
    """Daily means of the key scales, and questionnaire totals, from the given entries."""
    by_assignment = {item.assignment.id: item for item in records}
    scale_values: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    scale_range: dict[str, tuple[float, float]] = {}
    questionnaire_values: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.occurred_at < from_ or row.nothing_to_report:
            continue
        day = clock.day_of(row.occurred_at)
        version = versions.get(row.template_version_id)
        rule = version.scoring if version is not None else None
        if rule in QUESTIONNAIRE_LABELS and row.score is not None:
            questionnaire_values[rule][day].append(float(row.score))
            continue
        item = by_assignment.get(row.assignment_id)
        slug = item.template.slug if item is not None else None
        keys = [KEY_SCALES[slug]] if slug in KEY_SCALES else list(TREND_KEYS)
        for key in keys:
            value = _number(row.answers.get(key))
            if value is None:
                continue
            scale_values[key][day].append(value)
            if key not in scale_range and version is not None:
                scale_range[key] = _field_range(version.fields, key)
    trends = []
    for key in TREND_KEYS:
        if key not in scale_values:
            continue
        low, high = scale_range.get(key, (0.0, 10.0))
        points = [
            Point(day, sum(values) / len(values), len(values), min(values), max(values))
            for day, values in sorted(scale_values[key].items())
        ]
        trends.append(Series(key=key, label=TREND_LABELS[key], low=low, high=high, points=points))
    questionnaires = []
    for rule, label in QUESTIONNAIRE_LABELS.items():
        if rule not in questionnaire_values:
            continue
        points = [Point(day, max(values), len(values)) for day, values in sorted(questionnaire_values[rule].items())]
        questionnaires.append(
            Series(
                key=rule,
                label=label,
                low=0,
                high=float(scoring.max_score(rule) or 27),
                points=points,
                rule=rule,
            )
        )
    return trends, questionnaires


def _field_range(fields: list[dict[str, Any]], key: str) -> tuple[float, float]:
    for spec in fields:
        if spec.get("key") == key:
            low = _number(spec.get("min"))
            high = _number(spec.get("max"))
            if low is not None and high is not None and high > low:
                return low, high
    return 0.0, 10.0


def _versions(session: Session, rows: list[Entry]) -> dict[uuid.UUID, TemplateVersion]:
    return record_types.versions_by_id(session, ids={row.template_version_id for row in rows})


def read(
    session: Session,
    *,
    therapist: Therapist,
    client_id: uuid.UUID,
    appointment_id: uuid.UUID | None = None,
) -> Brief:
    """The brief as the therapist reads it (page or API): built, and the read audited once."""
    data = build(session, therapist=therapist, client_id=client_id, appointment_id=appointment_id)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="brief.read", client_id=client_id)
    return data


def build(
    session: Session,
    *,
    therapist: Therapist,
    client_id: uuid.UUID,
    appointment_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Brief:
    now = now or utcnow()
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    if appointment_id is not None:
        appointment: Appointment | None = appointments.get_for_therapist(
            session, therapist=therapist, appointment_id=appointment_id
        )
        assert appointment is not None
        if appointment.client_id != client.id:
            raise NotFound(_("No such session."))
        previous = appointments.previous_of(session, appointment=appointment)
        as_of = min(now, appointment.starts_at)
    else:
        around = appointments.around_one(session, client_id=client.id, now=now)
        appointment, previous, as_of = around.next, around.last, now
    since = previous.starts_at if previous is not None else as_of - DEFAULT_SPAN
    records = assigned(session, client_ids=[client.id], ended_after=since)[client.id]
    start = min((item.assignment.created_at for item in records), default=since)
    prompts = _prompts(session, client=client, since=since)
    # Adherence counts from every entry's times; the content is read only as far back as the
    # trends reach (a year of answers would be parsed for nothing).
    timed = _timed_facts(session, client=client, since=start, until=as_of, prompts=prompts)
    zones, clock = _zones_and_clock(session, client)
    loaded = adherence.ClientRecords(client=client, zones=zones, records=records, entries=timed)
    through = appointment.starts_at if appointment is not None else as_of
    briefs = [
        RecordBrief(item=item, adherence=figures)
        for item, figures in loaded.each(now=as_of, since=since, through=max(through, as_of), with_delays=True)
    ]
    # From here on, only what the client shared.
    trend_from = min(since, as_of - TREND_SPAN)
    shared = sharing.shared_entries(session, client_id=client.id, since=trend_from, until=as_of)
    versions = _versions(session, shared)
    trends, questionnaires = _series(shared, records=records, versions=versions, clock=clock, from_=trend_from)
    titles = {item.assignment.id: item.title for item in records}
    slugs = {item.assignment.id: item.template.slug for item in records}
    risks = []
    for row in shared:
        if row.occurred_at < since:
            continue
        version = versions.get(row.template_version_id)
        rule, library = (version.scoring if version else None), slugs.get(row.assignment_id)
        for flag in scoring.risk_flags(rule, row.answers, library=library):
            title = titles.get(row.assignment_id, "")
            risks.append(RiskFlag(occurred_at=row.occurred_at, kind=flag, entry_id=row.id, title=title))
    agenda = [row for row in shared if row.visibility == Visibility.discuss and row.occurred_at >= since]
    client_agenda = day_before.for_brief(session, appointment=appointment)
    on_agenda = {row.id: row for row in agenda}
    picked = [on_agenda[entry_id] for entry_id in client_agenda.picked if entry_id in on_agenda]
    agenda = picked + [row for row in agenda if row.id not in set(client_agenda.picked)]
    written = [row for row in shared if row.occurred_at >= since]
    backfilled = []
    threshold = timedelta(hours=12)
    for row in shared:
        if row.occurred_at >= since and row.logged_at - row.occurred_at >= threshold:
            title = titles.get(row.assignment_id, "")
            backfilled.append(Backfill(entry=row, title=title, delay=row.logged_at - row.occurred_at))
    upcoming = appointments.upcoming_for_client(session, client_id=client.id, now=now, limit=4)
    functional = functional_analysis.count(
        session, therapist=therapist, client=client, since=since, as_of=as_of, clock=clock
    )
    # Check-ins and plans count from the records, entry times and clock read above.
    checkins = barriers.for_brief(
        session, therapist=therapist, client=client, since=since, until=as_of, titles=titles, clock=clock
    )
    agreements = plans.for_brief(session, therapist=therapist, client=client, now=as_of, loaded=loaded)
    return Brief(
        client=client,
        appointment=appointment,
        previous=previous,
        since=since,
        as_of=as_of,
        first_day=clock.day_of(since),
        last_day=clock.day_of(max(through, as_of)),
        records=briefs,
        trends=trends,
        questionnaires=questionnaires,
        risks=risks,
        agenda=agenda,
        client_agenda=client_agenda,
        entries=written,
        backfilled=backfilled,
        upcoming=upcoming,
        titles=titles,
        functional=functional,
        barriers=checkins,
        agreements=agreements,
    )


@dataclass
class Progress:
    client: Client
    records: list[RecordBrief]
    trends: list[Series]
    questionnaires: list[Series]
    next_session: Appointment | None
    today: date


def progress(session: Session, *, client: Client, access: PrivateAccess, now: datetime | None = None) -> Progress:
    """The client's own view: all of their entries count as done; the charts show the
    private ones only on a device that may show them (`access`)."""
    now = now or utcnow()
    records = assigned(session, client_ids=[client.id])[client.id]
    start = min((item.assignment.created_at for item in records), default=now - TREND_SPAN)
    rows = _entries(session, client=client, since=min(start, now - TREND_SPAN))
    zones, clock = _zones_and_clock(session, client)
    loaded = adherence.ClientRecords(client=client, zones=zones, records=records, entries=_facts(rows, {}))
    around = appointments.around_one(session, client_id=client.id, now=now)
    briefs = [
        RecordBrief(item=item, adherence=figures)
        for item, figures in loaded.each(now=now, since=around.since, with_delays=True)
    ]
    shown = rows if access.everything else [row for row in rows if access.allows(row)]
    trends, questionnaires = _series(
        shown,
        records=records,
        versions=_versions(session, rows),
        clock=clock,
        from_=now - TREND_SPAN,
    )
    return Progress(
        client=client,
        records=briefs,
        trends=trends,
        questionnaires=questionnaires,
        next_session=around.next,
        today=clock.day_of(now),
    )
