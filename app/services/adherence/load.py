"""Loading what the adherence engine needs, for one client or many, in a fixed number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app.core import i18n
from app.models import Assignment, Client, Entry, RecordTemplate, TemplateVersion, Therapist
from app.services import appointments, audit, clients, zone_history
from app.services.adherence.figures import compute
from app.services.adherence.rules import (
    Adherence,
    DayClock,
    EntryFact,
    Schedule,
    ScheduleChange,
    ZoneChange,
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

    Only times, the nothing-to-report flag and whether the entry is complete (set when it was
    saved) are read, never answers: adherence needs no content.
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
        col(Entry.complete),
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
                logged_at=row[5] if with_logged else occurred,
                nothing_to_report=bool(row[3]),
                key=row[0],
                complete=row[4],
            )
        )
    return out


@dataclass(frozen=True)
class ClientRecords:
    """What the engine needs for one client, loaded once: their zones, assignments and entry
    times. Every reader (brief, client pages, nudge, plans, check-ins, API) measures from one."""

    client: Client
    zones: list[ZoneChange]
    records: list[Assigned]
    entries: dict[uuid.UUID, list[EntryFact]]

    def adherence(
        self,
        item: Assigned,
        *,
        now: datetime,
        since: datetime | None = None,
        window_start: datetime | None = None,
        through: datetime | None = None,
        with_delays: bool = False,
        with_days: bool = True,
    ) -> Adherence:
        """One assignment's adherence (see `figures.figures` for the arguments)."""
        return compute(
            entries=self.entries.get(item.assignment.id, []),
            schedule=item.schedule,
            zones=self.zones,
            boundary=self.client.day_boundary,
            start=item.assignment.created_at,
            end=item.assignment.ended_at,
            now=now,
            since=since,
            window_start=window_start,
            with_delays=with_delays,
            with_days=with_days,
            through=None if through is None else DayClock(self.zones, self.client.day_boundary).day_of(through),
            history=item.history,
        )

    def each(self, **arguments: Any) -> list[tuple[Assigned, Adherence]]:
        """Every assignment with its adherence, measured alike (arguments as `adherence`)."""
        return [(item, self.adherence(item, **arguments)) for item in self.records]


def for_client(
    session: Session,
    *,
    client: Client,
    ended_after: datetime | None = None,
    entries_since: datetime | None = None,
    with_logged: bool = False,
    entries: dict[uuid.UUID, list[EntryFact]] | None = None,
) -> ClientRecords:
    """Load one client's records for the engine, in three queries: zones, assignments (active,
    or ended after `ended_after`) and entry times (from `entries_since`; `entries` when the
    caller has read them already)."""
    return ClientRecords(
        client=client,
        zones=zone_history.history(session, client=client),
        records=assigned(session, client_ids=[client.id], ended_after=ended_after)[client.id],
        entries=entries
        if entries is not None
        else facts(session, client_ids=[client.id], since=entries_since, with_logged=with_logged),
    )


@dataclass(frozen=True)
class ClientAdherence:
    client: Client
    since: datetime | None  # the last session
    records: list[tuple[Assigned, Adherence]]


def read(session: Session, *, therapist: Therapist, client_id: uuid.UUID, now: datetime) -> ClientAdherence:
    """A client's adherence per assignment over its whole history, with day states, as their
    therapist reads it (the API): found among the therapist's clients, and the read audited."""
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    around = appointments.around_one(session, client_id=client.id, now=now)
    loaded = for_client(session, client=client, with_logged=True)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="adherence.read", client_id=client.id)
    return ClientAdherence(
        client=client, since=around.since, records=loaded.each(now=now, since=around.since, with_delays=True)
    )
