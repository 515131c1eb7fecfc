"""Open sign-up for therapists: an account is usable once its email address is confirmed.

Signing up never says whether an address already has an account. Every sign-up
hashes the password, answers with the same "check your email" page, and leads to
one email to the address:
- a new address, or one whose account is still waiting for confirmation: a link
  that confirms the address and signs in (`confirm`). The link carries the password
  and name typed in that sign-up, so whoever reads the mail decides which sign-up
  becomes the account;
- an address with a confirmed account: a short note that someone tried to sign up
  with it, with a link to sign in. Nothing changes.

Links are random tokens of which only the hash is stored, expire after
`verification_hours` and work once. Sending is left to the caller.

A sign-up never confirmed is not kept: once its last link has been expired for
`UNCONFIRMED_KEPT`, `sweep_unconfirmed` deletes the account (an address and a password hash
nobody may use), run by the dispatcher's sign-up sweep (app/dispatch/periodic.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.email import Mail
from app.core.errors import Gone
from app.core.i18n import _, ngettext
from app.core.security import hash_password, new_token, token_hash
from app.models import Assignment, Client, EmailVerification, Invite, RecordTemplate, Therapist, TherapistCreate
from app.models.therapist import normalize_email
from app.models.types import utcnow

VERIFY_PATH = "/signup/verify/"
# How long an unconfirmed sign-up outlives its last link: time to ask for a new one after
# the mail was found late, not a place to keep addresses.
UNCONFIRMED_KEPT = timedelta(days=7)
_VERIFICATIONS = EmailVerification.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SignupMail:
    """What to email after a sign-up or a request for a new link."""

    to: str
    name: str
    locale: str | None
    # The new confirmation link's token; None for the "you already have an account" note.
    token: str | None


def request_account(
    session: Session, *, data: TherapistCreate, locale: str | None, hours: int, may_email: bool
) -> SignupMail | None:
    """Sign up `data.email`. Returns the email to send, or None if none may be sent now
    (`may_email` false: the address had its share of mail this window; nothing changes)."""
    # Hashed on every path, so the answer takes as long whether or not the address is known.
    password_hash = hash_password(data.password)
    name = data.display_name.strip()
    if not may_email:
        return None
    therapist = _by_email(session, data.email)
    if therapist is None:
        therapist = Therapist(email=data.email, display_name=name, password_hash=password_hash, locale=locale)
        try:
            with session.begin_nested():
                session.add(therapist)
        except IntegrityError:
            # Someone signed up with the same address at the same moment: treat it as known.
            therapist = _by_email(session, data.email)
            if therapist is None:
                raise
    if therapist.email_verified_at is not None:
        return SignupMail(to=therapist.email, name=therapist.display_name, locale=therapist.locale, token=None)
    # Waiting for confirmation: sign-in now takes the latest password (to offer a new
    # link); the link decides what the account finally keeps.
    therapist.password_hash = password_hash
    therapist.display_name = name
    therapist.locale = locale
    session.add(therapist)
    token = _issue(session, therapist=therapist, password_hash=password_hash, name=name, hours=hours)
    return SignupMail(to=therapist.email, name=name, locale=locale, token=token)


def resend(session: Session, *, email: str, hours: int) -> SignupMail | None:
    """A new link for an account still waiting for confirmation; None for any other address."""
    try:
        email = normalize_email(email)
    except ValueError:
        return None
    therapist = _by_email(session, email)
    if therapist is None or therapist.email_verified_at is not None:
        return None
    token = _issue(
        session, therapist=therapist, password_hash=therapist.password_hash, name=therapist.display_name, hours=hours
    )
    return SignupMail(to=therapist.email, name=therapist.display_name, locale=therapist.locale, token=token)


def is_usable(session: Session, *, token: str) -> bool:
    """Whether a link would confirm an address now (read only: mail scanners open links too)."""
    found = session.exec(
        select(EmailVerification.id).where(
            EmailVerification.token_hash == token_hash(token[:200]), EmailVerification.expires_at > utcnow()
        )
    ).first()
    return found is not None


def confirm(session: Session, *, token: str) -> Therapist:
    """Use a link: the account takes that sign-up's password and name and is confirmed.

    Raises Gone for a link that is unknown, expired, already used, or whose account
    was confirmed by another link since (the answers are alike: a link leaks nothing).
    """
    now = utcnow()
    # Deleting is the claim: of two clicks at once, one gets the row.
    claimed = session.execute(
        delete(_VERIFICATIONS)
        .where(_VERIFICATIONS.c.token_hash == token_hash(token[:200]), _VERIFICATIONS.c.expires_at > now)
        .returning(_VERIFICATIONS.c.therapist_id, _VERIFICATIONS.c.password_hash, _VERIFICATIONS.c.display_name)
    ).first()
    therapist = (
        session.exec(select(Therapist).where(Therapist.id == claimed.therapist_id).with_for_update()).first()
        if claimed is not None
        else None
    )
    if claimed is None or therapist is None or therapist.email_verified_at is not None:
        raise Gone(
            _("This link does not work any more: it may have expired or been used already. Sign in to get a new one.")
        )
    therapist.password_hash = claimed.password_hash
    therapist.display_name = claimed.display_name
    therapist.email_verified_at = now
    session.add(therapist)
    # The other links of this account carry other sign-ups' passwords: none may apply now.
    session.execute(delete(_VERIFICATIONS).where(_VERIFICATIONS.c.therapist_id == therapist.id))
    return therapist


def sweep_unconfirmed(session: Session, *, now: datetime | None = None, kept: timedelta = UNCONFIRMED_KEPT) -> int:
    """Delete the accounts whose address was never confirmed, made more than `kept` ago and
    whose links all expired more than `kept` ago; returns how many. Such an account cannot
    sign in, so nothing hangs off it; the checks for what could are there all the same."""
    now = now or utcnow()
    cutoff = now - kept
    owned = [
        exists().where(col(Client.therapist_id) == Therapist.id),
        exists().where(col(Invite.therapist_id) == Therapist.id),
        exists().where(col(Assignment.therapist_id) == Therapist.id),
        exists().where(col(RecordTemplate.therapist_id) == Therapist.id),
        exists().where(_VERIFICATIONS.c.therapist_id == Therapist.id, _VERIFICATIONS.c.expires_at > cutoff),
    ]
    stale = select(Therapist.id).where(
        col(Therapist.email_verified_at).is_(None), Therapist.created_at < cutoff, *[~condition for condition in owned]
    )
    ids = list(session.exec(stale))
    if not ids:
        return 0
    session.execute(delete(_VERIFICATIONS).where(_VERIFICATIONS.c.therapist_id.in_(ids)))
    session.execute(delete(Therapist).where(col(Therapist.id).in_(ids)))
    return len(ids)


def _by_email(session: Session, email: str) -> Therapist | None:
    return session.exec(select(Therapist).where(Therapist.email == email).with_for_update()).first()


def _issue(session: Session, *, therapist: Therapist, password_hash: str, name: str, hours: int) -> str:
    now = utcnow()
    session.execute(
        delete(_VERIFICATIONS).where(_VERIFICATIONS.c.therapist_id == therapist.id, _VERIFICATIONS.c.expires_at <= now)
    )
    token = new_token()
    session.add(
        EmailVerification(
            therapist_id=therapist.id,
            token_hash=token_hash(token),
            password_hash=password_hash,
            display_name=name,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def link(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + VERIFY_PATH + token


def mail(message: SignupMail, *, base_url: str, hours: int, default_locale: str) -> Mail:
    """The email for a sign-up, in the language of the account it goes to."""
    with i18n.using_locale(message.locale or default_locale):
        return _compose(message, base_url=base_url, hours=hours)


def _compose(message: SignupMail, *, base_url: str, hours: int) -> Mail:
    greeting = _("Hello %(name)s,", name=message.name)
    if message.token is None:
        text = "\n".join(
            [
                greeting,
                "",
                _(
                    "Someone, perhaps you, just tried to create a new Between account with this email address. "
                    "You already have one, so nothing was changed."
                ),
                "",
                _("To sign in: %(link)s", link=base_url.rstrip("/") + "/signin"),
                "",
                _("If this was not you, you can ignore this email."),
                "",
            ]
        )
        return Mail(to=message.to, subject=_("You already have a Between account"), text=text)
    text = "\n".join(
        [
            greeting,
            "",
            _("Please confirm this email address to finish creating your Between account:"),
            "",
            link(base_url, message.token),
            "",
            ngettext("The link works once, for %(num)s hour.", "The link works once, for %(num)s hours.", hours),
            _("If you did not ask for an account, you can ignore this email: nothing happens without the link."),
            "",
        ]
    )
    return Mail(to=message.to, subject=_("Confirm your email for Between"), text=text)
