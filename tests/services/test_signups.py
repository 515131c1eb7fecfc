"""Sign-ups never confirmed are deleted a week after their last link expired; nothing else is."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from app.models import EmailVerification, Therapist, TherapistCreate
from app.models.types import utcnow
from app.services import signups
from tests.factories import PASSWORD, make_client, make_therapist

HOURS = 48


def _sign_up(session: Session, email: str) -> Therapist:
    data = TherapistCreate(email=email, display_name="Dr. Waiting", password=PASSWORD)
    assert signups.request_account(session, data=data, locale="en", hours=HOURS, may_email=True) is not None
    session.commit()
    return session.exec(select(Therapist).where(Therapist.email == email)).one()


def _emails(session: Session) -> set[str]:
    return set(session.exec(select(Therapist.email)))


def test_only_sign_ups_never_confirmed_whose_links_expired_a_week_ago_are_deleted(session: Session) -> None:
    now = utcnow()
    stale = _sign_up(session, "stale@example.org")
    fresh = _sign_up(session, "fresh@example.org")
    asked_again = _sign_up(session, "asked-again@example.org")
    confirmed = make_therapist(session, email="confirmed@example.org")
    # Made three weeks ago; the first two links long expired. The third asked for a new link
    # last week: its link expired less than a week ago, so it is kept a little longer.
    long_ago = now - timedelta(days=21)
    for therapist in (stale, asked_again, confirmed):
        therapist.created_at = long_ago
        session.add(therapist)
    for link in session.exec(select(EmailVerification).where(EmailVerification.therapist_id == stale.id)):
        link.expires_at = long_ago + timedelta(hours=HOURS)
        session.add(link)
    for link in session.exec(select(EmailVerification).where(EmailVerification.therapist_id == asked_again.id)):
        link.expires_at = now - timedelta(days=5)
        session.add(link)
    session.commit()

    assert signups.sweep_unconfirmed(session, now=now) == 1
    session.commit()
    assert _emails(session) == {fresh.email, asked_again.email, confirmed.email}
    assert session.exec(select(EmailVerification).where(EmailVerification.therapist_id == stale.id)).first() is None

    # A week on, the one that asked again goes too; the confirmed account and the new one stay.
    later = now + timedelta(days=3)
    assert signups.sweep_unconfirmed(session, now=later) == 1
    session.commit()
    assert _emails(session) == {fresh.email, confirmed.email}
    assert signups.sweep_unconfirmed(session, now=later) == 0


def test_an_unconfirmed_account_that_somehow_has_clients_is_kept(session: Session) -> None:
    now = utcnow()
    therapist = make_therapist(session, email="odd@example.org")
    make_client(session, therapist=therapist)
    therapist.email_verified_at = None
    therapist.created_at = now - timedelta(days=30)
    session.add(therapist)
    session.commit()
    assert signups.sweep_unconfirmed(session, now=now) == 0
    session.commit()
    assert session.exec(select(Therapist).where(col(Therapist.id) == therapist.id)).first() is not None
