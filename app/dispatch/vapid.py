"""VAPID (RFC 8292): the application server's key pair, and the Authorization header.

The key pair is made once and kept: browsers bind each subscription to the
public key, so a new key would silently orphan every device. In development it
lives in `data_dir`; in production it must come from the environment.

The token itself is signed by py-vapid; one is made per push-service origin and
reused until near its expiry: a signature per message would spend CPU on nothing.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from app.core.push_rules import b64url_decode, subject_problem

if TYPE_CHECKING:
    from app.core.settings import Settings

log = logging.getLogger("between.dispatch")

KEY_FILE = "vapid_private_key.pem"
# Push services accept at most 24 h; refresh well before expiry.
TOKEN_LIFETIME = 12 * 3600
TOKEN_REFRESH_MARGIN = 3600
DEVELOPMENT_SUBJECT = "mailto:reminders@example.org"


class VapidError(RuntimeError):
    """Unusable VAPID configuration: the process must not start."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def effective_subject(settings: Settings) -> str:
    if settings.vapid_subject:
        return settings.vapid_subject
    base = settings.base_url
    if base.startswith("https://") and subject_problem(base) is None:
        return base
    return DEVELOPMENT_SUBJECT


def _load_private(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise VapidError("the VAPID private key must be a P-256 (prime256v1) key")
        return key
    try:
        raw = b64url_decode(text)
    except ValueError as error:
        raise VapidError("the VAPID private key is neither PEM nor base64url") from error
    if len(raw) != 32:
        raise VapidError("the VAPID private key must be 32 bytes (base64url) or PEM")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    subject: str

    @property
    def public_key(self) -> str:
        """The applicationServerKey browsers subscribe with (base64url, uncompressed point)."""
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def private_key_b64(self) -> str:
        return b64url(self.private_key.private_numbers().private_value.to_bytes(32, "big"))

    @classmethod
    def generate(cls, subject: str = DEVELOPMENT_SUBJECT) -> VapidKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()), subject)

    @classmethod
    def load(cls, settings: Settings) -> VapidKeys:
        """The keys for this deployment; raises VapidError when they are unsafe or missing."""
        subject = effective_subject(settings)
        problem = subject_problem(subject)
        if problem:
            raise VapidError(f"VAPID subject {subject!r} {problem}")
        if settings.vapid_private_key:
            return cls(_load_private(settings.vapid_private_key), subject)
        if not settings.is_development:
            raise VapidError("BETWEEN_VAPID_PRIVATE_KEY must be set in production")
        return cls(_development_key(settings.data_dir), subject)


def _development_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    path = data_dir / KEY_FILE
    if path.exists():
        return _load_private(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Exclusive create: two processes starting at once keep the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_private(path.read_text())
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    log.info("generated a VAPID key pair in %s", path)
    return key


class VapidSigner:
    """The Authorization header for a push service: signed by py-vapid once per origin, and
    reused until TOKEN_REFRESH_MARGIN before it expires."""

    def __init__(self, keys: VapidKeys) -> None:
        self.keys = keys
        self._vapid = Vapid.from_raw(keys.private_key_b64.encode("ascii"))
        self._cache: dict[str, tuple[str, int]] = {}
        self.signatures = 0

    def authorization(self, endpoint: str, *, now: float | None = None) -> str:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.time() if now is None else now
        cached = self._cache.get(origin)
        if cached is None or cached[1] - now < TOKEN_REFRESH_MARGIN:
            expires = int(now) + TOKEN_LIFETIME
            cached = (self.sign(origin, expires), expires)
            if len(self._cache) >= 1024:  # one entry per push service: a handful in practice
                self._cache.clear()
            self._cache[origin] = cached
        return cached[0]

    def sign(self, audience: str, expires: int) -> str:
        """A fresh `vapid t=<JWT>,k=<public key>` header value for one push-service origin."""
        self.signatures += 1
        headers: dict[str, str] = self._vapid.sign({"aud": audience, "exp": expires, "sub": self.keys.subject})
        return headers["Authorization"]
