"""A therapist's clients, and the rule that they see only their own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.core.timeutil import valid_timezone
from app.models import Client, Therapist
from app.models.types import utcnow
from app.services import audit, invites


def list_for_therapist(session: Session, *, therapist_id: uuid.UUID) -> list[Client]:
    statement = select(Client).where(Client.therapist_id == therapist_id).order_by(col(Client.display_name))
    return list(session.exec(statement))


def get_for_therapist(session: Session, *, therapist: Therapist, client_id: uuid.UUID) -> Client:
    client = session.get(Client, client_id)
    # Another therapist's client is answered exactly like a missing one.
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    return client


def create(session: Session, *, therapist: Therapist, display_name: str, timezone: str | None = None) -> Client:
    """A new client of `therapist`. Their time zone is unknown ("UTC", not set) until their
    phone says (app/services/phone_zone.py): the therapist's pages never pass `timezone`,
    which is for the demo, imports and tests, where the zone is known."""
    name = display_name.strip()
    if not name or len(name) > 120:
        raise Invalid(_("Give the client a name or alias (up to 120 characters)."))
    try:
        zone = valid_timezone(timezone or "UTC")
    except ValueError:
        raise Invalid(_("Unknown time zone.")) from None
    client = Client(
        display_name=name,
        therapist_id=therapist.id,
        timezone=zone,
        timezone_set_at=utcnow() if timezone else None,
    )
    session.add(client)
    session.flush()
    return client


def update_preferences(
    session: Session,
    *,
    client: Client,
    timezone: str | None = None,
    locale: str | None = None,
    now: datetime | None = None,
) -> Client:
    moved = False
    if timezone is not None:
        try:
            zone = valid_timezone(timezone)
        except ValueError:
            raise Invalid(_("Unknown time zone.")) from None
        from app.services import zone_history

        zone_history.record_change(session, client=client, timezone=zone, at=now)
        moved = zone != client.timezone
        client.timezone = zone
        # Chosen by the client (or their phone, with the client's yes): no longer a placeholder,
        # and an earlier "Not now" to another zone is settled by this choice.
        client.timezone_set_at = now or utcnow()
        client.zone_declined = None
        client.zone_declined_until = None
    if locale is not None:
        from app.core.i18n import SUPPORTED_LOCALES

        if locale not in SUPPORTED_LOCALES:
            raise Invalid(_("Unknown language."))
        client.locale = locale
    session.add(client)
    if moved:
        # 08:30 stays 08:30 where the client now lives: every reminder's next instant moves.
        from app.services import reminders

        reminders.reschedule_client(session, client=client, now=now)
    return client


def unlink(session: Session, *, therapist: Therapist, client_id: uuid.UUID) -> Client:
    """End the link. The client keeps their records and devices; the former therapist's
    pending invitations die with it, so none can sign a device in afterwards."""
    client = get_for_therapist(session, therapist=therapist, client_id=client_id)
    client.therapist_id = None
    session.add(client)
    invites.revoke_pending(session, client_id=client.id)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="client.unlinked", client_id=client.id)
    return client
