"""Seen: the client's sign that a reminder reached them (a tap, a button, the page it opens)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, select

from app.core.errors import NotFound
from app.core.i18n import _
from app.models import (
    Client,
    PushSubscription,
    ReminderOccurrence,
)
from app.models.types import utcnow


def mark_seen(
    session: Session,
    *,
    client_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    reminder_id: uuid.UUID | None = None,
    endpoint: str = "",
    now: datetime | None = None,
) -> ReminderOccurrence:
    """Note that the client saw this reminder: a tap on its notification or one of its buttons
    (the service worker's beacon names the device by its push endpoint, which only that
    browser and this server know), or the page it opens. The first sign sets `seen_at`; each
    beacon counts for its device. Only the client's own occurrence, of the reminder named
    when one is (the beacon's token names it)."""
    now = now or utcnow()
    occurrence = session.get(ReminderOccurrence, occurrence_id)
    if (
        occurrence is None
        or occurrence.client_id != client_id
        or (reminder_id is not None and occurrence.reminder_id != reminder_id)
    ):
        raise NotFound(_("No such reminder."))
    if occurrence.seen_at is None:
        occurrence.seen_at = now
        session.add(occurrence)
    if endpoint:
        device = session.exec(
            select(PushSubscription).where(
                PushSubscription.endpoint == endpoint[:2048], PushSubscription.client_id == client_id
            )
        ).first()
        if device is not None:
            device.seen_count += 1
            device.last_seen_at = now
            session.add(device)
    session.flush()
    return occurrence


def seen_from_link(session: Session, *, client: Client, occurrence: str | None) -> bool:
    """The page a reminder opens carries its occurrence (`?occurrence=`): opening it counts as
    seen. Anything else there (a mangled or someone else's id) is ignored: the page still opens."""
    if not occurrence:
        return False
    try:
        occurrence_id = uuid.UUID(occurrence[:64])
    except ValueError:
        return False
    try:
        mark_seen(session, client_id=client.id, occurrence_id=occurrence_id)
    except NotFound:
        return False
    return True
