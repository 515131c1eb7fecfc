"""Snooze links in notifications: a signed capability to snooze one reminder of one client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import datetime
from functools import lru_cache

from app.core.errors import NotFound
from app.core.i18n import _
from app.models.types import utcnow


def snooze_token(*, secret: str, client_id: uuid.UUID, reminder_id: uuid.UUID, expires: datetime) -> str:
    """A signed capability to snooze one reminder of one client (carried in the push payload)."""
    body = client_id.bytes + reminder_id.bytes + struct.pack(">I", int(expires.timestamp()))
    mac = hmac.new(_snooze_key(secret), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def read_snooze_token(*, secret: str, token: str, now: datetime | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 52:
        raise NotFound(_("This snooze link is not valid."))
    body, mac = raw[:36], raw[36:]
    if not hmac.compare_digest(mac, hmac.new(_snooze_key(secret), body, hashlib.sha256).digest()[:16]):
        raise NotFound(_("This snooze link is not valid."))
    (expires,) = struct.unpack(">I", body[32:])
    if expires < (now or utcnow()).timestamp():
        raise NotFound(_("This snooze link has expired."))
    return uuid.UUID(bytes=body[:16]), uuid.UUID(bytes=body[16:32])


@lru_cache(maxsize=8)  # one secret per process (two while keys rotate): one hash, not one per message
def _snooze_key(secret: str) -> bytes:
    return hashlib.sha256(b"between-snooze:" + secret.encode()).digest()
