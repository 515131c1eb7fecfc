"""Which of a client's devices may show private entries.

An invitation signs a phone in, but the therapist issues invitations, so redeeming
one proves only that someone got the code, not that the client holds the phone. A
client's first device is trusted at once (there is nothing private yet and nobody
else to ask). Every later device starts with the shared records only, plus the
private entries it writes itself, until the client confirms it: from a device that
is already confirmed, or with the app PIN. Account-wide acts (other devices, the PIN,
the download, deleting the account) need a confirmed device too, so an unconfirmed
one cannot lock the client out or make itself trusted.

Every device, confirmed or not, signed out or not, stays on the client's devices
page with who issued the invitation that signed it in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, col, select

from app.core.errors import Forbidden, NotFound
from app.core.i18n import _
from app.models import BarrierCheckin, Client, DeviceSession, Entry, Invite, SessionKind, Therapist
from app.models.types import utcnow
from app.services import audit, pins, sharing


@dataclass(frozen=True, slots=True)
class PrivateAccess:
    """What private entries one client device may show: all of them once confirmed,
    else only those it wrote itself. Every client read of entry content takes one."""

    device_id: uuid.UUID | None
    everything: bool

    @classmethod
    def of(cls, device: DeviceSession) -> PrivateAccess:
        return cls(device_id=device.id, everything=device.confirmed_at is not None)

    def entries(self) -> ColumnElement[bool]:
        """A condition on `Entry` for the query itself, so nothing is filtered afterwards."""
        if self.everything:
            return true()
        shared = sharing.shared()
        if self.device_id is None:
            return shared
        return or_(shared, col(Entry.device_id) == self.device_id)

    def allows(self, entry: Entry | BarrierCheckin) -> bool:
        return (
            self.everything
            or sharing.is_shared(entry)
            or (self.device_id is not None and entry.device_id == self.device_id)
        )


# For services that read a client's entries outside any device (the client's own
# exports built for a confirmed device are passed one explicitly; this is for code
# that acts for the client as a whole, such as account deletion).
EVERYTHING = PrivateAccess(device_id=None, everything=True)


def admit(
    session: Session, *, client: Client, invite: Invite, device: DeviceSession, previous: DeviceSession | None = None
) -> None:
    """Settle what a device just signed in by `invite` may show, and record it.

    Confirmed at once: the account's first device (no PIN, no earlier device), or a
    browser that was already a confirmed device of this client and signs in afresh."""
    device.invited_by_id = invite.therapist_id
    earlier = session.exec(
        select(DeviceSession.id).where(DeviceSession.client_id == client.id, DeviceSession.id != device.id).limit(1)
    ).first()
    same_browser = previous is not None and previous.client_id == client.id and previous.confirmed_at is not None
    if same_browser or (earlier is None and client.pin_hash is None):
        device.confirmed_at = utcnow()
    session.add(device)
    audit.record(
        session,
        actor_kind="client",
        actor_id=client.id,
        action="device.joined" if device.confirmed_at else "device.joined_unconfirmed",
        client_id=client.id,
        subject_id=device.id,
    )


def unconfirmed_message() -> str:
    return _("Confirm this device first: from a phone of yours that is already signed in, or with your PIN.")


def require_confirmed(device: DeviceSession) -> None:
    """For acts on the whole account. Raises Forbidden on a device not yet confirmed."""
    if device.kind == SessionKind.client and device.confirmed_at is None:
        raise Forbidden(unconfirmed_message())


def confirm_with_pin(
    session: Session, *, client: Client, device: DeviceSession, pin: str, max_attempts: int, window_seconds: int
) -> bool:
    """True confirms the device; False is a wrong PIN; raises after too many tries (the
    PIN's own limit, shared with unlocking)."""
    if client.pin_hash is None or device.client_id != client.id:
        return False
    if not pins.unlock(
        session, client=client, device=device, pin=pin, max_attempts=max_attempts, window_seconds=window_seconds
    ):
        return False
    _confirm(session, client=client, device=device, by=device)
    return True


def confirmed_by_pin(session: Session, *, client: Client, device: DeviceSession) -> None:
    """The PIN was just entered correctly on this device (unlocking it): it is the client's."""
    _confirm(session, client=client, device=device, by=device)


def confirm_from(session: Session, *, client: Client, confirming: DeviceSession, device_id: uuid.UUID) -> DeviceSession:
    """The client, on a confirmed device, says a new device is theirs."""
    require_confirmed(confirming)
    device = _live_device(session, client=client, device_id=device_id)
    _confirm(session, client=client, device=device, by=confirming)
    return device


def _confirm(session: Session, *, client: Client, device: DeviceSession, by: DeviceSession) -> None:
    if device.confirmed_at is not None:
        return
    device.confirmed_at = utcnow()
    session.add(device)
    audit.record(
        session,
        actor_kind="client",
        actor_id=client.id,
        action="device.confirmed_with_pin" if by.id == device.id else "device.confirmed",
        client_id=client.id,
        subject_id=device.id,
    )


def _live_device(session: Session, *, client: Client, device_id: uuid.UUID) -> DeviceSession:
    device = session.get(DeviceSession, device_id)
    if (
        device is None
        or device.client_id != client.id
        or device.revoked_at is not None
        or device.expires_at <= utcnow()
    ):
        raise NotFound(_("No such device."))
    return device


def revoke(session: Session, *, client: Client, device: DeviceSession, by: str, actor_id: uuid.UUID) -> None:
    """Sign a client's device out, saying who did. The row stays: it is the client's history."""
    if device.revoked_at is not None:
        return
    device.revoked_at = utcnow()
    device.revoked_by = by
    session.add(device)
    audit.record(
        session, actor_kind=by, actor_id=actor_id, action="device.revoked", client_id=client.id, subject_id=device.id
    )


def can_be_confirmed(session: Session, *, client: Client, device: DeviceSession) -> bool:
    """Whether the client has a way to confirm this device: a PIN, or another confirmed
    device still signed in."""
    if client.pin_hash is not None:
        return True
    other = session.exec(
        select(DeviceSession.id).where(
            DeviceSession.client_id == client.id,
            DeviceSession.id != device.id,
            col(DeviceSession.confirmed_at).is_not(None),
            col(DeviceSession.revoked_at).is_(None),
            DeviceSession.expires_at > utcnow(),
        )
    ).first()
    return other is not None


@dataclass(frozen=True)
class DeviceView:
    """One device as the client sees it in their history."""

    id: uuid.UUID
    label: str
    created_at: datetime
    last_seen_at: datetime
    confirmed: bool
    active: bool
    revoked_at: datetime | None
    revoked_by: str
    invited_by: str | None


def history(session: Session, *, client: Client, limit: int = 50) -> list[DeviceView]:
    """Every device that ever signed in to the account, newest first: signed out ones
    too, so a device someone else used and revoked does not vanish from the record."""
    rows = session.exec(
        select(DeviceSession, Therapist.display_name)
        .outerjoin(Therapist, col(Therapist.id) == DeviceSession.invited_by_id)
        .where(DeviceSession.client_id == client.id)
        .order_by(col(DeviceSession.created_at).desc())
        .limit(limit)
    ).all()
    now = utcnow()
    return [
        DeviceView(
            id=device.id,
            label=device.label,
            created_at=device.created_at,
            last_seen_at=device.last_seen_at,
            confirmed=device.confirmed_at is not None,
            active=device.revoked_at is None and device.expires_at > now,
            revoked_at=device.revoked_at,
            revoked_by=device.revoked_by,
            invited_by=name,
        )
        for device, name in rows
    ]


def waiting(session: Session, *, client: Client, devices: list[DeviceView] | None = None) -> list[DeviceView]:
    """Signed-in devices the client has not confirmed: shown on their confirmed devices.
    `devices` is the history when the caller read it already."""
    found = history(session, client=client) if devices is None else devices
    return [view for view in found if view.active and not view.confirmed]


def context_for(
    session: Session, *, client: Client, device: DeviceSession, devices: list[DeviceView] | None = None
) -> dict[str, Any]:
    """What every client page needs to say about this device's trust."""
    confirmed = device.confirmed_at is not None
    return {
        "device_confirmed": confirmed,
        "device_can_confirm": (not confirmed) and can_be_confirmed(session, client=client, device=device),
        "devices_waiting": waiting(session, client=client, devices=devices) if confirmed else [],
    }
