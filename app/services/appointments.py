"""Sessions (appointments): scheduling, repeats, moving, cancelling, and "since the last session".

A repeating session is stored as its occurrences, materialised for a bounded
horizon and sharing a series id; each keeps the agreed wall-clock time in its
zone, so a 09:00 session stays at 09:00 across DST.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, union_all
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.core.querying import among
from app.core.timeutil import valid_timezone
from app.models import Appointment, Client, Repeat, Therapist
from app.models.types import utcnow

# Repeats are materialised this far ahead (26 weekly or 13 fortnightly sessions).
HORIZON = timedelta(weeks=26)
MAX_DURATION = 480
MIN_DURATION = 5
# Sessions never last longer than this, so "still running" needs only a bounded look back.
_LONGEST = timedelta(minutes=MAX_DURATION)
_STEP = {Repeat.weekly: timedelta(weeks=1), Repeat.biweekly: timedelta(weeks=2)}
# How far ahead a session may start. Far enough for any plan, and it keeps every instant
# computed from a session (its repeats, its end, the reminders before it) inside the range
# datetime can hold: a session in the year 9999 would overflow it.
MAX_AHEAD = timedelta(days=2 * 366)


@dataclass(frozen=True)
class Around:
    """A client's sessions around an instant: the last one that ended and the next (or current)."""

    last: Appointment | None
    next: Appointment | None

    @property
    def since(self) -> datetime | None:
        """Where "since the last session" starts."""
        return self.last.starts_at if self.last is not None else None


# -- validation helpers ------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(valid_timezone(name))
    except ValueError:
        raise Invalid(_("Unknown time zone."), errors={"timezone": _("Unknown time zone.")}) from None


def local_start(day: date, at: time, *, timezone: str) -> datetime:
    """The UTC instant of a wall-clock time; a time the clocks skip over is refused."""
    zone = _zone(timezone)
    local = datetime.combine(day, at).replace(tzinfo=zone)
    try:
        instant = local.astimezone(UTC)
    except OverflowError:  # the first or last hours datetime can hold, in a zone away from UTC
        raise _too_far() if day.year > 1 else _in_the_past() from None
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise Invalid(
            _("The clocks change at that time on that day. Please choose another time."),
            errors={"time": _("This time does not exist on that day.")},
        )
    return instant


def _in_the_past() -> Invalid:
    return Invalid(
        _("That time has already passed. Please choose a time in the future."),
        errors={"starts_at": _("In the past.")},
    )


def _too_far() -> Invalid:
    return Invalid(_("Sessions can be planned up to two years ahead."), errors={"starts_at": _("Too far ahead.")})


def _check_start(starts_at: datetime, now: datetime) -> None:
    """A session starts in the future, and at most MAX_AHEAD from now."""
    if starts_at.tzinfo is None:
        raise Invalid(_("The session needs a time zone."))
    # Subtracting aware datetimes never overflows, whatever their offsets.
    if starts_at < now:
        raise _in_the_past()
    if starts_at - now > MAX_AHEAD:
        raise _too_far()


def _duration(minutes: int) -> int:
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise Invalid(
            _("A session lasts between 5 minutes and 8 hours."),
            errors={"duration_minutes": _("Between 5 and 480 minutes.")},
        )
    return minutes


def _client_of(session: Session, *, therapist: Therapist, client_id: uuid.UUID) -> Client:
    client = session.get(Client, client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    return client


def _occurrences(starts_at: datetime, *, timezone: str, repeat: Repeat, now: datetime) -> list[datetime]:
    if repeat is Repeat.none:
        return [starts_at]
    zone = _zone(timezone)
    wall = starts_at.astimezone(zone).replace(tzinfo=None)
    step = _STEP[repeat]
    out = []
    k = 0
    while True:
        local = wall + step * k
        instant = local.replace(tzinfo=zone).astimezone(UTC)
        if instant > max(now, starts_at) + HORIZON:
            break
        out.append(instant)
        k += 1
    return out


def _overlapping(
    session: Session,
    *,
    therapist_id: uuid.UUID,
    slots: list[tuple[datetime, datetime]],
    ignore: set[uuid.UUID] | None = None,
) -> Appointment | None:
    """The therapist's first live session that overlaps any of the slots, in one query."""
    if not slots:
        return None
    low = min(start for start, _end in slots) - _LONGEST
    high = max(end for _start, end in slots)
    statement = select(Appointment).where(
        Appointment.therapist_id == therapist_id,
        col(Appointment.cancelled_at).is_(None),
        Appointment.starts_at >= low,
        Appointment.starts_at < high,
    )
    candidates = [row for row in session.exec(statement) if row.id not in (ignore or set())]
    for start, end in slots:
        for row in candidates:
            if row.starts_at < end and start < row.ends_at:
                return row
    return None


def _overlap_error(other: Appointment, *, timezone: str) -> Invalid:
    when = other.starts_at.astimezone(_zone(timezone)).strftime("%Y-%m-%d %H:%M")
    return Invalid(
        _("This overlaps another session (%(when)s). Please choose another time.", when=when),
        errors={"starts_at": _("Overlaps another session.")},
    )


# -- commands ----------------------------------------------------------------------------------


def schedule(
    session: Session,
    *,
    therapist: Therapist,
    client_id: uuid.UUID,
    starts_at: datetime,
    timezone: str,
    duration_minutes: int = 50,
    repeat: Repeat | str = Repeat.none,
    now: datetime | None = None,
) -> list[Appointment]:
    """Schedule a session (and its repeats). All occurrences are checked before any is stored."""
    now = now or utcnow()
    client = _client_of(session, therapist=therapist, client_id=client_id)
    _zone(timezone)
    try:
        repeat = Repeat(repeat)
    except ValueError:
        raise Invalid(_("Choose how the session repeats.")) from None
    _check_start(starts_at, now)
    duration = _duration(duration_minutes)
    starts = _occurrences(starts_at.astimezone(UTC), timezone=timezone, repeat=repeat, now=now)
    length = timedelta(minutes=duration)
    slots = [(start, start + length) for start in starts]
    clash = _overlapping(session, therapist_id=therapist.id, slots=slots)
    if clash is not None:
        raise _overlap_error(clash, timezone=timezone)
    series_id = uuid.uuid4() if repeat is not Repeat.none else None
    created = [
        Appointment(
            client_id=client.id,
            therapist_id=therapist.id,
            starts_at=start,
            timezone=timezone,
            duration_minutes=duration,
            repeat=repeat.value,
            series_id=series_id,
            created_at=now,
            updated_at=now,
        )
        for start in starts
    ]
    session.add_all(created)
    session.flush()
    return created


def get_for_therapist(session: Session, *, therapist: Therapist, appointment_id: uuid.UUID) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    # Another therapist's session is answered exactly like a missing one.
    if appointment is None or appointment.therapist_id != therapist.id:
        raise NotFound(_("No such session."))
    client = session.get(Client, appointment.client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such session."))
    return appointment


def move(
    session: Session,
    *,
    therapist: Therapist,
    appointment_id: uuid.UUID,
    starts_at: datetime,
    timezone: str | None = None,
    duration_minutes: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move one session (one occurrence of a series; the others stay)."""
    now = now or utcnow()
    appointment = get_for_therapist(session, therapist=therapist, appointment_id=appointment_id)
    if appointment.cancelled:
        raise Invalid(_("This session was cancelled. Schedule a new one instead."))
    if appointment.starts_at < now:
        raise Invalid(_("This session has already taken place."))
    zone = timezone or appointment.timezone
    _zone(zone)
    _check_start(starts_at, now)
    duration = _duration(duration_minutes or appointment.duration_minutes)
    slot = (starts_at, starts_at + timedelta(minutes=duration))
    clash = _overlapping(session, therapist_id=therapist.id, slots=[slot], ignore={appointment.id})
    if clash is not None:
        raise _overlap_error(clash, timezone=zone)
    moved_to = starts_at.astimezone(UTC)
    if moved_to != appointment.starts_at:
        # The therapist's digest names the time: a moved session gets a fresh one. The
        # client's nudge says "tomorrow": it is owed again only if the day changed.
        appointment.digest_sent_at = None
        local = ZoneInfo(zone)
        if moved_to.astimezone(local).date() != appointment.starts_at.astimezone(local).date():
            appointment.nudge_sent_at = None
    appointment.starts_at = moved_to
    appointment.timezone = zone
    appointment.duration_minutes = duration
    appointment.updated_at = now
    session.add(appointment)
    session.flush()
    return appointment


def cancel(
    session: Session,
    *,
    therapist: Therapist,
    appointment_id: uuid.UUID,
    following: bool = False,
    now: datetime | None = None,
) -> list[Appointment]:
    """Cancel a session; with `following`, also every later session of its series."""
    now = now or utcnow()
    appointment = get_for_therapist(session, therapist=therapist, appointment_id=appointment_id)
    if appointment.cancelled:
        return [appointment]
    if appointment.starts_at < now:
        raise Invalid(_("This session has already taken place."))
    targets = [appointment]
    if following and appointment.series_id is not None:
        targets += list(
            session.exec(
                select(Appointment).where(
                    Appointment.series_id == appointment.series_id,
                    Appointment.therapist_id == therapist.id,
                    Appointment.starts_at > appointment.starts_at,
                    col(Appointment.cancelled_at).is_(None),
                )
            )
        )
    for item in targets:
        item.cancelled_at = now
        item.updated_at = now
        session.add(item)
    session.flush()
    return targets


def save_notes(session: Session, *, therapist: Therapist, appointment_id: uuid.UUID, notes: str) -> Appointment:
    appointment = get_for_therapist(session, therapist=therapist, appointment_id=appointment_id)
    if len(notes) > 20000:
        raise Invalid(_("Notes are limited to 20,000 characters."), errors={"notes": _("Too long.")})
    appointment.notes = notes
    appointment.updated_at = utcnow()
    session.add(appointment)
    session.flush()
    return appointment


# -- queries -----------------------------------------------------------------------------------


def for_client(
    session: Session, *, client_id: uuid.UUID, include_cancelled: bool = False, limit: int = 200
) -> list[Appointment]:
    statement = select(Appointment).where(Appointment.client_id == client_id)
    if not include_cancelled:
        statement = statement.where(col(Appointment.cancelled_at).is_(None))
    return list(session.exec(statement.order_by(col(Appointment.starts_at)).limit(limit)))


def upcoming_for_client(
    session: Session, *, client_id: uuid.UUID, now: datetime | None = None, limit: int = 10
) -> list[Appointment]:
    now = now or utcnow()
    statement = (
        select(Appointment)
        .where(
            Appointment.client_id == client_id,
            col(Appointment.cancelled_at).is_(None),
            Appointment.starts_at > now - _LONGEST,
        )
        .order_by(col(Appointment.starts_at))
        .limit(limit + 2)
    )
    return [row for row in session.exec(statement) if row.ends_at > now][:limit]


def recent_for_client(
    session: Session, *, client_id: uuid.UUID, now: datetime | None = None, limit: int = 10
) -> list[Appointment]:
    now = now or utcnow()
    statement = (
        select(Appointment)
        .where(Appointment.client_id == client_id, Appointment.starts_at < now)
        .order_by(col(Appointment.starts_at).desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def around(
    session: Session,
    *,
    client_ids: Iterable[uuid.UUID],
    now: datetime | None = None,
    lookback: timedelta | None = None,
) -> dict[uuid.UUID, Around]:
    """Last and next session of many clients in two queries, whatever their number.

    With `lookback`, a last session longer ago than that is not looked for.
    """
    now = now or utcnow()
    ids = list(client_ids)
    out = {client_id: Around(last=None, next=None) for client_id in ids}
    if not ids:
        return out
    after = now - lookback if lookback is not None else None
    last = _ranked(session, ids=ids, before=now, after=after, descending=True)
    upcoming = _ranked(session, ids=ids, after=now - _LONGEST, descending=False)
    for client_id in ids:
        # A session still running is the "next" one (the one the brief is for), not the last.
        previous = next((row for row in last.get(client_id, []) if row.ends_at <= now), None)
        coming = next((row for row in upcoming.get(client_id, []) if row.ends_at > now), None)
        out[client_id] = Around(last=previous, next=coming)
    return out


def _ranked(
    session: Session,
    *,
    ids: list[uuid.UUID],
    before: datetime | None = None,
    after: datetime | None = None,
    descending: bool,
    per_client: int = 3,
) -> dict[uuid.UUID, list[Appointment]]:
    order = col(Appointment.starts_at).desc() if descending else col(Appointment.starts_at)
    rank = func.row_number().over(partition_by=col(Appointment.client_id), order_by=order).label("rank")
    inner = select(col(Appointment.id), rank).where(
        col(Appointment.client_id).in_(ids), col(Appointment.cancelled_at).is_(None)
    )
    if before is not None:
        inner = inner.where(Appointment.starts_at < before)
    if after is not None:
        inner = inner.where(Appointment.starts_at > after)
    ranked = inner.subquery()
    statement = (
        select(Appointment)
        .join(ranked, col(Appointment.id) == ranked.c.id)
        .where(ranked.c.rank <= per_client)
        .order_by(order)
    )
    out: dict[uuid.UUID, list[Appointment]] = {}
    for row in session.exec(statement):
        out.setdefault(row.client_id, []).append(row)
    return out


@dataclass(frozen=True, slots=True)
class Slot:
    """A session as a list of many clients shows it: when, how long, in which zone."""

    id: uuid.UUID
    client_id: uuid.UUID
    starts_at: datetime
    duration_minutes: int
    timezone: str

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True, slots=True)
class SlotsAround:
    """Like `Around`, with `Slot`s: the last session that ended and the next (or current)."""

    last: Slot | None
    next: Slot | None

    @property
    def since(self) -> datetime | None:
        return self.last.starts_at if self.last is not None else None


def slots_around(
    session: Session,
    *,
    client_ids: Iterable[uuid.UUID],
    now: datetime | None = None,
    lookback: timedelta | None = None,
) -> dict[uuid.UUID, SlotsAround]:
    """What `around` finds, in one query of plain columns: for a caseload, where
    hundreds of full appointment objects cost more than the query itself.

    Sessions never last longer than `_LONGEST`, so per client only these can be the
    last or the next one: the latest that started before `now - _LONGEST` (it has
    ended), the first that starts after `now`, and any that started in between
    (running, or just over). The first two are one index lookup each per client;
    a few rows per client come back. (Two sessions at the same time, which only bad
    data has, give either.)
    """
    now = now or utcnow()
    ids = list(client_ids)
    if not ids:
        return {}
    settled = now - _LONGEST
    after = now - lookback if lookback is not None else None
    other = aliased(Appointment)

    def first_of(*conditions: ColumnElement[bool], latest: bool) -> Any:
        starts = col(other.starts_at)
        return (
            core_select(col(other.id))
            .where(col(other.client_id) == Client.id, col(other.cancelled_at).is_(None), *conditions)
            .order_by(starts.desc() if latest else starts)
            .limit(1)
            .scalar_subquery()
        )

    before = [col(other.starts_at) <= settled] + ([col(other.starts_at) > after] if after is not None else [])
    mine = among(session, col(Client.id), ids)
    edges = union_all(
        core_select(first_of(*before, latest=True).label("id")).where(mine),
        core_select(first_of(col(other.starts_at) > now, latest=False).label("id")).where(mine),
    ).subquery()
    columns: list[Any] = [
        col(Appointment.client_id),
        col(Appointment.id),
        col(Appointment.starts_at),
        col(Appointment.duration_minutes),
        col(Appointment.timezone),
    ]
    at_edges = core_select(*columns).join(edges, col(Appointment.id) == edges.c.id)
    between = core_select(*columns).where(
        among(session, col(Appointment.client_id), ids),
        col(Appointment.cancelled_at).is_(None),
        col(Appointment.starts_at) > settled,
        col(Appointment.starts_at) <= now,
    )
    last: dict[uuid.UUID, Slot] = {}
    coming: dict[uuid.UUID, Slot] = {}
    for client_id, slot_id, starts_at, minutes, zone in session.execute(union_all(at_edges, between)):
        slot = Slot(slot_id, client_id, starts_at, minutes, zone)
        if slot.ends_at <= now:
            if after is not None and starts_at <= after:
                continue
            known = last.get(client_id)
            if known is None or starts_at > known.starts_at:
                last[client_id] = slot
        else:
            known = coming.get(client_id)
            if known is None or starts_at < known.starts_at:
                coming[client_id] = slot
    return {client_id: SlotsAround(last=last.get(client_id), next=coming.get(client_id)) for client_id in ids}


def around_one(session: Session, *, client_id: uuid.UUID, now: datetime | None = None) -> Around:
    return around(session, client_ids=[client_id], now=now)[client_id]


def previous_of(session: Session, *, appointment: Appointment) -> Appointment | None:
    """The session before this one (not cancelled): where its "since the last session" starts."""
    statement = (
        select(Appointment)
        .where(
            Appointment.client_id == appointment.client_id,
            col(Appointment.cancelled_at).is_(None),
            Appointment.starts_at < appointment.starts_at,
            Appointment.id != appointment.id,
        )
        .order_by(col(Appointment.starts_at).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def extend_series(session: Session, *, now: datetime | None = None) -> int:
    """Keep every live series materialised up to the horizon. Returns how many were added."""
    now = now or utcnow()
    latest = (
        select(Appointment.series_id, func.max(Appointment.starts_at).label("latest"))
        .where(col(Appointment.series_id).is_not(None))
        .group_by(col(Appointment.series_id))
        .subquery()
    )
    rows = session.exec(
        select(Appointment)
        .join(
            latest,
            (col(Appointment.series_id) == latest.c.series_id) & (col(Appointment.starts_at) == latest.c.latest),
        )
        .where(col(Appointment.cancelled_at).is_(None))
    ).all()
    added = 0
    for last in rows:
        repeat = Repeat(last.repeat)
        if repeat is Repeat.none:
            continue
        zone = _zone(last.timezone)
        wall = last.starts_at.astimezone(zone).replace(tzinfo=None)
        step = _STEP[repeat]
        k = 1
        while True:
            start = (wall + step * k).replace(tzinfo=zone).astimezone(UTC)
            if start > now + HORIZON:
                break
            k += 1
            slot = (start, start + timedelta(minutes=last.duration_minutes))
            if _overlapping(session, therapist_id=last.therapist_id, slots=[slot]) is not None:
                continue  # another session took that slot: skip this one occurrence
            session.add(
                Appointment(
                    client_id=last.client_id,
                    therapist_id=last.therapist_id,
                    starts_at=start,
                    timezone=last.timezone,
                    duration_minutes=last.duration_minutes,
                    repeat=last.repeat,
                    series_id=last.series_id,
                )
            )
            session.flush()
            added += 1
    return added
