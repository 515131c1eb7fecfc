"""The client's optional app PIN: a lock on the phone's pages after it sat unused.

The PIN guards against someone who picks up an unlocked phone, not against the
server: it is hashed with argon2 like a password. A device asks for it once it
has been idle longer than `idle_hours`; wrong tries are counted per client (on
every device together) and lock the PIN for a while.
A forgotten PIN is not a dead end: a new invitation from the therapist signs a
phone in afresh (new device sessions start unlocked), showing the shared records;
a confirmed device of the client's can then confirm it and change or remove the
PIN (see device_trust: an invitation alone never reveals private entries).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session

from app.core.errors import Busy, Invalid, TooManyAttempts
from app.core.i18n import _
from app.core.security import hash_password, verify_password
from app.models import Client, DeviceSession
from app.models.types import utcnow
from app.services import ratelimit

PIN = re.compile(r"^[0-9]{4,8}$")
# Writing the unlock time on every request would turn page views into writes.
_TOUCH_EVERY = timedelta(minutes=5)


def set_pin(session: Session, *, client: Client, device: DeviceSession, pin: str, confirm: str) -> None:
    pin, confirm = pin.strip(), confirm.strip()
    if not PIN.match(pin):
        raise Invalid(_("Choose a PIN of 4 to 8 digits."), errors={"pin": _("Use 4 to 8 digits.")})
    if pin != confirm:
        raise Invalid(_("The two PINs are not the same."), errors={"confirm": _("Type the same PIN again.")})
    client.pin_hash = hash_password(pin)
    session.add(client)
    # The device that set it is, by definition, in the right hands right now.
    mark_unlocked(session, device=device)


def clear_pin(session: Session, *, client: Client) -> None:
    client.pin_hash = None
    session.add(client)


# The two rules below take plain values, so a request that read the device as columns
# (the entry API) applies them without loading it.
def idle_too_long(unlocked_at: datetime | None, *, idle_hours: float) -> bool:
    """Whether a device of a client with a PIN must be unlocked again."""
    return unlocked_at is None or utcnow() - unlocked_at > timedelta(hours=idle_hours)


def seconds_until_locked(unlocked_at: datetime | None, *, idle_hours: float) -> int:
    """How long a device of a client with a PIN stays unlocked if it is not used again:
    0 once `idle_too_long` holds. Pages tell the service worker, which keeps the lock offline."""
    if unlocked_at is None:
        return 0
    left = timedelta(hours=idle_hours) - (utcnow() - unlocked_at)
    return max(0, int(left.total_seconds()))


def touch_due(unlocked_at: datetime | None) -> bool:
    """Whether an unlocked device's last use is old enough to be written again."""
    return unlocked_at is None or utcnow() - unlocked_at > _TOUCH_EVERY


def touch(session: Session, *, device: DeviceSession) -> None:
    """Note that an unlocked device is in use, so the idle clock starts again."""
    if touch_due(device.unlocked_at):
        mark_unlocked(session, device=device)
        session.commit()


def mark_unlocked(session: Session, *, device: DeviceSession) -> None:
    device.unlocked_at = utcnow()
    session.add(device)


def attempt_key(client: Client) -> str:
    return f"pin:{client.id}"


def unlock(
    session: Session, *, client: Client, device: DeviceSession, pin: str, max_attempts: int, window_seconds: int
) -> bool:
    """Check a PIN. True unlocks the device; False is a wrong PIN; raises after too many tries.

    The try is counted (and committed) before the PIN is looked at, and checked only
    within `max_attempts`, so a burst of tries from many devices at once gets no more
    checks than that. The wrong try that uses up the last one locks the PIN at once.
    """
    counted = ratelimit.count(session, key=attempt_key(client), window_seconds=window_seconds)
    if counted.over(max_attempts):
        raise TooManyAttempts(_locked_message(counted.retry_after), retry_after=counted.retry_after)
    try:
        matched = bool(client.pin_hash) and verify_password(client.pin_hash, pin.strip()[:20])
    except Busy:
        # Never checked: it does not use up a try.
        ratelimit.give_back(session, counted=counted)
        raise
    if matched:
        ratelimit.reset(session, key=counted.key)
        mark_unlocked(session, device=device)
        return True
    if counted.count >= max_attempts:
        raise TooManyAttempts(_locked_message(counted.retry_after), retry_after=counted.retry_after)
    return False


def _locked_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return _(
        "That was too many tries, so the PIN is paused for %(minutes)s minutes to keep your records safe. "
        "You can try again after that, or ask your therapist for a new invitation to sign in afresh.",
        minutes=minutes,
    )
