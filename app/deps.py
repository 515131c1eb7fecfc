"""Dependencies every route uses: the database session and who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.models import Client, DeviceSession, SessionKind, Therapist
from app.services import device_sessions
from app.settings import Settings
from app.web import SESSION_COOKIE


class NotSignedIn(Exception):
    """Raised by the auth dependencies; pages redirect, the API answers 401."""

    def __init__(self, kind: SessionKind) -> None:
        self.kind = kind


async def get_session(request: Request) -> AsyncIterator[Session]:
    # `async`, so a request does not pay two thread-pool hops for it: opening a session
    # does no I/O (it connects on first use, in the route's thread), and closing one
    # does none once its transaction is over; only then is closing sent to a thread.
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        try:
            if session.in_transaction():
                await run_in_threadpool(session.close)
            else:
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
    if client.pin_hash:
        _check_pin_lock(request, session, client, device)
    return client


class Locked(Exception):
    """The client set an app PIN and this device sat idle: pages ask for it, the API answers 423."""


def _open_while_locked(request: Request) -> bool:
    path, method = request.url.path, request.method
    if path == "/c/unlock":
        return True
    # Offline sync keeps working behind the lock: creating reveals nothing already stored.
    return method in ("POST", "PUT") and (path == "/api/v1/entries" or path.startswith("/api/v1/voice"))


def _check_pin_lock(request: Request, session: Session, client: Client, device: DeviceSession) -> None:
    from app.services import pins

    settings: Settings = request.app.state.settings
    if pins.is_locked(client=client, device=device, idle_hours=settings.pin_idle_hours):
        if not _open_while_locked(request):
            raise Locked()
    elif request.url.path != "/c/unlock":
        pins.touch(session, device=device)


CurrentTherapist = Annotated[Therapist, Depends(get_current_therapist)]
CurrentClient = Annotated[Client, Depends(get_current_client)]
CurrentDevice = Annotated[DeviceSession, Depends(get_device)]
