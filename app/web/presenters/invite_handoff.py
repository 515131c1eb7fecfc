"""Showing a freshly issued invitation after a redirect, to the device that made it only.

Creating a client (or a new invitation) is a POST that redirects to a GET page, so a reload
does not make a second client and the address bar holds a page that can be opened again.
The invitation's link token and code exist in the clear only at the moment they are made
(the database keeps their hashes), so the POST hands them to the GET page in a cookie:

- **sealed**: AES-GCM under a key derived from `BETWEEN_SECRET_KEY`, so the token and the
  code are not readable in the cookie (or by anything that records cookies);
- **bound** to the therapist's device session and to the client: the associated data is
  both ids, so the cookie opens only on that signed-in browser and on that client's page;
- **short-lived**: `MINUTES` minutes (in the sealed payload and as the cookie's Max-Age),
  `HttpOnly`, `SameSite=Strict`, `Secure` over https, and only sent to
  `/t/clients/<id>/invite`;
- shown **only while the invitation is pending**: once it is used, replaced, revoked or
  expired the page says so and the cookie is cleared.

The token therefore appears in no URL other than the invite link itself (never in the
redirect's Location, nor in a QR image's address: the QR code is inline SVG in the page).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from app.models.types import utcnow

COOKIE = "between_invite"
MINUTES = 15


@dataclass(frozen=True)
class Handoff:
    invite_id: uuid.UUID
    token: str
    code: str
    expires: datetime


def path_for(client_id: uuid.UUID) -> str:
    return f"/t/clients/{client_id}/invite"


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"between invite handoff\x00" + secret.encode()).digest()


def _bound(device_id: uuid.UUID, client_id: uuid.UUID) -> bytes:
    return device_id.bytes + client_id.bytes


def seal(
    secret: str,
    *,
    device_id: uuid.UUID,
    client_id: uuid.UUID,
    invite_id: uuid.UUID,
    token: str,
    code: str,
    now: datetime | None = None,
) -> str:
    expires = (now or utcnow()) + timedelta(minutes=MINUTES)
    payload = json.dumps({"i": str(invite_id), "t": token, "c": code, "e": int(expires.timestamp())}).encode()
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret)).encrypt(nonce, payload, _bound(device_id, client_id))
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def unseal(
    secret: str, value: str, *, device_id: uuid.UUID, client_id: uuid.UUID, now: datetime | None = None
) -> Handoff | None:
    """The handoff in `value`, or None if it is not this device's, not this client's, altered or old."""
    if not value or len(value) > 1000:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], _bound(device_id, client_id))
        data = json.loads(payload)
        handoff = Handoff(
            invite_id=uuid.UUID(data["i"]),
            token=str(data["t"]),
            code=str(data["c"]),
            expires=datetime.fromtimestamp(int(data["e"]), tz=UTC),
        )
    except (ValueError, TypeError, KeyError, InvalidTag):
        return None
    if handoff.expires <= (now or utcnow()):
        return None
    return handoff


def give(request: Request, response: Response, *, value: str, client_id: uuid.UUID) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=MINUTES * 60,
        path=path_for(client_id),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )


def take_back(request: Request, response: Response, *, client_id: uuid.UUID) -> None:
    response.delete_cookie(
        COOKIE,
        path=path_for(client_id),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )


def qr_svg(link: str) -> Markup:
    """A link (an invitation, a plan to join) as a QR code: inline SVG drawn on the server,
    so no image URL ever holds the token."""
    code = segno.make(link, error="m", micro=False)
    return Markup(code.svg_inline(scale=4, border=2, omitsize=True, dark="#000000", light="#ffffff"))
