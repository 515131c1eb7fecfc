"""Server-side sessions for signed-in browsers (therapists and client phones)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.core.security import new_token, token_hash
from app.models import Client, DeviceSession, SessionKind, Therapist
from app.models.types import utcnow

# Writing last_seen on every request would turn every page view into a write.
_TOUCH_EVERY = timedelta(minutes=5)


def start(
    session: Session,
    *,
    kind: SessionKind,
    days: int,
    therapist_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    label: str = "",
) -> tuple[DeviceSession, str]:
    token = new_token()
    device = DeviceSession(
        token_hash=token_hash(token),
        kind=kind,
        therapist_id=therapist_id,
        client_id=client_id,
        label=label[:120],
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(device)
    session.flush()
    return device, token


def resolve(session: Session, *, token: str) -> DeviceSession | None:
    found = resolve_signed_in(session, token=token)
    return found.device if found is not None else None


@dataclass(frozen=True)
class SignedIn:
    device: DeviceSession
    client: Client | None
    therapist: Therapist | None


# Built once: constructing a statement costs more than running this one.
_SIGNED_IN = (
    select(DeviceSession, Client, Therapist)
    .outerjoin(Client, col(Client.id) == DeviceSession.client_id)
    .outerjoin(Therapist, col(Therapist.id) == DeviceSession.therapist_id)
    .where(DeviceSession.token_hash == bindparam("token_hash"))
)


def resolve_signed_in(session: Session, *, token: str) -> SignedIn | None:
    """The live session a token names, with its client or therapist read in the same
    query (every signed-in request needs both)."""
    row = session.exec(_SIGNED_IN, params={"token_hash": token_hash(token)}).first()
    now = utcnow()
    if row is None:
        return None
    device, client, therapist = row
    if device.revoked_at is not None or device.expires_at <= now:
        return None
    if now - device.last_seen_at > _TOUCH_EVERY:
        device.last_seen_at = now
        session.add(device)
        session.commit()
    return SignedIn(device, client, therapist)


@dataclass(frozen=True, slots=True)
class ClientPass:
    """A live client session as plain column values: what a phone's write needs to know."""

    client_id: uuid.UUID
    device_id: uuid.UUID
    has_pin: bool
    unlocked_at: datetime | None


_DEVICE = DeviceSession.__table__  # type: ignore[attr-defined]
_CLIENT = Client.__table__  # type: ignore[attr-defined]
# Core columns, not entities: loading a DeviceSession and a Client as ORM objects costs
# several times what the query does, on the busiest request there is (an entry write).
_CLIENT_PASS = (
    core_select(
        _DEVICE.c.id,
        _DEVICE.c.kind,
        _DEVICE.c.revoked_at,
        _DEVICE.c.expires_at,
        _DEVICE.c.last_seen_at,
        _DEVICE.c.unlocked_at,
        _CLIENT.c.id,
        _CLIENT.c.pin_hash.is_not(None),
    )
    .join(_CLIENT, _CLIENT.c.id == _DEVICE.c.client_id)
    .where(_DEVICE.c.token_hash == bindparam("token_hash"))
)


def peek_client(session: Session, *, token: str) -> ClientPass | None:
    """The live client session a token names, read without loading it, when nothing about
    it is due to be written.

    None is no answer: no such session, not a client's, revoked, expired, or its
    last_seen due to be written. The caller then goes through `resolve_signed_in`, which
    decides (and writes) exactly as for any other request.
    """
    row = session.connection().execute(_CLIENT_PASS, {"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    device_id, kind, revoked_at, expires_at, last_seen_at, unlocked_at, client_id, has_pin = row
    now = utcnow()
    if kind != SessionKind.client or revoked_at is not None or expires_at <= now:
        return None
    if now - last_seen_at > _TOUCH_EVERY:
        return None
    return ClientPass(client_id=client_id, device_id=device_id, has_pin=bool(has_pin), unlocked_at=unlocked_at)


def revoke(session: Session, *, device: DeviceSession) -> None:
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        session.add(device)


def revoke_all(session: Session, *, therapist_id: uuid.UUID | None = None, client_id: uuid.UUID | None = None) -> int:
    devices = active(session, therapist_id=therapist_id, client_id=client_id)
    for device in devices:
        revoke(session, device=device)
    return len(devices)


def active(
    session: Session, *, therapist_id: uuid.UUID | None = None, client_id: uuid.UUID | None = None
) -> list[DeviceSession]:
    if therapist_id is None and client_id is None:
        return []
    statement = select(DeviceSession).where(
        col(DeviceSession.revoked_at).is_(None), DeviceSession.expires_at > utcnow()
    )
    if therapist_id is not None:
        statement = statement.where(DeviceSession.therapist_id == therapist_id)
    if client_id is not None:
        statement = statement.where(DeviceSession.client_id == client_id)
    return list(session.exec(statement.order_by(col(DeviceSession.created_at).desc())))
