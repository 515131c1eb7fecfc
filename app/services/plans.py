"""Plans made together: the homework agreement, made in session on two screens.

The therapist starts a draft for one record (one already assigned, or a record type
that is assigned only when the client agrees); the client's phone joins it. Both edit
the same draft: the therapist chooses the record, the client the reminder times, and
either may write the words (the cue and the if-then plan, the likely obstacle and what
to do then, "why this matters to me"). Only the client confirms, on their phone. From
then on the client may change times and words whenever they like; the therapist sees
what changed. A plan confirmed for a record replaces the one before it.

Every change raises the plan's version and is kept as a `PlanChange` with who made it
and each field before and after. Two screens editing at once send the version their
edit was made on (`since`): a field the other side changed in between is overwritten
only when this edit changes that field too, so a stale screen never undoes the other's
words.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import Conflict, Invalid, NotFound
from app.core.i18n import N_, _
from app.models import (
    Assignment,
    AssignmentCreate,
    Client,
    Frequency,
    Plan,
    PlanActor,
    PlanChange,
    PlanChangeKind,
    PlanClientEdit,
    PlanState,
    PlanTherapistEdit,
    PlanWords,
    RecordTemplate,
    Therapist,
)
from app.models.plan import WORD_LIMITS, WORDS
from app.models.types import utcnow
from app.services import assignment_lookup, assignments, audit, clients, record_types, reminders
from app.services import frequency as frequency_rules
from app.services.adherence import load as adherence

# Today invites the client to join a draft touched this recently ("your therapist is
# making a plan with you"); an older draft waits for the therapist to open it again.
DRAFT_FRESH = timedelta(hours=12)
# The fields of a plan as its history names them: the record, the times, the words.
FIELDS = ("record", "times", *WORDS)
FIELD_LABELS = {
    "record": N_("Record"),
    "times": N_("Reminder times"),
    "cue": N_("When"),
    "action": N_("I will"),
    "obstacle": N_("What might get in the way"),
    "obstacle_plan": N_("What I will do then"),
    "why": N_("Why this matters to me"),
}
OPEN = (PlanState.draft, PlanState.confirmed)


# --- finding plans ----------------------------------------------------------------------------


def get_for_therapist(session: Session, *, therapist: Therapist, plan_id: uuid.UUID) -> Plan:
    """A plan of one of the therapist's clients; another's is answered like a missing one."""
    plan = session.get(Plan, plan_id)
    client = session.get(Client, plan.client_id) if plan is not None else None
    if plan is None or client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such plan."))
    return plan


def read_for_therapist(session: Session, *, therapist: Therapist, plan_id: uuid.UUID) -> Plan:
    """A plan as the therapist reads it (page or API): found, and the read audited."""
    plan = get_for_therapist(session, therapist=therapist, plan_id=plan_id)
    audit.record(
        session,
        actor_kind="therapist",
        actor_id=therapist.id,
        action="plan.read",
        client_id=plan.client_id,
        subject_id=plan.id,
    )
    return plan


def read_client_plans(session: Session, *, therapist: Therapist, client_id: uuid.UUID) -> list[Plan]:
    """A client's plans being made and in force, as the therapist reads them: the read audited."""
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="plan.read", client_id=client.id)
    return for_client(session, client_id=client.id)


def get_for_client(session: Session, *, client: Client, plan_id: uuid.UUID) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or plan.client_id != client.id:
        raise NotFound(_("No such plan."))
    return plan


def _locked(session: Session, plan: Plan) -> Plan:
    """The plan again, locked for this transaction (PostgreSQL): two confirmations, or two
    edits, one after the other and never interleaved."""
    session.flush()
    statement = select(Plan).where(Plan.id == plan.id).with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).one()


def for_client(session: Session, *, client_id: uuid.UUID, states: Iterable[PlanState] = OPEN) -> list[Plan]:
    statement = (
        select(Plan)
        .where(Plan.client_id == client_id, col(Plan.state).in_(list(states)))
        .order_by(col(Plan.created_at).desc())
    )
    return list(session.exec(statement))


def open_draft(session: Session, *, client_id: uuid.UUID) -> Plan | None:
    return session.exec(
        select(Plan)
        .where(Plan.client_id == client_id, Plan.state == PlanState.draft)
        .order_by(col(Plan.updated_at).desc())
        .limit(1)
    ).first()


def draft_to_join(session: Session, *, client: Client, now: datetime | None = None) -> Plan | None:
    """The draft the client is invited to join on Today: one touched in the last hours."""
    draft = open_draft(session, client_id=client.id)
    if draft is None or draft.updated_at < (now or utcnow()) - DRAFT_FRESH:
        return None
    # Started by a therapist the client is no longer linked with: nothing to join.
    return draft if draft.therapist_id == client.therapist_id else None


def in_force(session: Session, *, client_id: uuid.UUID) -> dict[uuid.UUID, Plan]:
    """The confirmed plan of each record that has one, by assignment id."""
    rows = session.exec(
        select(Plan)
        .where(Plan.client_id == client_id, Plan.state == PlanState.confirmed)
        .order_by(col(Plan.confirmed_at))
    )
    return {plan.assignment_id: plan for plan in rows if plan.assignment_id is not None}


def history(session: Session, *, plan: Plan) -> list[PlanChange]:
    """Every change to the plan, oldest first."""
    return list(session.exec(select(PlanChange).where(PlanChange.plan_id == plan.id).order_by(col(PlanChange.version))))


def changed_since(session: Session, *, plan: Plan, since: int, by_other_than: PlanActor) -> set[str]:
    """The fields the other side changed after version `since` (for a screen to catch up)."""
    if since >= plan.version:
        return set()
    rows = session.exec(
        select(PlanChange).where(
            PlanChange.plan_id == plan.id, PlanChange.version > since, PlanChange.actor != by_other_than
        )
    )
    return {name for row in rows for name in row.fields}


# --- what a plan says -----------------------------------------------------------------------


def _trimmed(text: str, *prefixes: str) -> str:
    """The words without a closing full stop, or a leading "when"/"I will" the sentence
    adds itself (people often type the whole sentence into each box)."""
    text = text.strip().rstrip(".").strip()
    lowered = text.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix + " "):
            return text[len(prefix) + 1 :].strip()
    return text


def first_line(plan: Plan) -> str:
    """The if-then plan as one sentence: "When I get home from work, I will fill in…"."""
    cue = _trimmed(plan.cue, "when", "cuando")
    action = _trimmed(plan.action, "i will", "i'll")
    if cue and action:
        return _("When %(cue)s, I will %(action)s.", cue=cue, action=action)
    if action:
        return _("I will %(action)s.", action=action)
    if cue:
        return _("When %(cue)s…", cue=cue)
    return ""


def obstacle_line(plan: Plan) -> str:
    obstacle = _trimmed(plan.obstacle, "if", "si")
    then = _trimmed(plan.obstacle_plan, "i will", "i'll", "then", "entonces")
    if obstacle and then:
        return _("If %(obstacle)s, I will %(then)s.", obstacle=obstacle, then=then)
    if obstacle:
        return _("What might get in the way: %(obstacle)s.", obstacle=obstacle)
    if then:
        return _("If something gets in the way, I will %(then)s.", then=then)
    return ""


def record_key(plan: Plan) -> str | None:
    if plan.assignment_id is not None:
        return f"assignment:{plan.assignment_id}"
    if plan.template_id is not None:
        return f"template:{plan.template_id}"
    return None


def template_of(session: Session, plan: Plan) -> RecordTemplate | None:
    if plan.assignment_id is not None:
        assignment = session.get(Assignment, plan.assignment_id)
        return session.get(RecordTemplate, assignment.template_id) if assignment is not None else None
    return session.get(RecordTemplate, plan.template_id) if plan.template_id is not None else None


def title_of(session: Session, plan: Plan) -> str:
    """The record's name in the reader's language ("" while none is chosen)."""
    template = template_of(session, plan)
    if template is None:
        return ""
    title = record_types.current_version(session, template=template).title
    return _(title) if template.is_library and title else title


def needs_times(session: Session, plan: Plan) -> bool:
    """Scheduled records are reminded at the times chosen; records kept as they happen
    may do without (their cue is the event itself)."""
    if plan.assignment_id is not None:
        assignment = session.get(Assignment, plan.assignment_id)
        return assignment is not None and Frequency(assignment.frequency) is not Frequency.as_it_happens
    template = template_of(session, plan)
    return template is not None and frequency_rules.default_for(template) is not Frequency.as_it_happens


# --- starting and editing ---------------------------------------------------------------------


def start(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    assignment_id: uuid.UUID | None = None,
    template_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[Plan, bool]:
    """Open a draft for a client of the therapist, or the one already open (one at a time:
    it is made in session). Returns the plan and whether it is new."""
    now = now or utcnow()
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    existing = open_draft(session, client_id=client.id)
    if existing is not None:
        if (assignment_id or template_id) and record_key(existing) is None:
            edit_as_therapist(
                session,
                therapist=therapist,
                plan_id=existing.id,
                data=PlanTherapistEdit(assignment_id=assignment_id, template_id=template_id),
                now=now,
            )
        return existing, False
    plan = Plan(client_id=client.id, therapist_id=therapist.id, created_at=now, updated_at=now, version=1)
    fields = _record_fields(
        session, therapist=therapist, plan=plan, assignment_id=assignment_id, template_id=template_id
    )
    for name, (_before, after) in fields.items():
        _set(plan, name, after)
    session.add(plan)
    session.flush()
    _log(session, plan, kind=PlanChangeKind.started, actor=PlanActor.therapist, fields=fields, now=now)
    return plan, True


def _record_fields(
    session: Session,
    *,
    therapist: Therapist,
    plan: Plan,
    assignment_id: uuid.UUID | None,
    template_id: uuid.UUID | None,
) -> dict[str, list[Any]]:
    """The changes that choosing a record makes: the record itself and, for a record with a
    plan or a reminder already, what they say (a plan renewed starts from the one in force)."""
    if assignment_id is None and template_id is None:
        return {}
    if assignment_id is not None and template_id is not None:
        raise Invalid(_("Choose one record."), errors={"record": _("Choose one record.")})
    changes: dict[str, list[Any]] = {}
    if assignment_id is not None:
        assignment = assignments.get_for_therapist(session, therapist=therapist, assignment_id=assignment_id)
        if assignment.client_id != plan.client_id or assignment.ended_at is not None:
            raise NotFound(_("No such assignment."))
        key = f"assignment:{assignment.id}"
        if key == record_key(plan):
            # The same record again (every save sends the form whole): nothing to start from.
            return {}
        current = in_force(session, client_id=plan.client_id).get(assignment.id)
        reminder = reminders.for_assignment(session, assignment_id=assignment.id)
        if not plan.times:
            times = list(reminder.times) if reminder is not None else list(current.times if current else [])
            if times:
                changes["times"] = [list(plan.times), sorted(times)]
        if current is not None and not any(getattr(plan, name) for name in WORDS):
            for name in WORDS:
                if getattr(current, name):
                    changes[name] = ["", getattr(current, name)]
    else:
        assert template_id is not None
        template = record_types.get_usable(session, therapist=therapist, template_id=template_id)
        if template.archived_at is not None:
            raise Invalid(_("This record type is archived."), errors={"record": _("This record type is archived.")})
        key = f"template:{template.id}"
    if key != record_key(plan):
        changes["record"] = [record_key(plan), key]
    return changes


def edit_as_therapist(
    session: Session, *, therapist: Therapist, plan_id: uuid.UUID, data: PlanTherapistEdit, now: datetime | None = None
) -> PlanChange | None:
    """The therapist's edit of a draft: the record and the words (the times are the client's)."""
    plan = _locked(session, get_for_therapist(session, therapist=therapist, plan_id=plan_id))
    if plan.state is PlanState.confirmed:
        raise Conflict(
            _("The client confirmed this plan: from now on they change it. To agree on a new one, plan together again.")
        )
    _still_open(plan)
    proposed = _checked_words(data)
    proposed.update(
        {
            name: after
            for name, (_before, after) in _record_fields(
                session, therapist=therapist, plan=plan, assignment_id=data.assignment_id, template_id=data.template_id
            ).items()
        }
    )
    return _apply(session, plan, actor=PlanActor.therapist, proposed=proposed, since=data.since, now=now)


def edit_as_client(
    session: Session, *, client: Client, plan_id: uuid.UUID, data: PlanClientEdit, now: datetime | None = None
) -> PlanChange | None:
    """The client's edit: the words and the reminder times, while a draft and after confirming.
    After confirming, new times go to the record's reminder at once."""
    plan = _locked(session, get_for_client(session, client=client, plan_id=plan_id))
    _still_open(plan)
    errors: dict[str, str] = {}
    try:
        proposed = _checked_words(data)
    except Invalid as problem:
        errors.update(problem.errors)
        proposed = {}
    if data.times is not None:
        times = reminders.parse_times(data.times, errors)
        proposed["times"] = times
        if not times and plan.state is PlanState.confirmed and needs_times(session, plan):
            errors["times"] = _("Keep at least one time for a reminder.")
    if errors:
        raise Invalid(_("Some of the plan needs another look."), errors=errors)
    return _apply(session, plan, actor=PlanActor.client, proposed=proposed, since=data.since, now=now, client=client)


def _still_open(plan: Plan) -> None:
    if plan.state not in OPEN:
        raise Conflict(_("This plan is no longer in use: a newer one replaced it, or it was put aside."))


def _checked_words(data: PlanWords) -> dict[str, Any]:
    """The words given, trimmed; raises Invalid naming each one that is too long."""
    words: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in WORDS:
        value = getattr(data, name)
        if value is None:
            continue
        # A NUL is no character anyone types, and PostgreSQL refuses it in text.
        text = str(value).replace("\x00", "").strip()
        if len(text) > WORD_LIMITS[name]:
            errors[name] = _("Please keep this to %(max)s characters.", max=WORD_LIMITS[name])
        words[name] = text
    if errors:
        raise Invalid(_("Some of the plan is too long to keep. Please shorten the parts marked."), errors=errors)
    return words


def current_value(session: Session, plan: Plan, name: str) -> Any:
    if name == "record":
        return record_key(plan)
    if name == "times" and plan.state is PlanState.confirmed and plan.assignment_id is not None:
        # Once confirmed, the reminder is where the times live (the client may also change
        # them on the reminders page).
        reminder = reminders.for_assignment(session, assignment_id=plan.assignment_id)
        if reminder is not None:
            return sorted(reminder.times)
    return getattr(plan, name)


def _value_at(changes: list[PlanChange], name: str, since: int, current: Any) -> Any:
    """What `name` was at version `since`: before its first change after it, else as now."""
    for change in changes:
        if change.version > since and name in change.fields:
            return change.fields[name][0]
    return current


def _apply(
    session: Session,
    plan: Plan,
    *,
    actor: PlanActor,
    proposed: dict[str, Any],
    since: int | None,
    now: datetime | None,
    client: Client | None = None,
) -> PlanChange | None:
    now = now or utcnow()
    later = [] if since is None or since >= plan.version else history(session, plan=plan)
    fields: dict[str, list[Any]] = {}
    for name in FIELDS:
        if name not in proposed:
            continue
        new, current = proposed[name], current_value(session, plan, name)
        base = _value_at(later, name, since, current) if later and since is not None else current
        # Unchanged by this side, but changed by the other since: theirs stands.
        if new == current or (new == base and base != current):
            continue
        fields[name] = [current, new]
    if not fields:
        return None
    for name, (_before, after) in fields.items():
        _set(plan, name, after)
    confirmed = plan.state is PlanState.confirmed
    if confirmed and "times" in fields and client is not None and plan.assignment_id is not None:
        assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=plan.assignment_id)
        _set_reminder_times(session, client=client, assignment=assignment, times=plan.times, now=now)
    kind = PlanChangeKind.changed if confirmed else PlanChangeKind.edited
    return _log(session, plan, kind=kind, actor=actor, fields=fields, now=now)


def _set(plan: Plan, name: str, value: Any) -> None:
    if name == "record":
        kind, _sep, raw = (value or "").partition(":")
        plan.assignment_id = uuid.UUID(raw) if kind == "assignment" else None
        plan.template_id = uuid.UUID(raw) if kind == "template" else None
    elif name == "times":
        plan.times = list(value)
    else:
        setattr(plan, name, value)


def _log(
    session: Session,
    plan: Plan,
    *,
    kind: PlanChangeKind,
    actor: PlanActor,
    fields: dict[str, list[Any]],
    now: datetime,
) -> PlanChange:
    if kind is not PlanChangeKind.started:
        plan.version += 1
    plan.updated_at = now
    session.add(plan)
    change = PlanChange(
        plan_id=plan.id, client_id=plan.client_id, version=plan.version, kind=kind, actor=actor, changed_at=now
    )
    change.fields = {name: [before, after] for name, (before, after) in fields.items()}
    session.add(change)
    session.flush()
    return change


# --- agreeing, and putting aside ----------------------------------------------------------------


def confirm(
    session: Session, *, client: Client, plan_id: uuid.UUID, version: int | None = None, now: datetime | None = None
) -> Plan:
    """The client agrees, on their phone. A record type not yet assigned is assigned now,
    the record's reminder takes the times the client chose, and the plan in force for the
    record (if any) is replaced. Confirming twice is refused and changes nothing."""
    now = now or utcnow()
    plan = _locked(session, get_for_client(session, client=client, plan_id=plan_id))
    if plan.state is PlanState.confirmed:
        raise Conflict(_("You already confirmed this plan."))
    _still_open(plan)
    # Only what the client has seen is confirmed: not words the therapist wrote since.
    if version is not None and changed_since(session, plan=plan, since=version, by_other_than=PlanActor.client):
        raise Conflict(_("The plan changed a moment ago. Have a look at it, then confirm again."))
    therapist = session.get(Therapist, plan.therapist_id) if plan.therapist_id is not None else None
    if therapist is None or client.therapist_id != therapist.id:
        raise Conflict(_("This plan was started by a therapist you are no longer linked with."))
    missing: dict[str, str] = {}
    if record_key(plan) is None:
        missing["record"] = _("Your therapist chooses the record first.")
    if not plan.cue:
        missing["cue"] = _("Say when you will do it.")
    if not plan.action:
        missing["action"] = _("Say what you will do.")
    if not plan.times and needs_times(session, plan):
        missing["times"] = _("Choose at least one time for a reminder.")
    if missing:
        raise Invalid(_("A few parts of the plan are still empty."), errors=missing)
    if plan.assignment_id is None:
        assert plan.template_id is not None
        # Agreed by both: the record is assigned now, not when the therapist proposed it.
        assignment = assignments.assign(
            session, therapist=therapist, client=client, data=AssignmentCreate(template_id=plan.template_id)
        )
        plan.assignment_id, plan.template_id = assignment.id, None
    else:
        assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=plan.assignment_id)
        if assignment.ended_at is not None:
            raise Conflict(_("This record was stopped. Your therapist can plan it with you again."))
    if plan.times:
        _set_reminder_times(session, client=client, assignment=assignment, times=plan.times, now=now)
    for old in session.exec(
        select(Plan).where(Plan.assignment_id == assignment.id, Plan.state == PlanState.confirmed, Plan.id != plan.id)
    ):
        old.state, old.closed_at = PlanState.replaced, now
        _log(session, old, kind=PlanChangeKind.replaced, actor=PlanActor.client, fields={}, now=now)
    plan.state, plan.confirmed_at = PlanState.confirmed, now
    _log(session, plan, kind=PlanChangeKind.confirmed, actor=PlanActor.client, fields={}, now=now)
    return plan


def discard(session: Session, *, therapist: Therapist, plan_id: uuid.UUID, now: datetime | None = None) -> Plan:
    """Put a draft aside (nothing was agreed). A confirmed plan stays: it is the client's."""
    now = now or utcnow()
    plan = _locked(session, get_for_therapist(session, therapist=therapist, plan_id=plan_id))
    if plan.state is not PlanState.draft:
        raise Conflict(_("Only a plan still being made can be put aside."))
    plan.state, plan.closed_at = PlanState.discarded, now
    _log(session, plan, kind=PlanChangeKind.discarded, actor=PlanActor.therapist, fields={}, now=now)
    return plan


def _set_reminder_times(
    session: Session, *, client: Client, assignment: Assignment, times: list[str], now: datetime
) -> None:
    """The record's reminder rings at the plan's times; everything else about it stays."""
    existing = reminders.for_assignment(session, assignment_id=assignment.id)
    if existing is None:
        data = reminders.ReminderInput(times=times, weekdays=list(assignment.weekdays) or [1, 2, 3, 4, 5, 6, 7])
    else:
        data = reminders.ReminderInput(
            times=times,
            weekdays=list(existing.weekdays),
            quiet_start=existing.quiet_start,
            quiet_end=existing.quiet_end,
            random_start=existing.random_start,
            random_end=existing.random_end,
            random_count=existing.random_count,
            random_min_gap_minutes=existing.random_min_gap_minutes,
            paused=existing.paused,
        )
    reminder = reminders.save(session, client=client, assignment_id=assignment.id, data=data, now=now)
    # Chosen by the client in the plan, even when the same as the therapist's proposal:
    # a later proposal must not replace it.
    reminder.chosen_at = now
    session.add(reminder)


@dataclass(frozen=True)
class Described:
    """One change as the therapist reads it."""

    change: PlanChange
    # (label, before, after) per field, in the page's language.
    items: list[tuple[str, str, str]] = field(default_factory=list)


def describe(session: Session, changes: Iterable[PlanChange]) -> list[Described]:
    """Changes with each field named and its values in words (a record by its title)."""
    out = []
    for change in changes:
        items = [
            (_(FIELD_LABELS[name]), _shown(session, name, before), _shown(session, name, after))
            for name, (before, after) in change.fields.items()
            if name in FIELD_LABELS
        ]
        out.append(Described(change=change, items=items))
    return out


def _shown(session: Session, name: str, value: Any) -> str:
    if name == "times":
        return ", ".join(value) if value else "–"
    if name == "record":
        probe = Plan(client_id=uuid.uuid4())
        _set(probe, "record", value)
        return title_of(session, probe) or "–"
    return str(value) if value else "–"


# --- whether it held (the brief) --------------------------------------------------------------

# Warm words only, never a figure on the person: these shares just choose the sentence.
HELD_SHARE = 0.8
PARTLY_SHARE = 0.4


@dataclass(frozen=True)
class Held:
    """A plan in force, and how things went since the client confirmed it."""

    plan: Plan
    title: str
    done: int  # occasions done since it was confirmed (scheduled records)
    expected: int  # occasions asked for since then, today's open one not counted
    written: int  # entries since then (records kept as they happen)
    as_it_happens: bool
    # What the client changed after confirming, oldest first.
    changes: list[PlanChange] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """ "happened" (as it happens), "too_soon", "held", "partly" or "not_yet"."""
        if self.as_it_happens:
            return "happened"
        if self.expected == 0:
            return "too_soon"
        share = self.done / self.expected
        if share >= HELD_SHARE:
            return "held"
        return "partly" if share >= PARTLY_SHARE else "not_yet"


def for_brief(
    session: Session,
    *,
    therapist: Therapist,
    client: Client,
    now: datetime | None = None,
    loaded: adherence.ClientRecords | None = None,
) -> list[Held]:
    """Each plan in force for the client, with whether it held since it was confirmed.
    Counted by the adherence engine (private entries count as done; none is read).

    `loaded`: the client's records as the caller read them already (the brief's), with the
    entries since the start of every running assignment up to `now`; read here otherwise."""
    if client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    now = now or utcnow()
    plans = sorted(in_force(session, client_id=client.id).values(), key=lambda plan: plan.confirmed_at or now)
    if not plans:
        return []
    earliest = min(plan.confirmed_at or now for plan in plans)
    # Weekly records look back up to a week before a day counts: read a little earlier.
    window_start = earliest - timedelta(days=8)
    if loaded is None:
        loaded = adherence.for_client(session, client=client, entries_since=window_start)
    # A stopped record ends its plan, even when the caller's records still hold it.
    records = {item.assignment.id: item for item in loaded.records if item.assignment.ended_at is None}
    changes: dict[uuid.UUID, list[PlanChange]] = {}
    for change in session.exec(
        select(PlanChange)
        .where(col(PlanChange.plan_id).in_([plan.id for plan in plans]), PlanChange.kind == PlanChangeKind.changed)
        .order_by(col(PlanChange.version))
    ):
        changes.setdefault(change.plan_id, []).append(change)
    out = []
    for plan in plans:
        item = records.get(plan.assignment_id) if plan.assignment_id is not None else None
        if item is None:  # the record was stopped: the plan ended with it
            continue
        figures = loaded.adherence(item, now=now, since=plan.confirmed_at, window_start=window_start, with_days=False)
        since, happened = figures.since, figures.happened_since
        out.append(
            Held(
                plan=plan,
                title=item.title,
                done=since.done if since is not None else 0,
                expected=since.expected if since is not None else 0,
                written=happened.entries if happened is not None else 0,
                as_it_happens=figures.as_it_happens,
                changes=changes.get(plan.id, []),
            )
        )
    return out
