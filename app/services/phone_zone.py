"""The client's time zone comes from their phone, never from the therapist's browser.

A new client's zone is a placeholder ("UTC", `Client.timezone_set_at` empty) until their
phone says where it is: when it joins (the join form carries the browser's zone) and
whenever Between opens (js/zone.js). From then on the phone never changes the zone by
itself; when it reports another one, the client is asked whether reminders should follow
it, with travel in mind:

- "Yes" (a move) is one tap: reminders are rescheduled so that 08:30 is 08:30 where the
  client now is, and the zone history keeps past days where they were;
- "Not now" (a trip) is remembered for that zone for `DECLINE_DAYS` days, so a weekend
  away is one tap, not two a day; a phone that goes on to yet another zone is asked again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from babel.dates import get_timezone_location
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.errors import Invalid
from app.core.i18n import _
from app.core.timeutil import valid_timezone
from app.models import Client, ClientZoneChange
from app.models.types import utcnow
from app.services import clients, reminders

DECLINE_DAYS = 7


class Seen(StrEnum):
    same = "same"  # the phone is in the client's zone
    taken = "taken"  # the zone was a placeholder: the phone's zone is the client's now
    ask = "ask"  # another zone than the client's: ask whether reminders should follow
    declined = "declined"  # the client said "Not now" to this zone a short while ago


def checked_zone(zone: str) -> str:
    try:
        return valid_timezone(zone.strip())
    except ValueError:
        raise Invalid(
            _("Unknown time zone. Use a name like Europe/Madrid or America/New_York."),
            errors={"timezone": _("Unknown time zone. Use a name like Europe/Madrid or America/New_York.")},
        ) from None


def place_name(zone: str, locale: str | None = None) -> str:
    """ "New York" for America/New_York, in the reader's language ("Nueva York")."""
    try:
        return str(get_timezone_location(zone, locale=locale or i18n.get_locale(), return_city=True))
    except (LookupError, ValueError):
        return zone.rsplit("/", 1)[-1].replace("_", " ")


def known(client: Client) -> bool:
    """Whether the client's zone was set by their phone or by them (not the placeholder)."""
    return client.timezone_set_at is not None


def seen(session: Session, *, client: Client, zone: str, now: datetime | None = None) -> Seen:
    """The client's phone says it is in `zone` (when it joins, or when Between opens)."""
    zone = checked_zone(zone)
    now = now or utcnow()
    if zone == client.timezone:
        if client.timezone_set_at is None or client.zone_declined is not None:
            # The placeholder was right after all; a trip that was declined is over.
            client.timezone_set_at = client.timezone_set_at or now
            client.zone_declined = None
            client.zone_declined_until = None
            session.add(client)
        return Seen.same
    if client.timezone_set_at is None:
        _take(session, client=client, zone=zone, now=now)
        return Seen.taken
    if client.zone_declined == zone and client.zone_declined_until is not None and client.zone_declined_until > now:
        return Seen.declined
    return Seen.ask


def follow(session: Session, *, client: Client, zone: str, now: datetime | None = None) -> Client:
    """ "Yes": reminders follow the phone into `zone` from now on; past days stay put."""
    zone = checked_zone(zone)
    return clients.update_preferences(session, client=client, timezone=zone, now=now)


def not_now(
    session: Session, *, client: Client, zone: str, now: datetime | None = None, days: int = DECLINE_DAYS
) -> Client:
    """ "Not now": keep the client's zone, and do not ask about `zone` again for a while."""
    zone = checked_zone(zone)
    now = now or utcnow()
    client.zone_declined = zone
    client.zone_declined_until = now + timedelta(days=days)
    session.add(client)
    return client


def _take(session: Session, *, client: Client, zone: str, now: datetime) -> None:
    """The first zone the phone gives replaces the placeholder as if it had always been the
    client's: the placeholder was never a place the client lived in, so no history is kept
    (unless there is some already, from an import or an older version)."""
    moved_before = session.exec(
        select(ClientZoneChange.id).where(col(ClientZoneChange.client_id) == client.id).limit(1)
    ).first()
    if moved_before is not None:
        clients.update_preferences(session, client=client, timezone=zone, now=now)
        return
    client.timezone = zone
    client.timezone_set_at = now
    client.zone_declined = None
    client.zone_declined_until = None
    session.add(client)
    reminders.reschedule_client(session, client=client, now=now)
