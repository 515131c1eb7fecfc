"""Loading what the adherence engine needs, for one client or many, in a fixed number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app.core import i18n
from app.models import Assignment, Client, Entry, RecordTemplate, TemplateVersion
from app.services.adherence.rules import (
    Adherence,
    DayClock,
    EntryFact,
    Schedule,
    ScheduleChange,
    ZoneChange,
    compute,
)


@dataclass(frozen=True)
class Assigned:
    assignment: Assignment
    version: TemplateVersion  # the current version: its title names the record
    template: RecordTemplate
    # The rules it had before each edit (see `assignment_changes.schedule_histories`).
    history: tuple[ScheduleChange, ...] = ()

    @property
    def title(self) -> str:
        if self.template.is_library and self.version.title:
            return i18n.gettext(self.version.title)
        return self.version.title

    @property
    def schedule(self) -> Schedule:
        return Schedule.of(self.assignment)

    @property
    def scoring(self) -> str | None:
        return self.version.scoring


def assigned(
    session: Session, *, client_ids: Iterable[uuid.UUID], ended_after: datetime | None = None
) -> dict[uuid.UUID, list[Assigned]]:
    """Each client's assignments (active, or ended after `ended_after`), in one query."""
    ids = list(client_ids)
    out: dict[uuid.UUID, list[Assigned]] = {client_id: [] for client_id in ids}
    if not ids:
        return out
    live: ColumnElement[bool] = col(Assignment.ended_at).is_(None)
    if ended_after is not None:
        live = or_(live, col(Assignment.ended_at) > ended_after)
    statement = (
        select(Assignment, TemplateVersion, RecordTemplate)
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(
            TemplateVersion,
            (col(TemplateVersion.template_id) == RecordTemplate.id)
            & (col(TemplateVersion.number) == RecordTemplate.current_version),
        )
        .where(col(Assignment.client_id).in_(ids), live)
        # The form's fields are not needed to name a record or count its entries.
        .options(
            load_only(
                TemplateVersion.id,  # type: ignore[arg-type]
                TemplateVersion.template_id,  # type: ignore[arg-type]
                TemplateVersion.number,  # type: ignore[arg-type]
                TemplateVersion.title,  # type: ignore[arg-type]
                TemplateVersion.scoring,  # type: ignore[arg-type]
            )
        )
        .order_by(col(Assignment.created_at))
    )
    rows = list(session.exec(statement))
    from app.services.assignment_changes import schedule_histories

    histories = schedule_histories(session, assignment_ids=[assignment.id for assignment, _v, _t in rows])
    for assignment, version, template in rows:
        out[assignment.client_id].append(Assigned(assignment, version, template, histories.get(assignment.id, ())))
    return out


def facts(
    session: Session,
    *,
    client_ids: Iterable[uuid.UUID],
    since: datetime | None = None,
    with_logged: bool = True,
) -> dict[uuid.UUID, list[EntryFact]]:
    """Timestamps of every live entry (private ones too: they count as done), by assignment.

    Only times and the nothing-to-report flag are read, never answers: adherence
    needs no content.
    """
    ids = list(client_ids)
    out: dict[uuid.UUID, list[EntryFact]] = {}
    if not ids:
        return out
    columns = [
        col(Entry.id),
        col(Entry.assignment_id),
        col(Entry.occurred_at),
        col(Entry.nothing_to_report),
    ]
    if with_logged:
        columns.append(col(Entry.logged_at))
    statement = select(*columns).where(col(Entry.client_id).in_(ids), col(Entry.deleted_at).is_(None))
    if since is not None:
        statement = statement.where(Entry.occurred_at >= since)
    for row in session.execute(statement):
        occurred = row[2]
        out.setdefault(row[1], []).append(
            EntryFact(
                occurred_at=occurred,
                logged_at=row[4] if with_logged else occurred,
                nothing_to_report=bool(row[3]),
                key=row[0],
            )
        )
    return out


def adherence_of(
    item: Assigned,
    *,
    client: Client,
    zones: list[ZoneChange],
    entries: list[EntryFact],
    now: datetime,
    since: datetime | None = None,
    window_start: datetime | None = None,
    through: datetime | None = None,
    with_delays: bool = True,
    with_days: bool = True,
) -> Adherence:
    return compute(
        entries=entries,
        schedule=item.schedule,
        zones=zones,
        boundary=client.day_boundary,
        start=item.assignment.created_at,
        end=item.assignment.ended_at,
        now=now,
        since=since,
        window_start=window_start,
        with_delays=with_delays,
        with_days=with_days,
        through=None if through is None else _local_date(through, zones, client),
        history=item.history,
    )


def _local_date(instant: datetime, zones: list[ZoneChange], client: Client) -> date:
    return DayClock(zones, client.day_boundary).day_of(instant)
