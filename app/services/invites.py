"""Single-use, expiring invites that sign a client's phone in without a password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from app.i18n import _
from app.models import Client, Invite, Therapist
from app.models.types import utcnow
from app.security import new_code, new_token, normalize_code, token_hash
from app.services.errors import Gone, NotFound


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str  # goes in the link; shown once
    code: str  # typed on the phone; shown once


def issue(session: Session, *, therapist: Therapist, client: Client, hours: int) -> IssuedInvite:
    # A new invite replaces any unused one for the same client.
    for old in pending(session, client_id=client.id):
        old.revoked_at = utcnow()
        session.add(old)
    token, code = new_token(), new_code()
    invite = Invite(
        therapist_id=therapist.id,
        client_id=client.id,
        token_hash=token_hash(token),
        code_hash=token_hash(code),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(invite)
    session.flush()
    return IssuedInvite(invite=invite, token=token, code=code)


def pending(session: Session, *, client_id: uuid.UUID) -> list[Invite]:
    statement = select(Invite).where(
        Invite.client_id == client_id,
        col(Invite.used_at).is_(None),
        col(Invite.revoked_at).is_(None),
        Invite.expires_at > utcnow(),
    )
    return list(session.exec(statement))


def redeem(session: Session, *, token: str | None = None, code: str | None = None) -> Client:
    """Use an invite once. Raises NotFound for unknown, Gone for used/expired."""
    if token:
        digest = token_hash(token)
        invite = session.exec(select(Invite).where(Invite.token_hash == digest).with_for_update()).first()
    elif code:
        digest = token_hash(normalize_code(code))
        invite = session.exec(select(Invite).where(Invite.code_hash == digest).with_for_update()).first()
    else:
        invite = None
    if invite is None:
        raise NotFound(_("This invitation is not valid. Check the code or ask your therapist for a new one."))
    if invite.used_at is not None or invite.revoked_at is not None:
        raise Gone(_("This invitation has already been used. Ask your therapist for a new one."))
    if invite.expires_at <= utcnow():
        raise Gone(_("This invitation has expired. Ask your therapist for a new one."))
    client = session.get(Client, invite.client_id)
    if client is None:
        raise NotFound(_("This invitation is not valid. Check the code or ask your therapist for a new one."))
    invite.used_at = utcnow()
    session.add(invite)
    session.flush()
    return client
