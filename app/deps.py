"""Dependencies every route uses: the database session and who is asking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.models import Client, DeviceSession, SessionKind, Therapist
from app.services import device_sessions
from app.settings import Settings
from app.web import SESSION_COOKIE


class NotSignedIn(Exception):
    """Raised by the auth dependencies; pages redirect, the API answers 401."""

    def __init__(self, kind: SessionKind) -> None:
        self.kind = kind


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_device(request: Request, session: SessionDep) -> DeviceSession | None:
    if hasattr(request.state, "device"):
        return request.state.device  # type: ignore[no-any-return]
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    device = device_sessions.resolve(session, token=token) if token else None
    request.state.device = device
    return device


DeviceDep = Annotated[DeviceSession | None, Depends(get_device)]


def get_current_therapist(request: Request, session: SessionDep, device: DeviceDep) -> Therapist:
    if device is None or device.kind != SessionKind.therapist or device.therapist_id is None:
        raise NotSignedIn(SessionKind.therapist)
    therapist = session.get(Therapist, device.therapist_id)
    if therapist is None:
        raise NotSignedIn(SessionKind.therapist)
    request.state.viewer = therapist
    return therapist


def get_current_client(request: Request, session: SessionDep, device: DeviceDep) -> Client:
    if device is None or device.kind != SessionKind.client or device.client_id is None:
        raise NotSignedIn(SessionKind.client)
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
