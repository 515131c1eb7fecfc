"""Therapist accounts: sign-up and password sign-in."""

from __future__ import annotations

from sqlmodel import Session, select

from app.i18n import _
from app.models import Therapist, TherapistCreate
from app.models.therapist import normalize_email
from app.security import hash_password, verify_password
from app.services import ratelimit
from app.services.errors import Conflict, TooManyAttempts


def create_therapist(session: Session, *, data: TherapistCreate) -> Therapist:
    if session.exec(select(Therapist).where(Therapist.email == data.email)).first():
        raise Conflict(_("An account with this email already exists. Try signing in."))
    therapist = Therapist(
        email=data.email,
        display_name=data.display_name.strip(),
        password_hash=hash_password(data.password),
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
    """Check a password, counting failures per account and per address."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = email.strip().lower()[:254]
    keys = (f"signin:email:{email}", f"signin:ip:{remote}")
    for key in keys:
        wait = ratelimit.peek(session, key=key, limit=max_attempts, window_seconds=window_seconds)
        if wait:
            raise TooManyAttempts(
                _("Too many attempts. Please wait %(minutes)s minutes and try again.", minutes=max(1, wait // 60)),
                retry_after=wait,
            )
    therapist = session.exec(select(Therapist).where(Therapist.email == email)).first()
    if verify_password(therapist.password_hash if therapist else None, password):
        ratelimit.reset(session, key=keys[0])
        return therapist
    for key in keys:
        ratelimit.hit(session, key=key, limit=max_attempts, window_seconds=window_seconds)
    return None

