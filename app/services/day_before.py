"""The day before a session: when the client hears "Anything you want to bring tomorrow?",
and what they bring (entries picked to discuss, a note for the session, a due questionnaire).

When (`send_at`): the same wall-clock time on the day before, in the client's zone, so a
session at 10:00 is asked about at 10:00 the day before whatever DST does in between
(23 or 25 hours then). If that falls in the client's quiet hours, at the end of them,
still before the session. The client's quiet hours are those of every reminder they
keep: a time any of them keeps quiet stays quiet.

What is picked is marked "discuss in session" on the entry itself, so the client's
entries, the brief and the digest agree; the agenda row remembers the order, and the
note. A note kept private never reaches the therapist; private entries are never
offered (to bring one, the client changes who sees it first).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.core.errors import Gone, Invalid
from app.core.i18n import _
from app.models import Appointment, Assignment, Client, Entry, RecordTemplate, Reminder, SessionAgenda, Visibility
from app.models.session_agenda import NOTE_MAX, PICKS_MAX, AgendaUpdate
from app.models.types import utcnow
from app.services import appointments, entries, sharing
from app.services.adherence import load as adherence
from app.services.assignment_lookup import active_for_client
from app.services.entry_text import EntryView, entry_views, tr
from app.services.reminders.schedule import in_quiet_hours, resolve_local

# Without an earlier session, "since the last session" means this far back (as in the brief).
DEFAULT_SPAN = timedelta(days=14)
# Entries offered to pick from, newest first.
OFFERED = 50
# The weekly questionnaires the page offers when one is due.
QUESTIONNAIRES = ("phq9", "gad7")
QUESTIONNAIRE_WEEK = timedelta(days=7)

Quiet = tuple[time, time]


# -- when ---------------------------------------------------------------------------------


def send_at(starts_at: datetime, *, timezone: str, quiet: Sequence[Quiet] = ()) -> datetime | None:
    """When to ask about a session (UTC): its local time the day before, moved to the end of
    quiet hours if it falls in them. None when quiet hours last until the session starts."""
    zone = ZoneInfo(timezone)
    local = starts_at.astimezone(zone).replace(tzinfo=None)
    at = resolve_local(local - timedelta(days=1), zone)
    # Quiet windows can touch or overlap: step to the end of each until none holds.
    for _step in range(len(quiet) + 1):
        wall = at.astimezone(zone)
        holding = [window for window in quiet if in_quiet_hours(wall.time(), *window)]
        if not holding:
            return at if at < starts_at else None
        at = max(_end_of(wall, window, zone) for window in holding)
    return None


def _end_of(wall: datetime, window: Quiet, zone: ZoneInfo) -> datetime:
    """The instant a quiet window holding `wall` ends (the next time its end comes round)."""
    end = datetime.combine(wall.date(), window[1])
    if end <= wall.replace(tzinfo=None):
        end += timedelta(days=1)
    return resolve_local(end, zone)


def quiet_hours(session: Session, *, client_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Quiet]]:
    """Each client's quiet windows, from the reminders of the records they keep now."""
    rows = session.exec(
        select(Reminder.client_id, col(Reminder.quiet_start), col(Reminder.quiet_end))
        .join(Assignment, col(Assignment.id) == Reminder.assignment_id)
        .where(
            col(Reminder.client_id).in_(client_ids),
            col(Assignment.ended_at).is_(None),
            col(Reminder.quiet_start).is_not(None),
            col(Reminder.quiet_end).is_not(None),
        )
    ).all()
    found: dict[uuid.UUID, list[Quiet]] = defaultdict(list)
    for client_id, start, end in rows:
        if start is not None and end is not None and (start, end) not in found[client_id]:
            found[client_id].append((start, end))
    return found


# -- what ---------------------------------------------------------------------------------


def next_session(session: Session, *, client: Client, now: datetime) -> Appointment | None:
    """The client's next session with their therapist, not started yet."""
    if client.therapist_id is None:
        return None
    return session.exec(
        select(Appointment)
        .where(
            Appointment.client_id == client.id,
            Appointment.therapist_id == client.therapist_id,
            col(Appointment.cancelled_at).is_(None),
            Appointment.starts_at > now,
        )
        .order_by(col(Appointment.starts_at))
        .limit(1)
    ).first()


def _since(session: Session, *, appointment: Appointment, now: datetime) -> datetime:
    previous = appointments.previous_of(session, appointment=appointment)
    return previous.starts_at if previous is not None and previous.starts_at < now else now - DEFAULT_SPAN


def missing_records(session: Session, *, client: Client, appointment_id: uuid.UUID, now: datetime) -> list[str]:
    """Titles of the records with a missed occasion since the last session (private entries
    count as done; only timestamps are read, never answers)."""
    appointment = session.get(Appointment, appointment_id)
    previous = appointments.previous_of(session, appointment=appointment) if appointment is not None else None
    since = previous.starts_at if previous is not None and previous.starts_at < now else now - DEFAULT_SPAN
    loaded = adherence.for_client(session, client=client, ended_after=since, entries_since=since)
    titles = []
    for item in loaded.records:
        if item.schedule.as_it_happens:
            continue  # kept as it happens: nothing is expected, so nothing can be missing
        figures = loaded.adherence(item, now=now, since=since, window_start=since, with_days=False)
        rate = figures.since
        if rate is not None and rate.done < rate.expected:
            titles.append(item.title)
    return titles


@dataclass(frozen=True)
class DueQuestionnaire:
    assignment_id: uuid.UUID
    title: str


def questionnaires_due(session: Session, *, client: Client, now: datetime) -> list[DueQuestionnaire]:
    """PHQ-9 and GAD-7 the client keeps and has not answered in the last seven days."""
    templates = _questionnaire_templates(session)
    kept = [
        (assignment, version)
        for assignment, version in active_for_client(session, client_id=client.id)
        if assignment.template_id in templates
    ]
    if not kept:
        return []
    answered = set(
        session.exec(
            select(Entry.assignment_id).where(
                Entry.client_id == client.id,
                col(Entry.assignment_id).in_([assignment.id for assignment, _v in kept]),
                col(Entry.deleted_at).is_(None),
                Entry.occurred_at > now - QUESTIONNAIRE_WEEK,
            )
        ).all()
    )
    return [
        DueQuestionnaire(assignment.id, tr(version.title, library=True))
        for assignment, version in kept
        if assignment.id not in answered
    ]


def _questionnaire_templates(session: Session) -> set[uuid.UUID]:
    return set(session.exec(select(RecordTemplate.id).where(col(RecordTemplate.slug).in_(QUESTIONNAIRES))).all())


@dataclass
class DayBefore:
    """The client's page for their next session."""

    appointment: Appointment | None
    entries: list[EntryView] = field(default_factory=list)
    picked: set[uuid.UUID] = field(default_factory=set)
    note: str = ""
    note_private: bool = False
    questionnaires: list[DueQuestionnaire] = field(default_factory=list)
    catch_up: list[str] = field(default_factory=list)


def _offered(session: Session, *, client: Client, since: datetime) -> list[Entry]:
    """The client's shared and discuss-in-session entries since the last session, newest first."""
    return sharing.shared_entries(session, client_id=client.id, since=since, newest_first=True, limit=OFFERED)


def _agenda(session: Session, *, appointment_id: uuid.UUID) -> SessionAgenda | None:
    return session.exec(select(SessionAgenda).where(SessionAgenda.appointment_id == appointment_id)).first()


def page(session: Session, *, client: Client, now: datetime | None = None) -> DayBefore:
    now = now or utcnow()
    appointment = next_session(session, client=client, now=now)
    if appointment is None:
        return DayBefore(appointment=None)
    since = _since(session, appointment=appointment, now=now)
    offered = _offered(session, client=client, since=since)
    agenda = _agenda(session, appointment_id=appointment.id)
    return DayBefore(
        appointment=appointment,
        entries=entry_views(session, offered),
        picked={row.id for row in offered if row.visibility == Visibility.discuss},
        note=agenda.note if agenda else "",
        note_private=agenda.note_private if agenda else False,
        questionnaires=questionnaires_due(session, client=client, now=now),
        catch_up=missing_records(session, client=client, appointment_id=appointment.id, now=now),
    )


def save(
    session: Session,
    *,
    client: Client,
    data: AgendaUpdate,
    considered: list[uuid.UUID] | None = None,
    now: datetime | None = None,
) -> SessionAgenda:
    """Store the client's picks and note for their next session. Entries picked are marked
    "discuss in session"; entries since the last session left unpicked (of `considered`,
    the ones the client saw, when given) are no longer. The caller commits."""
    now = now or utcnow()
    errors: dict[str, str] = {}
    if len(data.note) > NOTE_MAX:
        errors["note"] = _("Please keep the note under %(num)s characters.", num=NOTE_MAX)
    if len(data.picks) > PICKS_MAX:
        errors["picks"] = _("Please pick at most %(num)s entries.", num=PICKS_MAX)
    if errors:
        raise Invalid(next(iter(errors.values())), errors=errors)
    appointment = next_session(session, client=client, now=now)
    if appointment is None or (data.appointment_id is not None and appointment.id != data.appointment_id):
        raise Gone(_("This session has already started or was moved. Your next one is on the page now."))
    since = _since(session, appointment=appointment, now=now)
    offered = {row.id: row for row in _offered(session, client=client, since=since)}
    picks = list(dict.fromkeys(data.picks))
    unknown = [pick for pick in picks if pick not in offered]
    if unknown:
        raise Invalid(
            _("An entry picked is not one of yours since the last session, or it is private."),
            errors={"picks": _("Pick from the entries on this page.")},
        )
    seen = set(offered) if considered is None else set(considered) & set(offered)
    for entry_id, row in offered.items():
        wanted = Visibility.discuss if entry_id in picks else Visibility.shared
        if row.visibility != wanted and (entry_id in picks or entry_id in seen):
            entries.set_visibility(session, entry=row, visibility=wanted)
    agenda = _agenda(session, appointment_id=appointment.id)
    if agenda is None:
        agenda = SessionAgenda(appointment_id=appointment.id, client_id=client.id, created_at=now)
    # Picked before first, in their order; then the new ones in the order they happened.
    kept = [pick for pick in agenda.picks if uuid.UUID(pick) in picks]
    added = sorted((pick for pick in picks if str(pick) not in kept), key=lambda pick: offered[pick].occurred_at)
    agenda.picks = kept + [str(pick) for pick in added]
    # A NUL is no character anyone types, and PostgreSQL refuses it in text.
    agenda.note = data.note.replace("\x00", "").strip()
    agenda.note_private = data.note_private
    agenda.updated_at = now
    session.add(agenda)
    session.flush()
    return agenda


# -- for the therapist ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientAgenda:
    """What the client brought for this session: their note (empty when kept private) and the
    ids of the entries they picked, in order."""

    note: str
    picked: list[uuid.UUID]
    updated_at: datetime | None


def for_brief(session: Session, *, appointment: Appointment | None) -> ClientAgenda:
    """The brief's first agenda lines. Never a private note; picks are later intersected with
    the shared entries the brief holds, so an entry made private again drops out."""
    agenda = _agenda(session, appointment_id=appointment.id) if appointment is not None else None
    if agenda is None:
        return ClientAgenda(note="", picked=[], updated_at=None)
    return ClientAgenda(
        note="" if agenda.note_private else agenda.note,
        picked=[uuid.UUID(pick) for pick in agenda.picks],
        updated_at=agenda.updated_at,
    )


# A session this close gets its way in on Today.
SOON = timedelta(days=2)


def soon(session: Session, *, client: Client, now: datetime | None = None) -> Appointment | None:
    """The client's next session when it starts within two days, else None."""
    now = now or utcnow()
    appointment = next_session(session, client=client, now=now)
    return appointment if appointment is not None and appointment.starts_at <= now + SOON else None
