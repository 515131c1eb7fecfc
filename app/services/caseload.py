"""The therapist's caseload: every client at a glance, sorted by next session.

Built with a fixed number of queries whatever the number of clients or entries:
clients (with their last entry), sessions around now, zone histories, assignments,
recent entry times (one row per assignment), the reminders that reached them (for "in the
moment"), recent questionnaire risk answers, push devices and last deliveries. Adherence
is computed in Python over a recent window, by the adherence engine (`adherence.figures`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.core.i18n import N_
from app.core.querying import among
from app.models import (
    Assignment,
    Entry,
    OccurrenceStatus,
    PushSubscription,
    RecordTemplate,
    ReminderOccurrence,
    TemplateVersion,
    Therapist,
)
from app.models.standing import DeliveryState, Standing
from app.models.types import utcnow
from app.services import appointments, scoring, sharing, zone_history
from app.services.adherence.caseload_load import (
    NO_ENTRIES,
    ClientFacts,
    Listed,
    clients_of,
    listed,
    prompt_times,
    recent_times,
)
from app.services.adherence.figures import DayIndex, figures
from app.services.adherence.rules import IN_THE_MOMENT, Adherence, Rate
from app.services.appointments import Slot
from app.services.assignment_changes import schedule_histories
from app.services.reminders import health as reminder_health

# Entries older than this are not read for the caseload: streaks longer than it read "at least".
WINDOW = timedelta(days=28)
# ... unless the last session was longer ago (then back to it, up to this far).
LONGEST_WINDOW = timedelta(days=120)


STANDING_LABELS = {
    Standing.steady: N_("On track"),
    Standing.patchy: N_("Some days"),
    Standing.quiet: N_("Quiet lately"),
    Standing.new: N_("Nothing expected yet"),
}


DELIVERY_LABELS = {
    DeliveryState.ok: N_("Reminders arriving"),
    DeliveryState.no_device: N_("No device set up for reminders"),
    DeliveryState.expired: N_("Reminder subscription expired"),
    DeliveryState.failing: N_("Reminders failing lately"),
    DeliveryState.silent: N_("Reminders may not be showing on their phone"),
    DeliveryState.paused: N_("Reminders paused by the client"),
}


@dataclass(frozen=True)
class DeliverySummary:
    state: DeliveryState
    last_delivered_at: datetime | None

    @property
    def label(self) -> str:
        return DELIVERY_LABELS[self.state]


@dataclass(frozen=True)
class RecordSummary:
    item: Listed
    adherence: Adherence

    @property
    def streak_at_least(self) -> bool:
        """True when the streak reaches back to the start of the window read."""
        a = self.adherence
        return a.window_from is not None and a.current_streak > 0 and a.current_streak == a.expected


@dataclass
class CaseloadRow:
    client: ClientFacts
    next_session: Slot | None
    last_session: Slot | None
    records: list[RecordSummary]
    completion: Rate  # since the last session (or over the window, without one)
    last_entry_at: datetime | None
    delivery: DeliverySummary
    risk: bool
    risk_at: datetime | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def standing(self) -> Standing:
        value = self.completion.value
        if value is None:
            return Standing.new
        if value >= 0.8:
            return Standing.steady
        if value >= 0.4:
            return Standing.patchy
        return Standing.quiet

    @property
    def standing_label(self) -> str:
        return STANDING_LABELS[self.standing]

    @property
    def best_streak(self) -> int:
        return max((record.adherence.current_streak for record in self.records), default=0)


def build(
    session: Session,
    *,
    therapist: Therapist,
    now: datetime | None = None,
    silent_after_reminders: int = 5,
    silent_after_days: int = 3,
) -> list[CaseloadRow]:
    """`silent_after_*`: the settings of the same names (a silent device)."""
    now = now or utcnow()
    pairs = clients_of(session, therapist_id=therapist.id)
    if not pairs:
        return []
    clients = [client for client, _latest in pairs]
    last_entries = {client.id: latest for client, latest in pairs}
    ids = [client.id for client in clients]

    sessions = appointments.slots_around(session, client_ids=ids, now=now, lookback=LONGEST_WINDOW)
    zones = zone_history.histories(session, clients=clients)
    records = listed(session, client_ids=ids)
    # Records whose rules were edited keep their past days under the old rules (the full engine).
    histories = schedule_histories(
        session, assignment_ids=[item.assignment.id for items in records.values() for item in items]
    )

    default_start = now - WINDOW
    window_starts: dict[uuid.UUID, datetime] = {}
    for client in clients:
        since = sessions[client.id].since
        start = default_start if since is None else min(default_start, since)
        window_starts[client.id] = max(start, now - LONGEST_WINDOW)
    earliest = min(window_starts.values())
    # The quality figures count from each client's last session (or window), from its local day's
    # start: a day's margin covers any zone.
    written_since = min((sessions[client.id].since or window_starts[client.id]) for client in clients)
    recent = recent_times(session, since=window_starts, written_since=written_since - timedelta(days=1))
    # Reminders that may have prompted those entries (for "in the moment").
    prompts = prompt_times(session, since=earliest - IN_THE_MOMENT, client_ids=ids)
    risks: dict[uuid.UUID, list[datetime]] = {}
    for at, client_id in _risk_answers(session, client_ids=ids, since=earliest):
        risks.setdefault(client_id, []).append(at)
    delivery = _delivery(session, clients=clients, now=now, silent_rule=(silent_after_reminders, silent_after_days))

    rows = []
    for client in clients:
        around = sessions[client.id]
        window_start = window_starts[client.id]
        # The client's local days over the window, worked out once for all their records.
        days = DayIndex(zones[client.id], client.day_boundary, window_start, now)
        from_epoch = window_start.timestamp()
        summaries = []
        for item in records[client.id]:
            entries = recent.get(item.assignment.id, NO_ENTRIES).since(from_epoch)
            summaries.append(
                RecordSummary(
                    item=item,
                    adherence=figures(
                        times=entries.times,
                        nothing=entries.nothing,
                        schedule=item.schedule,
                        days=days,
                        start=item.assignment.created_at,
                        end=item.assignment.ended_at,
                        now=now,
                        since=around.since,
                        window_start=window_start,
                        history=histories.get(item.assignment.id, ()),
                        quality=entries.quality(prompts.get(item.assignment.id, ())),
                    ),
                )
            )
        rates = [(s.adherence.since if s.adherence.since is not None else s.adherence.last_28) for s in summaries]
        completion = Rate(done=sum(rate.done for rate in rates), expected=sum(rate.expected for rate in rates))
        risk_since = around.since or window_start
        flagged = [at for at in risks.get(client.id, ()) if at >= risk_since]
        rows.append(
            CaseloadRow(
                client=client,
                next_session=around.next,
                last_session=around.last,
                records=summaries,
                completion=completion,
                last_entry_at=last_entries.get(client.id),
                delivery=delivery[client.id],
                risk=bool(flagged),
                risk_at=max(flagged) if flagged else None,
            )
        )
    far = now + timedelta(days=36500)
    rows.sort(
        key=lambda row: (
            row.next_session.starts_at if row.next_session else far,
            row.client.display_name.lower(),
        )
    )
    return rows


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _risk_answers(
    session: Session, *, client_ids: list[uuid.UUID], since: datetime
) -> list[tuple[datetime, uuid.UUID]]:
    """Shared answers that raise a risk flag (private entries are never read)."""
    # Entries are looked up by the clients' assignments of forms that can raise one (an
    # entry's version is always one of its assignment's form): not by scanning every recent
    # entry of the caseload.
    rule_version = aliased(TemplateVersion)
    may_flag = (
        select(Assignment.id)
        .join(RecordTemplate, col(RecordTemplate.id) == Assignment.template_id)
        .join(rule_version, col(rule_version.template_id) == Assignment.template_id)
        .where(
            among(session, col(Assignment.client_id), client_ids),
            col(rule_version.scoring).in_(scoring.RISK_RULES) | col(RecordTemplate.slug).in_(scoring.RISK_RECORDS),
        )
    )
    statement = (
        core_select(
            col(Entry.client_id),
            col(Entry.occurred_at),
            col(Entry.answers),
            col(TemplateVersion.scoring),
            col(RecordTemplate.slug),
        )
        .join(TemplateVersion, col(TemplateVersion.id) == Entry.template_version_id)
        .join(RecordTemplate, col(RecordTemplate.id) == TemplateVersion.template_id)
        .where(
            col(Entry.assignment_id).in_(may_flag),
            col(Entry.deleted_at).is_(None),
            sharing.shared(),
            col(Entry.occurred_at) >= since,
        )
    )
    out = []
    for client_id, occurred_at, answers, rule, slug in session.execute(statement):
        if scoring.risk_flags(rule, answers or {}, library=slug):
            out.append((occurred_at, client_id))
    return out


_DELIVERED = (OccurrenceStatus.sent, OccurrenceStatus.retried_sent, OccurrenceStatus.email)


def _delivery(
    session: Session, *, clients: list[ClientFacts], now: datetime, silent_rule: tuple[int, int] = (5, 3)
) -> dict[uuid.UUID, DeliverySummary]:
    """A one-word delivery health per client, in three queries for the whole caseload."""
    ids = [client.id for client in clients]
    devices: dict[uuid.UUID, list[PushSubscription]] = {client_id: [] for client_id in ids}
    theirs = among(session, col(PushSubscription.client_id), ids)
    for subscription in session.exec(select(PushSubscription).where(theirs)):
        devices[subscription.client_id].append(subscription)
    delivered = {
        client_id: _as_utc(at)
        for client_id, at in session.execute(
            select(ReminderOccurrence.client_id, func.max(ReminderOccurrence.sent_at))
            .where(
                among(session, col(ReminderOccurrence.client_id), ids),
                col(ReminderOccurrence.status).in_(_DELIVERED),
                ReminderOccurrence.due_at >= now - timedelta(days=60),
            )
            .group_by(col(ReminderOccurrence.client_id))
        )
    }
    # The silent rule reads each client's last few pushed reminders: one windowed query, only
    # for clients whose every device otherwise looks fine.
    count, days = silent_rule
    candidates = [
        client.id
        for client in clients
        if not client.reminders_paused
        and (live := [d for d in devices[client.id] if d.expired_at is None])
        and not any(d.failures for d in live)
    ]
    sends = reminder_health.last_sends(session, client_ids=candidates, count=count, now=now)
    out = {}
    for client in clients:
        mine = devices[client.id]
        live = [device for device in mine if device.expired_at is None]
        last_push = max((d.last_success_at for d in mine if d.last_success_at), default=None)
        last = delivered.get(client.id)
        if last_push is not None and (last is None or last_push > last):
            last = last_push
        if client.reminders_paused:
            state = DeliveryState.paused
        elif not mine:
            state = DeliveryState.no_device
        elif not live:
            state = DeliveryState.expired
        elif all(device.failures for device in live):
            state = DeliveryState.failing
        elif all(
            reminder_health.is_silent(device, sends=sends.get(client.id, []), now=now, reminders=count, days=days)
            for device in live
        ):
            state = DeliveryState.silent
        else:
            state = DeliveryState.ok
        out[client.id] = DeliverySummary(state=state, last_delivered_at=last)
    return out


@dataclass(frozen=True, slots=True)
class TodaySession:
    """A session on the therapist's today, with whose it is."""

    slot: Slot
    client: ClientFacts
    zone: str  # the zone its day and time are told in


def todays_sessions(rows: list[CaseloadRow], *, zone: str | None, now: datetime | None = None) -> list[TodaySession]:
    """The caseload's sessions that fall on today, earliest first: no query of its own.

    Today is the day in `zone` (the therapist's own zone, when known), else each session's
    own day in the zone it was agreed in. The rows already hold each client's last session
    (ended, possibly earlier today) and next one (running, or later today), so a client's
    sessions today are among those two; a client with three sessions in one day is not a
    case a caseload needs to cover.
    """
    now = now or utcnow()
    found: dict[uuid.UUID, TodaySession] = {}
    zones: dict[str, ZoneInfo] = {}
    for row in rows:
        for slot in (row.last_session, row.next_session):
            if slot is None or slot.id in found:
                continue
            name = zone or slot.timezone
            info = zones.get(name) or zones.setdefault(name, ZoneInfo(name))
            if slot.starts_at.astimezone(info).date() == now.astimezone(info).date():
                found[slot.id] = TodaySession(slot=slot, client=row.client, zone=name)
    return sorted(found.values(), key=lambda item: (item.slot.starts_at, item.client.display_name.lower()))
