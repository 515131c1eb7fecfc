"""The therapist's own settings: for now, the opt-in email digest before each session."""

from __future__ import annotations

from sqlmodel import Session

from app.core.errors import Invalid
from app.core.i18n import _
from app.models import Therapist
from app.models.therapist import DIGEST_HOURS_MAX, DIGEST_HOURS_MIN


def parse_hours(value: int | str) -> int:
    """Hours before a session, 1–72; anything else is refused with a field error."""
    try:
        hours = int(str(value).strip())
    except ValueError:
        hours = 0
    if not DIGEST_HOURS_MIN <= hours <= DIGEST_HOURS_MAX:
        message = _("Choose between %(low)s and %(high)s hours.", low=DIGEST_HOURS_MIN, high=DIGEST_HOURS_MAX)
        raise Invalid(message, errors={"digest_hours_before": message})
    return hours


def update_digest(session: Session, *, therapist: Therapist, enabled: bool, hours_before: int | str) -> Therapist:
    """Turn the pre-session email on or off and set its lead time. Nothing changes on bad input."""
    hours = parse_hours(hours_before)
    therapist.digest_enabled = enabled
    therapist.digest_hours_before = hours
    session.add(therapist)
    session.flush()
    return therapist
