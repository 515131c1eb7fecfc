"""Therapist accounts: accounts made by the operator, and password sign-in."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core.errors import Busy, Conflict, Forbidden, TooManyAttempts
from app.core.i18n import _
from app.core.security import hash_password, verify_password
from app.models import Therapist, TherapistCreate
from app.models.therapist import normalize_email
from app.models.types import utcnow
from app.services import ratelimit


class NotVerified(Forbidden):
    """The password matched, but the account's email address is not confirmed yet."""


def create_therapist(session: Session, *, data: TherapistCreate) -> Therapist:
    if session.exec(select(Therapist).where(Therapist.email == data.email)).first():
        raise Conflict(_("An account with this email already exists. Try signing in."))
    therapist = Therapist(
        email=data.email,
        display_name=data.display_name.strip(),
        password_hash=hash_password(data.password),
        # Made by the operator (`between create-therapist`), the demo or tests: the
        # address is taken as confirmed. Open sign-up goes through app/services/signups.py.
        email_verified_at=utcnow(),
    )
    session.add(therapist)
    session.flush()
    return therapist


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    remote: str,
    max_attempts: int,
    window_seconds: int,
) -> Therapist | None:
    """Check a password, counting attempts per address and per account first.

    Each attempt is counted (and committed) before the password is looked at, and
    checked only if both counts are within `max_attempts`, so no burst gets more
    than that many checks in a window. Only failures count: a matching password
    gives back its count on the address and clears the account's. An attempt that
    was never checked (over the account's limit, or the server busy) gives back its
    count on the address too.

    Returns the therapist, or None for a wrong password; raises TooManyAttempts (429),
    Busy (503) or NotVerified (403, only once the password matched).
    """
    try:
        email = normalize_email(email)
    except ValueError:
        email = email.strip().lower()[:254]
    by_address = ratelimit.count(session, key=f"signin:ip:{remote}", window_seconds=window_seconds)
    if by_address.over(max_attempts):
        raise _too_many(by_address.retry_after)
    by_account = ratelimit.count(session, key=f"signin:email:{email}", window_seconds=window_seconds)
    if by_account.over(max_attempts):
        ratelimit.give_back(session, counted=by_address)
        raise _too_many(by_account.retry_after)
    therapist = session.exec(select(Therapist).where(Therapist.email == email)).first()
    try:
        matched = verify_password(therapist.password_hash if therapist else None, password)
    except Busy:
        ratelimit.give_back(session, counted=by_address)
        ratelimit.give_back(session, counted=by_account)
        raise
    if not matched or therapist is None:
        return None
    ratelimit.give_back(session, counted=by_address)
    ratelimit.reset(session, key=by_account.key)
    if therapist.email_verified_at is None:
        raise NotVerified(
            _("Please confirm your email address first: open the link we sent to %(email)s.", email=therapist.email)
        )
    return therapist


def _too_many(wait: int) -> TooManyAttempts:
    return TooManyAttempts(
        _("Too many attempts. Please wait %(minutes)s minutes and try again.", minutes=max(1, -(-wait // 60))),
        retry_after=wait,
    )
