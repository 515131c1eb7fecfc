"""Barrier check-ins: "Not today, because…", the client's word on why a due record was not done.

A check-in is about one record on one of the client's local days that the adherence
engine counts as missed (or today's, still open, from the record form). Records kept
"as it happens" have no missed days, so they take no check-ins. Like entries, a
check-in is private, shared or for discussing in session, and its id comes from the
client so that a replayed write is answered rather than doubled.

A check-in may carry a voice note, uploaded first like an entry's and tied to it when
it is saved; who may hear it follows the check-in (app/services/voice_notes.py).

What the therapist sees (`for_brief`) never counts, groups, quotes or plays a private
one: the filter is in the query.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.core.errors import Conflict, Invalid, NotFound
from app.core.i18n import N_, _
from app.models import BarrierCheckin, BarrierCreate, BarrierPublic, Client, Frequency, Therapist, Visibility
from app.models.barrier import ME_REASONS, NOTE_MAX, TASK_REASONS, Reason
from app.models.types import utcnow
from app.services import sharing, voice_notes, zone_history
from app.services.adherence import load as adherence
from app.services.adherence.load import Assigned, assigned
from app.services.adherence.rules import DayClock, DayState
from app.services.device_trust import PrivateAccess

# How far back a check-in may reach, and how far back Today asks about.
LOOKBACK_DAYS = 28
PROMPT_DAYS = 7

# The client's words on the buttons (first person), and the therapist's question for each.
LABELS: dict[Reason, str] = {
    Reason.forgot: N_("I forgot"),
    Reason.no_time: N_("I had no time"),
    Reason.not_up_to_it: N_("I didn't feel up to it"),
    Reason.too_upsetting: N_("It was too upsetting to write about"),
    Reason.no_point: N_("I didn't see the point"),
    Reason.not_sure_how: N_("I wasn't sure how"),
    Reason.too_long: N_("It takes too long"),
    Reason.doesnt_fit: N_("It doesn't fit my day"),
    Reason.nothing_happened: N_("Nothing happened to write about"),
}
QUESTIONS: dict[Reason, str] = {
    Reason.forgot: N_("What could remind you at a moment that suits you?"),
    Reason.no_time: N_("When in the week might there be a few minutes that are yours?"),
    Reason.not_up_to_it: N_("What were those days like, and what might help on the next one?"),
    Reason.too_upsetting: N_("What would make it safer to write about?"),
    Reason.no_point: N_("What would make the record worth doing for you?"),
    Reason.not_sure_how: N_("Which part felt unclear? Shall we fill one in together?"),
    Reason.too_long: N_("What would a shorter version look like?"),
    Reason.doesnt_fit: N_("When in your day would it fit better?"),
    Reason.nothing_happened: N_("What might be worth noting on a quiet day?"),
}
DID_IT_LABEL = N_("I did it, I just didn't write it down")
DID_IT_QUESTION = N_("What made writing it down harder than doing it?")
# Days the schedule asked for and nothing (or not enough) was written.
_MISSED = frozenset({DayState.missed, DayState.partial})


@dataclass(frozen=True)
class SavedCheckin:
    checkin: BarrierCheckin
    created: bool
    voice_note_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Prompt:
    """The one question Today may ask: a record missed on a recent day."""

    assignment_id: uuid.UUID
    title: str
    day: date
    today: date


@dataclass(frozen=True)
class ReasonCount:
    reason: Reason | None  # None: done but not written down
    count: int

    @property
    def label(self) -> str:
        return _(LABELS[self.reason]) if self.reason is not None else _(DID_IT_LABEL)

    @property
    def question(self) -> str:
        return _(QUESTIONS[self.reason]) if self.reason is not None else _(DID_IT_QUESTION)


@dataclass(frozen=True)
class CheckinNote:
    """What the client added to a shared check-in: words, a voice note, or both."""

    day: date
    title: str
    note: str
    discuss: bool
    voice_note_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None

    @property
    def audio(self) -> str:
        return f"/api/v1/voice-notes/{self.voice_note_id}" if self.voice_note_id is not None else ""


@dataclass
class Summary:
    """What got in the way since the last session, shared and discuss-in-session only."""

    me: list[ReasonCount] = field(default_factory=list)
    task: list[ReasonCount] = field(default_factory=list)
    did_it: int = 0
    # Notes (written or spoken) the client shared with a check-in, newest first.
    notes: list[CheckinNote] = field(default_factory=list)
    total: int = 0

    @property
    def empty(self) -> bool:
        return self.total == 0

    @property
    def did_it_question(self) -> str:
        """The question for days done but not written down."""
        return _(DID_IT_QUESTION)


def private_filter(access: PrivateAccess) -> ColumnElement[bool]:
    """The check-ins one device may show: all once confirmed, else shared ones and its own."""
    if access.everything:
        return true()
    shared = sharing.shared(BarrierCheckin)
    if access.device_id is None:
        return shared
    return or_(shared, col(BarrierCheckin.device_id) == access.device_id)


def _clock(session: Session, client: Client) -> DayClock:
    return DayClock(zone_history.history(session, client=client), client.day_boundary)


def today_of(session: Session, *, client: Client, now: datetime | None = None) -> date:
    return _clock(session, client).day_of(now or utcnow())


def _missed_days(
    session: Session, *, client: Client, now: datetime, lookback: int, assignment_id: uuid.UUID | None = None
) -> tuple[date, list[tuple[Assigned, list[date], bool]]]:
    """Today, and per assignment (not kept as it happens) its missed days in the last
    `lookback` days, and whether today is still open for it."""
    window_start = now - timedelta(days=lookback + 8)
    loaded = adherence.for_client(session, client=client, ended_after=window_start, entries_since=window_start)
    items = loaded.records
    if assignment_id is not None:
        items = [item for item in items if item.assignment.id == assignment_id]
    items = [item for item in items if item.assignment.frequency != Frequency.as_it_happens]
    today = DayClock(loaded.zones, client.day_boundary).day_of(now)
    if not items:
        return today, []
    out = []
    oldest = today - timedelta(days=lookback)
    for item in items:
        days = loaded.adherence(item, now=now, window_start=window_start).days
        missed = [d.day for d in days if d.state in _MISSED and oldest <= d.day < today]
        open_today = any(d.day == today and d.state == DayState.expected for d in days)
        out.append((item, missed, open_today))
    return today, out


def open_today(session: Session, *, client: Client, assignment_id: uuid.UUID, now: datetime | None = None) -> bool:
    """Whether today's occasion of this record is still open, so "Not today, because…" fits."""
    _today, found = _missed_days(session, client=client, now=now or utcnow(), lookback=0, assignment_id=assignment_id)
    return any(open_today for _item, _missed, open_today in found)


def record(
    session: Session,
    *,
    client: Client,
    data: BarrierCreate,
    device_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> SavedCheckin:
    """Store a check-in once; the same id and content again returns the stored one."""
    now = now or utcnow()
    note = data.note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid(
            _("The note is too long: %(max)s characters at most.", max=NOTE_MAX),
            errors={"note": _("Too long.")},
        )
    if data.reason is None and not data.did_it_unrecorded:
        raise Invalid(_("Choose what got in the way."), errors={"reason": _("Choose one.")})
    digest = _content_hash(data, note)
    existing = session.get(BarrierCheckin, data.id)
    if existing is not None:
        stored = _same_or_conflict(existing, client=client, digest=digest)
        return SavedCheckin(stored, created=False, voice_note_id=data.voice_note_id)
    spoken = None
    if data.voice_note_id is not None:
        spoken = voice_notes.check_for_checkin(
            session, client_id=client.id, note_id=data.voice_note_id, checkin_id=data.id
        )
    check_day(session, client=client, assignment_id=data.assignment_id, day=data.day, now=now)
    taken = session.exec(
        select(BarrierCheckin.id).where(
            BarrierCheckin.client_id == client.id,
            BarrierCheckin.assignment_id == data.assignment_id,
            BarrierCheckin.day == data.day,
        )
    ).first()
    if taken is not None:
        raise Conflict(_("You already told us about this day. Thank you."))
    row = {
        "id": data.id,
        "client_id": client.id,
        "assignment_id": data.assignment_id,
        "day": data.day,
        "reason": None if data.reason is None else str(data.reason),
        "did_it_unrecorded": data.did_it_unrecorded,
        "note": note,
        "visibility": data.visibility,
        "created_at": now,
        "content_hash": digest,
        "device_id": device_id,
    }
    session.flush()
    inserted = session.connection().execute(_INSERT_ONCE[session.get_bind().dialect.name], row).first()
    if inserted is None:
        # Two syncs of the same check-in raced: the other one stored it.
        existing = session.get(BarrierCheckin, data.id, populate_existing=True)
        if existing is None:
            raise Conflict(_("This could not be saved just now. Please try again."))
        stored = _same_or_conflict(existing, client=client, digest=digest)
        return SavedCheckin(stored, created=False, voice_note_id=data.voice_note_id)
    checkin = session.get(BarrierCheckin, data.id, populate_existing=True)
    assert checkin is not None
    if spoken is not None:
        voice_notes.attach_checkin(session, note=spoken, checkin_id=checkin.id)
    return SavedCheckin(checkin, created=True, voice_note_id=data.voice_note_id)


_TABLE = BarrierCheckin.__table__  # type: ignore[attr-defined]
_INSERT_ONCE = {
    name: insert(_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_TABLE.c.id)
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


def check_day(
    session: Session, *, client: Client, assignment_id: uuid.UUID, day: date, now: datetime | None = None
) -> None:
    """The record is the client's, and `day` was missed (or is today, still open)."""
    now = now or utcnow()
    today, found = _missed_days(session, client=client, now=now, lookback=LOOKBACK_DAYS, assignment_id=assignment_id)
    if not found:
        owned = assigned(session, client_ids=[client.id], ended_after=now - timedelta(days=LOOKBACK_DAYS + 8))
        if any(item.assignment.id == assignment_id for item in owned[client.id]):
            raise Invalid(
                _("This record is kept as it happens, so no day of it is ever missed."),
                errors={"assignment_id": _("Nothing is missed here.")},
            )
        raise NotFound(_("This record is not assigned to you."))
    if day > today:
        raise Invalid(_("That day has not come yet."), errors={"day": _("In the future.")})
    if day < today - timedelta(days=LOOKBACK_DAYS):
        raise Invalid(_("That day is too long ago to add a reason."), errors={"day": _("Too long ago.")})
    [(_item, missed, open_today)] = found
    if day in missed or (day == today and open_today):
        return
    raise Invalid(
        _("This record was not missed that day, so there is nothing to explain."),
        errors={"day": _("Not missed.")},
    )


def _same_or_conflict(existing: BarrierCheckin, *, client: Client, digest: str) -> BarrierCheckin:
    if existing.client_id != client.id:
        raise Conflict(_("This check-in id is already taken. Please try again."))
    if existing.content_hash != digest:
        raise Conflict(_("A check-in with this id already exists with different content."))
    return existing


def _content_hash(data: BarrierCreate, note: str) -> str:
    content: dict[str, object] = {
        "assignment": str(data.assignment_id),
        "day": data.day.isoformat(),
        "reason": None if data.reason is None else str(data.reason),
        "did_it": data.did_it_unrecorded,
        "note": note,
        "visibility": str(data.visibility),
    }
    if data.voice_note_id is not None:
        # Only when there is one, so check-ins stored before voice notes keep their hashes.
        content["voice_note"] = str(data.voice_note_id)
    canonical = json.dumps(
        content,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def list_for_client(
    session: Session, *, client: Client, access: PrivateAccess, limit: int = 50
) -> list[BarrierCheckin]:
    statement = (
        select(BarrierCheckin)
        .where(BarrierCheckin.client_id == client.id, private_filter(access))
        .order_by(col(BarrierCheckin.day).desc(), col(BarrierCheckin.created_at).desc())
        .limit(min(max(limit, 1), 500))
    )
    return list(session.exec(statement))


def public(session: Session, *, checkins: list[BarrierCheckin]) -> list[BarrierPublic]:
    """Check-ins as the API shows them, each with the id of its voice note if it has one."""
    spoken = voice_notes.for_checkins(session, checkin_ids=[row.id for row in checkins])
    return [
        BarrierPublic.model_validate(row, from_attributes=True).model_copy(update={"voice_note_id": spoken.get(row.id)})
        for row in checkins
    ]


def unanswered(session: Session, *, client: Client, now: datetime | None = None) -> tuple[list[Prompt], bool]:
    """Records missed in the last `PROMPT_DAYS` days that have no check-in yet, newest day
    first, and whether the client already answered one today."""
    now = now or utcnow()
    today, found = _missed_days(session, client=client, now=now, lookback=PROMPT_DAYS)
    if not found:
        return [], False
    rows = session.exec(
        select(col(BarrierCheckin.assignment_id), col(BarrierCheckin.day), col(BarrierCheckin.created_at)).where(
            BarrierCheckin.client_id == client.id, BarrierCheckin.day >= today - timedelta(days=PROMPT_DAYS)
        )
    ).all()
    clock = _clock(session, client)
    answered_today = any(clock.day_of(created) == today for _a, _d, created in rows)
    answered = {(assignment_id, day) for assignment_id, day, _c in rows}
    open_ones = [
        Prompt(assignment_id=item.assignment.id, title=item.title, day=day, today=today)
        for item, missed, _open in found
        if item.assignment.ended_at is None
        for day in missed
        if (item.assignment.id, day) not in answered
    ]
    open_ones.sort(key=lambda item: item.day, reverse=True)
    return open_ones, answered_today


def prompt(
    session: Session, *, client: Client, quiet_day: str | None = None, now: datetime | None = None
) -> Prompt | None:
    """The most recent missed record without a check-in, for Today: at most one question
    a day. None when there is none, when "Not now" was said today (`quiet_day`, the ISO
    day it was said) or when the client already answered one today."""
    now = now or utcnow()
    open_ones, answered_today = unanswered(session, client=client, now=now)
    if not open_ones or answered_today or quiet_day == open_ones[0].today.isoformat():
        return None
    return open_ones[0]


def for_brief(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    since: datetime,
    until: datetime,
    titles: dict[uuid.UUID, str],
    clock: DayClock | None = None,
) -> Summary:
    """Reasons given for the client's days since the last session (`since` to `until`),
    grouped, shared and discuss-in-session only: a private check-in is not even read.
    `clock`: the client's day clock, when the caller has it already."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    clock = clock or _clock(session, client)
    rows = list(
        session.exec(
            select(BarrierCheckin)
            .where(
                BarrierCheckin.client_id == client.id,
                sharing.shared(BarrierCheckin),
                BarrierCheckin.day >= clock.day_of(since),
                BarrierCheckin.day <= clock.day_of(until),
            )
            .order_by(col(BarrierCheckin.day).desc())
        )
    )
    # Done but not written down is its own state: not a reason, not a miss.
    counts = Counter(Reason(row.reason) for row in rows if row.reason is not None and not row.did_it_unrecorded)
    summary = Summary(total=len(rows))
    summary.me = _ranked(counts, ME_REASONS)
    summary.task = _ranked(counts, TASK_REASONS)
    summary.did_it = sum(1 for row in rows if row.did_it_unrecorded)
    # The rows are shared ones only, so a private check-in's voice note is never even named.
    spoken = voice_notes.for_checkins(session, checkin_ids=[row.id for row in rows])
    summary.notes = [
        CheckinNote(
            day=row.day,
            title=titles.get(row.assignment_id, ""),
            note=row.note,
            discuss=row.visibility == Visibility.discuss,
            voice_note_id=spoken.get(row.id),
            assignment_id=row.assignment_id,
        )
        for row in rows
        if row.note or row.id in spoken
    ]
    return summary


def _ranked(counts: Counter[Reason], group: tuple[Reason, ...]) -> list[ReasonCount]:
    found = [ReasonCount(reason, counts[reason]) for reason in group if counts[reason]]
    return sorted(found, key=lambda item: -item.count)
