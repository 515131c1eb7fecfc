"""aes128gcm message encryption for Web Push (RFC 8291), with no I/O and light imports:
the dispatcher's encryption worker processes import only this module."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.push_rules import b64url_decode, browser_public_key

RECORD_SIZE = 4096
MAX_PAYLOAD = 3800  # stay well under the 4096-byte limit push services enforce
_KEY_INFO = b"WebPush: info\x00"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _ua_public(p256dh: str) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    return browser_public_key(p256dh)


def encrypt(payload: bytes, *, p256dh: str, auth: str, salt: bytes | None = None) -> bytes:
    """The aes128gcm body of one push message: a single record, fresh ephemeral key."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("push payload too large")
    ua_key, ua_raw = _ua_public(p256dh)
    auth_secret = b64url_decode(auth)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    as_raw = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = ephemeral.exchange(ec.ECDH(), ua_key)
    ikm = _hmac(_hmac(auth_secret, shared), _KEY_INFO + ua_raw + as_raw + b"\x01")
    salt = salt or os.urandom(16)
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, _CEK_INFO)[:16]
    nonce = _hmac(prk, _NONCE_INFO)[:12]
    ciphertext = AESGCM(cek).encrypt(nonce, payload + b"\x02", None)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_raw)]) + as_raw
    return header + ciphertext


def encrypt_batch(messages: Sequence[tuple[bytes, str, str]]) -> list[bytes | None]:
    """Encrypt many (payload, p256dh, auth) messages at once; None where the keys are unusable.

    Runs in a worker process: one call per batch keeps the inter-process traffic small."""
    bodies: list[bytes | None] = []
    for payload, p256dh, auth in messages:
        try:
            bodies.append(encrypt(payload, p256dh=p256dh, auth=auth))
        except ValueError:  # InvalidSubscriptionKeys included
            bodies.append(None)
    return bodies


def watch_parent(parent: int) -> None:
    """Worker initializer: exit when the dispatcher is gone, even if it was killed outright
    (a worker holds its own end of the job queue, so it would otherwise wait forever)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="watch-dispatcher", daemon=True).start()


def warm_up() -> bool:
    """A no-op job that makes a worker process start (and import this module) ahead of a burst."""
    return True
