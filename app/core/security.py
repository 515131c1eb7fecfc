"""Passwords, tokens and hashes.

Every argon2 hash or check takes 64 MiB of memory while it runs. They run under a
process-wide semaphore with a few slots (`password_check_slots`), so a burst of
sign-ins or PIN tries waits its turn instead of taking memory for each request at
once. A request that cannot get a slot within `password_check_wait_seconds` is
answered 503 with Retry-After (`Busy`) rather than queueing without end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core import i18n
from app.core.errors import Busy

# argon2id with the library's RFC 9106 "low memory" defaults.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, used to even out timing")

T = TypeVar("T")


class _Slots:
    """The bounded concurrency of argon2 work in this process, and how much was done."""

    def __init__(self, slots: int = 2, wait_seconds: float = 5.0) -> None:
        self.configure(slots=slots, wait_seconds=wait_seconds)
        self._counted = threading.Lock()
        self.verifications = 0

    def configure(self, *, slots: int, wait_seconds: float) -> None:
        # Requests holding a slot of the previous semaphore release that one: no slot is lost.
        self.semaphore = threading.BoundedSemaphore(max(1, slots))
        self.wait_seconds = max(0.0, wait_seconds)

    def run(self, work: Callable[[], T], *, verification: bool = False) -> T:
        semaphore = self.semaphore
        if not semaphore.acquire(timeout=self.wait_seconds):
            raise Busy(
                i18n.gettext("Between is busy right now. Please try again in a few seconds."),
                retry_after=max(1, math.ceil(self.wait_seconds)),
            )
        try:
            if verification:
                with self._counted:
                    self.verifications += 1
            return work()
        finally:
            semaphore.release()


_slots = _Slots()


def configure_password_work(*, slots: int, wait_seconds: float) -> None:
    """Set this process's argon2 concurrency (the app factory calls it with the settings)."""
    _slots.configure(slots=slots, wait_seconds=wait_seconds)


def password_slots() -> threading.BoundedSemaphore:
    """The semaphore itself (tests hold its slots to see what a busy server answers)."""
    return _slots.semaphore


def verification_count() -> int:
    """How many password and PIN checks this process has run (tests count them)."""
    return _slots.verifications


def hash_password(password: str) -> str:
    return _slots.run(lambda: _hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password or PIN; raises `Busy` if no argon2 slot came free in time."""
    if not password_hash:
        # Spend the same time as a real check, so response time does not reveal accounts.
        _slots.run(lambda: _verify(_DUMMY_HASH, password), verification=True)
        return False
    return _slots.run(lambda: _verify(password_hash, password), verification=True)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# CSRF tokens: "<nonce>.<mac>", the mac an HMAC (keyed from the secret key) over the nonce and
# the browser's session cookie ("" before sign-in: the nonce is then the anonymous pre-session
# id). A token is only good with the session it was made for: a token taken from another
# session fails, and so does a cookie and form field pair planted by another site or a sibling
# subdomain (before sign-in the __Host- cookie prefix, over https, keeps such a cookie out).


def csrf_token(secret: str, *, session: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_mac(secret, nonce, session)}"


def csrf_token_valid(secret: str, token: str, *, session: str) -> bool:
    nonce, dot, mac = token.partition(".")
    if not dot or not nonce or not mac or len(token) > 200 or not token.isascii():
        return False
    return same(mac, _csrf_mac(secret, nonce, session))


@lru_cache(maxsize=4)
def _csrf_key(secret: str) -> bytes:
    # A key of its own, so a CSRF mac can never stand in for another signature made with the secret.
    return hmac.new(secret.encode(), b"between csrf token", hashlib.sha256).digest()


def _csrf_mac(secret: str, nonce: str, session: str) -> str:
    message = nonce.encode() + b"\x00" + session.encode("utf-8", "surrogatepass")
    digest = hmac.new(_csrf_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# No 0/O or 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())
