"""Functional analysis for the brief: what tends to come before, what the client did, and what it
did for them right away and later on, counted from their ABC records and urge logs.

The rule, all of it:

- Read: the client's ABC records and urge logs (library record types) that happened since the
  last session or in the 28 days before the brief, whichever reaches further back. Shared and
  "discuss in session" entries only: a private one is not even read (the filter is in the
  query). Deleted entries and "nothing to report" are left out.
- Count, per entry, each choice ticked in the fields of app/library/circumstances.py
  (what was going on, where, who was there; what they did; right away; later on), once per
  entry, and only values the record type offers. Values stay the same across versions of a
  form, so the labels are the library's current ones; an entry on a version without the
  choices counts by its time of day only. An urge log's "what they did" is its urge, acted on
  or ridden out when the client said which.
- Time of day comes from when the entry says it happened, on the client's clock at the time:
  night 0–6 h, morning 6–12 h, afternoon 12–18 h, evening 18–24 h.
- Each figure is given twice, since the last session and over 28 days, with the entries behind it.
- The client's free text is never sorted into anything: it is only quoted next to its entry.

One query, whatever the number of entries; it leaves the forms' stored fields unread (their
JSON, read per row, would cost more than all the counting).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core.errors import NotFound
from app.core.i18n import N_, _
from app.library import ABC_RECORD, URGE_LOG, LibraryTemplate
from app.library.circumstances import BEHAVIOUR, LONG_TERM, PEOPLE, PLACE, SHORT_TERM, SITUATION
from app.models import Client, Entry, RecordTemplate, TemplateVersion, Therapist
from app.models.fields import parse_fields
from app.services import sharing
from app.services.adherence.rules import DayClock

WINDOW = timedelta(days=28)
# The client's own words quoted with each entry: what happened, and what they did.
QUOTED: dict[str, tuple[str, str]] = {
    ABC_RECORD.slug: ("activating_event", "consequence_behaviour"),
    URGE_LOG.slug: ("trigger", "what_i_did"),
}


def _options(template: LibraryTemplate) -> dict[str, dict[str, tuple[int, str]]]:
    """{field key: {value: (place in the form, label)}} of a record type's choice fields."""
    return {
        spec.key: {option.value: (index, option.label) for index, option in enumerate(spec.options)}
        for spec in parse_fields(template.fields)
        if spec.type in ("single_choice", "multi_choice")
    }


OPTIONS = {template.slug: _options(template) for template in (ABC_RECORD, URGE_LOG)}


class Part(StrEnum):
    situation = SITUATION
    place = PLACE
    people = PEOPLE
    time_of_day = "time_of_day"
    behaviour = BEHAVIOUR
    short_term = SHORT_TERM
    long_term = LONG_TERM


BEFORE = (Part.situation, Part.place, Part.people, Part.time_of_day)
AFTER = (Part.short_term, Part.long_term)
PART_LABELS: dict[Part, str] = {
    Part.situation: N_("What was going on"),
    Part.place: N_("Where"),
    Part.people: N_("Who was there"),
    Part.time_of_day: N_("Time of day"),
    Part.behaviour: N_("What they did"),
    Part.short_term: N_("Right away"),
    Part.long_term: N_("Later on"),
}

# Six hours each, in the order of the day: the local hour // 6 picks one.
TIMES_OF_DAY = (
    ("night", N_("Night (0–6 h)")),
    ("morning", N_("Morning (6–12 h)")),
    ("afternoon", N_("Afternoon (12–18 h)")),
    ("evening", N_("Evening (18–24 h)")),
)
ACTED_ON = N_("Acted on an urge: %(urge)s")
RODE_OUT = N_("Rode out an urge: %(urge)s")
AN_URGE = N_("An urge: %(urge)s")


@dataclass(frozen=True)
class Behind:
    """One entry behind a count, with what the client wrote (quoted, never classified)."""

    entry_id: uuid.UUID
    template_id: uuid.UUID
    title: str  # the record type's msgid
    occurred_at: datetime
    day: date  # the client's day it happened on
    happened: str
    did: str
    since_session: bool
    last_28: bool


@dataclass
class Count:
    value: str
    label: str  # a msgid; with `urge`, a pattern for it
    order: int
    urge: str = ""
    entries: list[Behind] = field(default_factory=list)  # newest first

    @property
    def since_session(self) -> int:
        return sum(1 for item in self.entries if item.since_session)

    @property
    def last_28(self) -> int:
        return sum(1 for item in self.entries if item.last_28)

    @property
    def text(self) -> str:
        return _(self.label) % {"urge": _(self.urge)} if self.urge else _(self.label)

    def of(self, window: str) -> int:
        return self.since_session if window == "since_session" else self.last_28


@dataclass
class Dimension:
    part: Part
    counts: list[Count]  # anything counted in either window: since the session, then 28 days

    @property
    def label(self) -> str:
        return _(PART_LABELS[self.part])

    def top(self, n: int, *, window: str = "last_28") -> list[Count]:
        """The `n` most frequent in one window ("since_session" or "last_28"), ties in form order."""
        found = [count for count in self.counts if count.of(window)]
        return sorted(found, key=lambda count: (-count.of(window), count.order))[:n]


@dataclass
class FunctionalAnalysis:
    since: datetime
    as_of: datetime
    window_start: datetime  # as_of - 28 days
    first_day: date  # the client's first day read (the earlier of the two windows)
    dimensions: dict[Part, Dimension]
    entries_since_session: int = 0
    entries_last_28: int = 0

    @property
    def empty(self) -> bool:
        return not (self.entries_since_session or self.entries_last_28)

    @property
    def before(self) -> list[Dimension]:
        return [self.dimensions[part] for part in BEFORE if self.dimensions[part].counts]

    @property
    def behaviour(self) -> Dimension:
        return self.dimensions[Part.behaviour]

    @property
    def after(self) -> list[Dimension]:
        return [self.dimensions[part] for part in AFTER if self.dimensions[part].counts]


def count(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    since: datetime,
    as_of: datetime,
    clock: DayClock,
) -> FunctionalAnalysis:
    """Count since the last session (`since` to `as_of`) and over the 28 days before `as_of`."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    window_start = as_of - WINDOW
    statement = (
        select(Entry, TemplateVersion.template_id, TemplateVersion.title, RecordTemplate.slug)
        .join(TemplateVersion, col(TemplateVersion.id) == Entry.template_version_id)
        .join(RecordTemplate, col(RecordTemplate.id) == TemplateVersion.template_id)
        .where(
            Entry.client_id == client.id,
            col(Entry.deleted_at).is_(None),
            sharing.shared(),
            col(Entry.nothing_to_report).is_(False),
            col(RecordTemplate.slug).in_(list(QUOTED)),
            Entry.occurred_at >= min(since, window_start),
            Entry.occurred_at <= as_of,
        )
        .order_by(col(Entry.occurred_at).desc())
    )
    tallies: dict[Part, dict[str, Count]] = {part: {} for part in Part}
    result = FunctionalAnalysis(
        since=since,
        as_of=as_of,
        window_start=window_start,
        first_day=clock.day_of(min(since, window_start)),
        dimensions={},
    )
    for entry, template_id, title, slug in session.exec(statement):
        if slug is None:  # never: the query asks for two library record types
            continue
        happened_key, did_key = QUOTED[slug]
        behind = Behind(
            entry_id=entry.id,
            template_id=template_id,
            title=title,
            occurred_at=entry.occurred_at,
            day=clock.day_of(entry.occurred_at),
            happened=_text(entry.answers.get(happened_key)),
            did=_text(entry.answers.get(did_key)),
            since_session=entry.occurred_at >= since,
            last_28=entry.occurred_at >= window_start,
        )
        result.entries_since_session += behind.since_session
        result.entries_last_28 += behind.last_28
        for part, value, label, order, urge in _choices(entry, slug, clock=clock):
            found = tallies[part].get(value)
            if found is None:
                found = tallies[part][value] = Count(value=value, label=label, order=order, urge=urge)
            found.entries.append(behind)
    result.dimensions = {
        part: Dimension(
            part=part,
            counts=sorted(found.values(), key=lambda item: (-item.since_session, -item.last_28, item.order)),
        )
        for part, found in tallies.items()
    }
    return result


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _choices(entry: Entry, slug: str, *, clock: DayClock) -> Iterable[tuple[Part, str, str, int, str]]:
    """(part, value, label, order, urge label) of everything this entry counts towards."""
    offered = OPTIONS[slug]
    for part in (Part.situation, Part.place, Part.people, Part.behaviour, Part.short_term, Part.long_term):
        options = offered.get(part.value, {})
        for value in _picked(entry.answers.get(part.value)):
            if value in options:
                order, label = options[value]
                yield part, value, label, order, ""
    if slug == URGE_LOG.slug:
        yield from _urge(entry.answers, offered["urge_type"])
    local = entry.occurred_at.astimezone(ZoneInfo(clock.zone_at(entry.occurred_at)))
    order = local.hour // 6
    value, label = TIMES_OF_DAY[order]
    yield Part.time_of_day, value, label, order, ""


def _picked(answer: Any) -> list[str]:
    """The values ticked, each once: a list (several choices) or one value (a single choice)."""
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, list):
        return list(dict.fromkeys(value for value in answer if isinstance(value, str)))
    return []


def _urge(answers: dict[str, Any], urges: dict[str, tuple[int, str]]) -> Iterable[tuple[Part, str, str, int, str]]:
    """An urge log's behaviour: the urge, acted on or ridden out when the client said which."""
    urge = answers.get("urge_type")
    if not isinstance(urge, str) or urge not in urges:
        return
    index, label = urges[urge]
    acted = answers.get("acted_on")
    if acted is True:
        state, pattern, rank = "acted_on", ACTED_ON, 0
    elif acted is False:
        state, pattern, rank = "rode_out", RODE_OUT, 1
    else:
        state, pattern, rank = "urge", AN_URGE, 2
    # After the ABC record's choices (at most 30 of them) in form order.
    yield Part.behaviour, f"urge.{urge}.{state}", pattern, 100 + 3 * index + rank, label
