"""The pre-session brief's reading part: what the client wrote since the last session, grouped by
record type, "discuss in session" ones first, each entry whole on one card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session

from app.models import Visibility
from app.services.brief import Brief
from app.services.entry_text import EntryView, entry_views

# Cards shown per record type; the rest are a link away (the client page, filtered).
CARDS_PER_GROUP = 30


@dataclass
class EntryGroup:
    title: str
    template_id: uuid.UUID | None  # for the link to the client page filtered to this record type
    items: list[EntryView] = field(default_factory=list)
    total: int = 0
    discuss: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class Reading:
    groups: list[EntryGroup]
    # "Discuss in session" entries in the brief's agenda order: the client's day-before picks
    # first (each also in its group).
    agenda: list[EntryView]
    picked: set[uuid.UUID] = field(default_factory=set)


def reading(session: Session, brief: Brief, *, cap: int = CARDS_PER_GROUP) -> Reading:
    """Group the brief's shared entries (private ones are never in `brief.entries`) by record type."""
    views = entry_views(session, brief.entries)
    names = {item.item.assignment.id: (item.item.template.id, item.title) for item in brief.records}
    order = {item.item.template.id: index for index, item in enumerate(brief.records)}
    groups: dict[object, EntryGroup] = {}
    for view in views:
        template_id, title = names.get(view.entry.assignment_id, (None, view.title))
        key: object = template_id if template_id is not None else title
        group = groups.get(key)
        if group is None:
            group = groups[key] = EntryGroup(title=title, template_id=template_id)
        group.items.append(view)
        group.total += 1
        group.discuss += view.entry.visibility == Visibility.discuss
    for group in groups.values():
        # "Discuss in session" first, then the rest; each in the order they happened.
        group.items.sort(key=lambda view: (view.entry.visibility != Visibility.discuss, view.entry.occurred_at))
        del group.items[cap:]
    ordered = sorted(
        groups.values(),
        key=lambda group: (
            group.discuss == 0,
            order.get(group.template_id, len(order)) if group.template_id else len(order),
            group.title.lower(),
        ),
    )
    by_id = {view.entry.id: view for view in views}
    agenda = [by_id[row.id] for row in brief.agenda if row.id in by_id]
    picked = {entry_id for entry_id in brief.client_agenda.picked if entry_id in by_id}
    return Reading(groups=ordered, agenda=agenda, picked=picked)
