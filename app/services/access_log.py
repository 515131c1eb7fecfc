"""What the client sees in "Who looked at my records": their therapist's reads and exports, in
words, from the audit events the reading services record (never any clinical content)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.core import i18n
from app.core.i18n import _
from app.models import AuditEvent, Therapist


@dataclass(frozen=True)
class AccessView:
    at: datetime
    who: str
    what: str


def access_log(session: Session, *, client_id: uuid.UUID, limit: int | None = None) -> list[AccessView]:
    """Who read or exported the client's records, newest first, in words."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.client_id == client_id, AuditEvent.actor_kind == "therapist")
        .order_by(col(AuditEvent.at).desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    events = list(session.exec(statement))
    names: dict[uuid.UUID | None, str] = {}
    for event in events:
        if event.actor_id not in names:
            therapist = session.get(Therapist, event.actor_id) if event.actor_id else None
            names[event.actor_id] = therapist.display_name if therapist else _("A therapist who no longer uses Between")
    return [AccessView(at=event.at, who=names[event.actor_id], what=describe_action(event.action)) for event in events]


# Audit actions as the client reads them. Actions others add fall back to a plain phrase.
_ACTIONS = {
    "entries.read": i18n.N_("read your shared entries"),
    "brief.read": i18n.N_("read the summary prepared before your session"),
    "digest.sent": i18n.N_("was emailed a short summary before your session"),
    "adherence.read": i18n.N_("looked at how often you filled in your records"),
    "voice_note.played": i18n.N_("listened to one of your shared voice notes"),
    "export.csv": i18n.N_("downloaded your shared entries as a spreadsheet (CSV)"),
    "export.report": i18n.N_("opened a printable report of your shared entries"),
    "export.fhir": i18n.N_("exported your shared entries for a health record system (FHIR)"),
    "invite.issued": i18n.N_("created a new invitation to sign a device in to your account"),
    "device.revoked": i18n.N_("signed out one of your devices"),
    "plan.read": i18n.N_("looked at a plan you made together"),
}


def describe_action(action: str) -> str:
    return _(_ACTIONS[action]) if action in _ACTIONS else _("looked at your records")
