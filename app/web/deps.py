"""Dependencies every route uses: the database session and who is asking."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import open_session
from app.core.settings import Settings
from app.dispatch.vapid import VapidError, VapidKeys
from app.models import Client, DeviceSession, SessionKind, Therapist
from app.services import device_sessions, pins
from app.services.device_trust import PrivateAccess
from app.web.render import SESSION_COOKIE


class NotSignedIn(Exception):
    """Raised by the auth dependencies; pages redirect, the API answers 401."""

    def __init__(self, kind: SessionKind) -> None:
        self.kind = kind


async def get_session(request: Request) -> AsyncIterator[Session]:
    # `async`, so a request does not pay two thread-pool hops for it: opening a session
    # does no I/O (it connects on first use, in the route's thread), and closing one
    # does none once its transaction is over; only then is closing sent to a thread.
    session = open_session(request.app.state.engine)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_close, session)
        else:
            _close(session)


@contextmanager
def thread_session(request: Request) -> Iterator[Session]:
    """The request's session for a route that does all its database work in one trip to
    the thread pool: opened and closed in that trip, with none of a dependency's cost."""
    session = open_session(request.app.state.engine)
    try:
        yield session
    finally:
        _close(session)


def _close(session: Session) -> None:
    try:
        session.close()
    except DBAPIError:
        # The connection died mid-request (the answer, a 503, is already decided):
        # rolling back on it fails too. Drop it so the pool opens a fresh one.
        session.invalidate()


SessionDep = Annotated[Session, Depends(get_session)]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_device(request: Request, session: SessionDep) -> DeviceSession | None:
    return _device(request, session)


def _device(request: Request, session: Session) -> DeviceSession | None:
    if hasattr(request.state, "device"):
        return request.state.device  # type: ignore[no-any-return]
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    found = device_sessions.resolve_signed_in(session, token=token) if token else None
    request.state.device = found.device if found is not None else None
    # Read with the device; kept here because the session only holds objects weakly.
    request.state.signed_in = found
    return request.state.device  # type: ignore[no-any-return]


DeviceDep = Annotated[DeviceSession | None, Depends(get_device)]


def _signed_in(request: Request) -> device_sessions.SignedIn | None:
    return getattr(request.state, "signed_in", None)


# The two below read the device themselves rather than through DeviceDep: one
# thread-pool hop per request instead of two.
def get_current_therapist(request: Request, session: SessionDep) -> Therapist:
    device = _device(request, session)
    if device is None or device.kind != SessionKind.therapist or device.therapist_id is None:
        raise NotSignedIn(SessionKind.therapist)
    found = _signed_in(request)
    therapist = found.therapist if found is not None and found.device is device else None
    if therapist is None or therapist.id != device.therapist_id:
        therapist = session.get(Therapist, device.therapist_id)
    if therapist is None:
        raise NotSignedIn(SessionKind.therapist)
    request.state.viewer = therapist
    return therapist


def get_current_client(request: Request, session: SessionDep) -> Client:
    device = _device(request, session)
    if device is None or device.kind != SessionKind.client or device.client_id is None:
        raise NotSignedIn(SessionKind.client)
    found = _signed_in(request)
    client = found.client if found is not None and found.device is device else None
    if client is None or client.id != device.client_id:
        client = session.get(Client, device.client_id)
    if client is None:
        raise NotSignedIn(SessionKind.client)
    request.state.viewer = client
    if client.pin_hash and _pin_touch_due(request, unlocked_at=device.unlocked_at):
        pins.touch(session, device=device)
    # Sent with every page (web.render), so the service worker keeps the lock offline too.
    request.state.pin_lock_in = (
        str(pins.seconds_until_locked(device.unlocked_at, idle_hours=request.app.state.settings.pin_idle_hours))
        if client.pin_hash
        else "never"
    )
    return client


def get_client_id(request: Request, session: Session) -> tuple[uuid.UUID, uuid.UUID]:
    """The signed-in client's id and their device's, by the same rules as
    `get_current_client` (401, PIN lock), for routes that need nothing else of the
    client: the entry API, which every offline sync goes through.

    The usual request reads a few columns instead of loading the device and the client.
    Whenever something is due to be written (last_seen, the PIN's unlock time) or the
    session is not a live client's, `get_current_client` decides, so both answer alike.
    """
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    found = device_sessions.peek_client(session, token=token) if token else None
    if found is None or (found.has_pin and _pin_touch_due(request, unlocked_at=found.unlocked_at)):
        client_id = get_current_client(request, session).id
        return client_id, request.state.device.id
    return found.client_id, found.device_id


def get_private_access(request: Request, session: SessionDep) -> PrivateAccess:
    """Which private entries this client device may show (see `device_trust`)."""
    device = _device(request, session)
    if device is None or device.kind != SessionKind.client:
        raise NotSignedIn(SessionKind.client)
    return PrivateAccess.of(device)


class Locked(Exception):
    """The client set an app PIN and this device sat idle: pages ask for it, the API answers 423."""


def _open_while_locked(request: Request) -> bool:
    path, method = request.url.path, request.method
    if path == "/c/unlock":
        return True
    # Offline sync keeps working behind the lock: creating reveals nothing already stored.
    return method in ("POST", "PUT") and (path == "/api/v1/entries" or path.startswith("/api/v1/voice"))


def _pin_touch_due(request: Request, *, unlocked_at: datetime | None) -> bool:
    """For a client with a PIN: raises Locked if this device must be unlocked before this
    request; otherwise whether the device's last use is due to be written."""
    settings: Settings = request.app.state.settings
    if pins.idle_too_long(unlocked_at, idle_hours=settings.pin_idle_hours):
        if not _open_while_locked(request):
            raise Locked()
        return False
    return request.url.path != "/c/unlock" and pins.touch_due(unlocked_at)


CurrentTherapist = Annotated[Therapist, Depends(get_current_therapist)]
CurrentClient = Annotated[Client, Depends(get_current_client)]
CurrentDevice = Annotated[DeviceSession, Depends(get_device)]
ClientAccess = Annotated[PrivateAccess, Depends(get_private_access)]


def vapid_keys(request: Request) -> VapidKeys | None:
    """The deployment's VAPID keys, loaded once per app; None when push is not configured."""
    state = request.app.state
    if not hasattr(state, "vapid_keys"):
        try:
            state.vapid_keys = VapidKeys.load(state.settings)
        except VapidError:
            state.vapid_keys = None
    return state.vapid_keys  # type: ignore[no-any-return]
