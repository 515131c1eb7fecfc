"""Single-use, expiring invites that sign a client's phone in without a password."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from app.core.errors import Gone, NotFound
from app.core.i18n import _
from app.core.security import new_code, new_token, normalize_code, token_hash
from app.models import Client, Invite, Therapist
from app.models.types import utcnow
from app.services import audit


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str  # goes in the link; shown once
    code: str  # typed on the phone; shown once


def issue(session: Session, *, therapist: Therapist, client: Client, hours: int) -> IssuedInvite:
    """A new invitation for one of the therapist's clients; any unused one is revoked.

    Audited: the client sees in "who looked at my records" that their therapist made a
    way to sign a device in to their account."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    revoke_pending(session, client_id=client.id)
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
    audit.record(
        session,
        actor_kind="therapist",
        actor_id=therapist.id,
        action="invite.issued",
        client_id=client.id,
        subject_id=invite.id,
    )
    return IssuedInvite(invite=invite, token=token, code=code)


def revoke_pending(session: Session, *, client_id: uuid.UUID) -> int:
    """Revoke every unused invitation of a client (a new one is issued, or the link ends)."""
    found = pending(session, client_id=client_id)
    for old in found:
        old.revoked_at = utcnow()
        session.add(old)
    return len(found)


def pending(session: Session, *, client_id: uuid.UUID) -> list[Invite]:
    statement = select(Invite).where(
        Invite.client_id == client_id,
        col(Invite.used_at).is_(None),
        col(Invite.revoked_at).is_(None),
        Invite.expires_at > utcnow(),
    )
    return list(session.exec(statement))


@dataclass(frozen=True)
class Redeemed:
    client: Client
    invite: Invite


def redeem(session: Session, *, token: str | None = None, code: str | None = None) -> Redeemed:
    """Use an invite once. Raises NotFound for unknown, Gone for used/expired, or when the
    therapist who issued it is no longer the client's therapist."""
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
    if client.therapist_id != invite.therapist_id:
        # Unlinking revokes pending invitations; this also covers one issued in a race with it.
        raise Gone(_("This invitation is no longer valid. Ask your therapist for a new one."))
    invite.used_at = utcnow()
    session.add(invite)
    session.flush()
    return Redeemed(client=client, invite=invite)
