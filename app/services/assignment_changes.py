"""What became of an assignment after it was given: its edits, stops and restarts.

The history keeps past days counted by the rules they had (`schedule_histories`, read
by the adherence engines), tells the client what changed (`notices`, on Today and on
the record) and shows the therapist what was changed when (`described`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from babel.lists import format_list
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.querying import among
from app.models import AssignmentChange, ChangeKind, Client, Frequency, Reminder
from app.models.types import utcnow
from app.services.adherence.rules import (
    ALL_WEEKDAYS,
    Schedule,
    ScheduleChange,
)
from app.services.frequency import frequency_label as frequency_rules_label
from app.services.frequency import wide_day_names

SCHEDULE_FIELDS = ("frequency", "times_per_day", "weekdays")
# A notice the client never dismissed goes away by itself after this long.
NOTICE_DAYS = timedelta(days=21)


def _schedule(snapshot: dict[str, Any]) -> Schedule:
    return Schedule(
        frequency=Frequency(snapshot["frequency"]),
        times_per_day=max(1, int(snapshot.get("times_per_day") or 1)),
        weekdays=tuple(sorted(set(snapshot.get("weekdays") or ALL_WEEKDAYS))),
    )


def _schedule_changed(change: AssignmentChange) -> bool:
    return any(change.before.get(key) != change.after.get(key) for key in SCHEDULE_FIELDS)


def schedule_histories(
    session: Session, *, assignment_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[ScheduleChange, ...]]:
    """For each assignment whose rules ever changed, the rules it had before each change, in
    one query. A stop that was undone reads as days that asked for nothing."""
    ids = list(assignment_ids)
    if not ids:
        return {}
    statement = (
        select(AssignmentChange)
        .where(among(session, col(AssignmentChange.assignment_id), ids))
        .order_by(col(AssignmentChange.changed_at))
    )
    by_assignment: dict[uuid.UUID, list[AssignmentChange]] = {}
    for change in session.exec(statement):
        by_assignment.setdefault(change.assignment_id, []).append(change)
    out: dict[uuid.UUID, tuple[ScheduleChange, ...]] = {}
    for assignment_id, changes in by_assignment.items():
        history: list[ScheduleChange] = []
        for index, change in enumerate(changes):
            if change.kind is ChangeKind.changed and _schedule_changed(change):
                history.append(ScheduleChange(until=change.changed_at, schedule=_schedule(change.before)))
            elif change.kind is ChangeKind.stopped:
                restarted = any(later.kind is ChangeKind.restarted for later in changes[index + 1 :])
                if restarted:  # a stop still in force is the assignment's end, not a change of rules
                    history.append(ScheduleChange(until=change.changed_at, schedule=_schedule(change.before)))
            elif change.kind is ChangeKind.restarted:
                history.append(ScheduleChange(until=change.changed_at, schedule=None))
        if history:
            out[assignment_id] = tuple(history)
    return out


# -- words -------------------------------------------------------------------------------------


def how_often(snapshot: dict[str, Any] | Any) -> str:
    """A record's frequency in words, to follow "now": "twice a day", "on Monday and Friday"."""
    values = snapshot if isinstance(snapshot, dict) else _snapshot_of(snapshot)
    frequency = Frequency(values["frequency"])
    weekdays = sorted(values.get("weekdays") or ALL_WEEKDAYS)
    if frequency is Frequency.weekdays:
        names = wide_day_names()
        days = format_list([names[day - 1] for day in weekdays], locale=i18n.get_locale())
        return i18n.gettext("on %(days)s", days=days)
    return frequency_rules_label(SimpleNamespace(**values))


def _snapshot_of(assignment: Any) -> dict[str, Any]:
    from app.services.assignments import snapshot

    return snapshot(assignment)


def _times(values: list[str]) -> str:
    return format_list(list(values), locale=i18n.get_locale())


@dataclass(frozen=True)
class Notice:
    """What the client is told about one of their records: one line per kind of change."""

    assignment_id: uuid.UUID
    title: str
    changed_at: datetime
    lines: list[str]
    # The therapist proposed new times but the client's own stay: offer the reminders page.
    suggest_reminders: bool


def _client_lines(
    before: dict[str, Any], after: dict[str, Any], *, title: str, reminder: Reminder | None
) -> tuple[list[str], bool]:
    lines = []
    suggest = False
    if any(before.get(key) != after.get(key) for key in SCHEDULE_FIELDS):
        lines.append(i18n.gettext("Your therapist changed: %(title)s now %(how)s.", title=title, how=how_often(after)))
    if before.get("instructions") != after.get("instructions"):
        if after.get("instructions"):
            lines.append(
                i18n.gettext(
                    "New words from your therapist for %(title)s: “%(text)s”", title=title, text=after["instructions"]
                )
            )
        else:
            lines.append(i18n.gettext("Your therapist took away the note on %(title)s.", title=title))
    if before.get("proposed_times") != after.get("proposed_times"):
        proposed = list(after.get("proposed_times") or [])
        if reminder is not None and reminder.chosen_at is not None:
            suggest = True
            if proposed:
                lines.append(
                    i18n.gettext(
                        "Your therapist suggests reminders at %(times)s. Yours stay as you chose them.",
                        times=_times(proposed),
                    )
                )
        elif proposed:
            lines.append(
                i18n.gettext("Reminders for %(title)s now come at %(times)s.", title=title, times=_times(proposed))
            )
        else:
            lines.append(i18n.gettext("No set reminder times for %(title)s now. You can choose your own.", title=title))
            suggest = True
    return lines, suggest


def notices(
    session: Session, *, client: Client, titles: dict[uuid.UUID, str], now: datetime | None = None
) -> list[Notice]:
    """Changes to the client's running records (`titles`, by assignment) they have not yet
    dismissed, told together per record: from what it was before the first to what it is now."""
    now = now or utcnow()
    if not titles:
        return []
    statement = (
        select(AssignmentChange)
        .where(
            AssignmentChange.client_id == client.id,
            AssignmentChange.kind == ChangeKind.changed,
            col(AssignmentChange.seen_at).is_(None),
            AssignmentChange.changed_at >= now - NOTICE_DAYS,
        )
        .order_by(col(AssignmentChange.changed_at))
    )
    grouped: dict[uuid.UUID, list[AssignmentChange]] = {}
    for change in session.exec(statement):
        if change.assignment_id in titles:
            grouped.setdefault(change.assignment_id, []).append(change)
    if not grouped:
        return []
    reminders = {
        reminder.assignment_id: reminder
        for reminder in session.exec(select(Reminder).where(Reminder.client_id == client.id))
    }
    out = []
    for assignment_id, changes in grouped.items():
        lines, suggest = _client_lines(
            changes[0].before,
            changes[-1].after,
            title=titles[assignment_id],
            reminder=reminders.get(assignment_id),
        )
        if lines:
            out.append(Notice(assignment_id, titles[assignment_id], changes[-1].changed_at, lines, suggest))
    out.sort(key=lambda notice: notice.changed_at, reverse=True)
    return out


def mark_seen(session: Session, *, client: Client, assignment_id: uuid.UUID, now: datetime | None = None) -> int:
    """The client read what changed on one of their records: the notice goes."""
    from app.services.assignment_lookup import get_for_client

    assignment = get_for_client(session, client=client, assignment_id=assignment_id)
    seen = 0
    for change in session.exec(
        select(AssignmentChange).where(
            AssignmentChange.assignment_id == assignment.id,
            AssignmentChange.client_id == client.id,
            col(AssignmentChange.seen_at).is_(None),
        )
    ):
        change.seen_at = now or utcnow()
        session.add(change)
        seen += 1
    return seen  # nothing left to dismiss (a second tap, another device) is fine too


# -- the therapist's view ----------------------------------------------------------------------


@dataclass(frozen=True)
class Described:
    change: AssignmentChange
    lines: list[str]


def _therapist_lines(change: AssignmentChange) -> list[str]:
    if change.kind is ChangeKind.stopped:
        return [i18n.gettext("Stopped")]
    if change.kind is ChangeKind.restarted:
        return [i18n.gettext("Started again (the stop was undone)")]
    before, after = change.before, change.after
    lines = []
    if any(before.get(key) != after.get(key) for key in SCHEDULE_FIELDS):
        lines.append(
            i18n.gettext("How often: %(before)s → %(after)s", before=how_often(before), after=how_often(after))
        )
    if before.get("instructions") != after.get("instructions"):
        lines.append(i18n.gettext("Instructions changed"))
    if before.get("proposed_times") != after.get("proposed_times"):
        lines.append(
            i18n.gettext(
                "Suggested reminder times: %(before)s → %(after)s",
                before=_times(before.get("proposed_times") or []) or "–",
                after=_times(after.get("proposed_times") or []) or "–",
            )
        )
    return lines


def described(session: Session, *, client_id: uuid.UUID) -> dict[uuid.UUID, list[Described]]:
    """Every change to the client's records, newest first, by assignment."""
    out: dict[uuid.UUID, list[Described]] = {}
    statement = (
        select(AssignmentChange)
        .where(AssignmentChange.client_id == client_id)
        .order_by(col(AssignmentChange.changed_at).desc())
    )
    for change in session.exec(statement):
        out.setdefault(change.assignment_id, []).append(Described(change, _therapist_lines(change)))
    return out


def reminders_by_assignment(session: Session, *, client_id: uuid.UUID) -> dict[uuid.UUID, Reminder]:
    return {
        reminder.assignment_id: reminder
        for reminder in session.exec(select(Reminder).where(Reminder.client_id == client_id))
    }
