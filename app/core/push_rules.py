"""What a Web Push setting or subscription must be, checked without sending anything.

Settings check the VAPID subject at start-up and the subscription service checks a browser's
keys before storing them; both live here, below the dispatcher that sends, so that neither
settings nor services depend on the send path.
"""

from __future__ import annotations

import base64
import functools
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

_REJECTED_HOSTS = ("localhost",)
_REJECTED_SUFFIXES = (".localhost", ".local", ".invalid", ".test")


class InvalidSubscriptionKeys(ValueError):
    pass


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def subject_problem(subject: str) -> str | None:
    """Why a VAPID subject would be rejected (Apple refuses local addresses), or None."""
    subject = subject.strip()
    if subject.startswith("mailto:"):
        address = subject[len("mailto:") :]
        local, _at, host = address.rpartition("@")
        if not local or not host:
            return "must be a mailto: address like mailto:admin@example.org"
    elif subject.startswith("https://"):
        host = urlsplit(subject).hostname or ""
        if not host:
            return "must be an https:// address with a host name"
    else:
        return "must start with mailto: or https://"
    host = host.lower().rstrip(".")
    if host in _REJECTED_HOSTS or host.endswith(_REJECTED_SUFFIXES) or "." not in host:
        return f"must not use the host {host!r}: push services (Apple's among them) reject it"
    if host.replace(".", "").isdigit() or ":" in host:
        return "must use a domain name, not an IP address"
    return None


@functools.lru_cache(maxsize=50_000)
def browser_public_key(p256dh: str) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    """The browser's P-256 key of a subscription, and its raw uncompressed point."""
    try:
        raw = b64url_decode(p256dh)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except (ValueError, TypeError) as error:
        raise InvalidSubscriptionKeys("p256dh is not a P-256 public key") from error
    if len(raw) != 65:
        raise InvalidSubscriptionKeys("p256dh must be an uncompressed P-256 point")
    return key, raw


def check_keys(p256dh: str, auth: str) -> None:
    """Raise InvalidSubscriptionKeys unless these are usable subscription keys."""
    browser_public_key(p256dh)
    try:
        secret = b64url_decode(auth)
    except ValueError as error:
        raise InvalidSubscriptionKeys("auth is not base64url") from error
    if len(secret) != 16:
        raise InvalidSubscriptionKeys("auth must be 16 bytes")
