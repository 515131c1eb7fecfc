"""Plans made together: started by the therapist, edited on two screens, confirmed by the
client, changed later by the client, with every change kept; and whether a plan held."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

import pytest
from sqlmodel import Session, func, select

from app.core.errors import Conflict, Invalid, NotFound
from app.models import (
    Assignment,
    Plan,
    PlanActor,
    PlanChange,
    PlanChangeKind,
    PlanClientEdit,
    PlanState,
    PlanTherapistEdit,
    Reminder,
)
from app.models.types import utcnow
from app.services import plans, reminders
from tests.factories import (
    library_template,
    make_assignment,
    make_client,
    make_entry,
    make_plan,
    make_template,
    make_therapist,
)


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def _kinds(session: Session, plan: Plan) -> list[tuple[PlanChangeKind, PlanActor]]:
    return [(change.kind, change.actor) for change in plans.history(session, plan=plan)]


def test_a_plan_is_started_once_per_client_and_only_for_ones_own_client(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client, proposed_times=["09:00"])
    plan, new = plans.start(session, therapist=therapist, client=client, assignment_id=assignment.id)
    session.commit()
    assert new and plan.state is PlanState.draft and plan.version == 1
    # The record's reminder times are where the client starts from.
    assert plan.assignment_id == assignment.id and plan.times == ["09:00"]
    again, new = plans.start(session, therapist=therapist, client=client)
    assert not new and again.id == plan.id
    assert _kinds(session, plan) == [(PlanChangeKind.started, PlanActor.therapist)]

    stranger = make_therapist(session)
    with pytest.raises(NotFound):
        plans.start(session, therapist=stranger, client=client)
    with pytest.raises(NotFound):
        plans.get_for_therapist(session, therapist=stranger, plan_id=plan.id)
    with pytest.raises(NotFound):
        plans.get_for_client(session, client=make_client(session, therapist=stranger), plan_id=plan.id)
    # Another therapist's assignment cannot be the record of this plan.
    other = make_assignment(session, client=make_client(session, therapist=stranger))
    with pytest.raises(NotFound):
        plans.edit_as_therapist(
            session, therapist=therapist, plan_id=plan.id, data=PlanTherapistEdit(assignment_id=other.id)
        )
    session.rollback()
    assert _count(session, Plan) == 1


def test_two_screens_editing_at_once_never_undo_each_others_words(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan, _new = plans.start(session, therapist=therapist, client=client)
    session.commit()
    # Both screens show version 1. The therapist writes the cue first.
    plans.edit_as_therapist(
        session, therapist=therapist, plan_id=plan.id, data=PlanTherapistEdit(cue="I get home from work", since=1)
    )
    # The phone, still on version 1, sends its whole form: the cue it never touched stays
    # the therapist's, its own "why" goes in.
    change = plans.edit_as_client(
        session, client=client, plan_id=plan.id, data=PlanClientEdit(cue="", why="To notice the good days", since=1)
    )
    session.commit()
    assert change is not None and set(change.fields) == {"why"}
    assert plan.cue == "I get home from work" and plan.why == "To notice the good days" and plan.version == 3
    # Changing the same field on purpose wins: the last word is the client's.
    plans.edit_as_client(
        session, client=client, plan_id=plan.id, data=PlanClientEdit(cue="I sit down on the bus", since=2)
    )
    assert plan.cue == "I sit down on the bus"
    # Nothing new: no change, no new version.
    assert plans.edit_as_client(session, client=client, plan_id=plan.id, data=PlanClientEdit(why=plan.why)) is None
    session.commit()
    history = plans.history(session, plan=plan)
    assert [(c.actor, sorted(c.fields)) for c in history[1:]] == [
        (PlanActor.therapist, ["cue"]),
        (PlanActor.client, ["why"]),
        (PlanActor.client, ["cue"]),
    ]
    assert history[-1].fields["cue"] == ["I get home from work", "I sit down on the bus"]
    # A screen catching up learns which fields the other side changed since its version.
    assert plans.changed_since(session, plan=plan, since=1, by_other_than=PlanActor.therapist) == {"why", "cue"}
    assert plans.changed_since(session, plan=plan, since=1, by_other_than=PlanActor.client) == {"cue"}
    assert plans.changed_since(session, plan=plan, since=plan.version, by_other_than=PlanActor.client) == set()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (PlanClientEdit(times=["25:00"]), "times"),
        (PlanClientEdit(times=["07:99"]), "times"),
        (PlanClientEdit(times=[f"{hour:02d}:00" for hour in range(13)]), "times"),
        (PlanClientEdit(why="x" * 10_000, cue="fine"), "why"),
        (PlanClientEdit(cue="x" * 201), "cue"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(session, data, field) -> None:
    client = make_client(session)
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    before = (plan.version, plan.times, plan.cue, plan.why, _count(session, PlanChange))
    with pytest.raises(Invalid) as refused:
        plans.edit_as_client(session, client=client, plan_id=plan.id, data=data)
    assert field in refused.value.errors
    session.rollback()
    session.refresh(plan)
    assert (plan.version, plan.times, plan.cue, plan.why, _count(session, PlanChange)) == before


def test_confirming_assigns_a_new_record_with_the_clients_times_and_only_once(session) -> None:
    client = make_client(session, timezone="Europe/Madrid")
    template = library_template(session, "mood_log")
    plan = make_plan(session, client=client, template=template, times=["21:30", "08:00"])
    assert _count(session, Assignment) == 0  # nothing is assigned before the client agrees
    confirmed = plans.confirm(session, client=client, plan_id=plan.id, version=plan.version)
    session.commit()
    assert confirmed.state is PlanState.confirmed and confirmed.confirmed_at is not None
    assignment = session.exec(select(Assignment)).one()
    assert confirmed.assignment_id == assignment.id and confirmed.template_id is None
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.times == ["08:00", "21:30"] and reminder.chosen_at is not None
    assert plans.in_force(session, client_id=client.id) == {assignment.id: plan}

    version = plan.version
    with pytest.raises(Conflict):
        plans.confirm(session, client=client, plan_id=plan.id)
    session.rollback()
    assert _count(session, Assignment) == 1 and _count(session, Reminder) == 1
    session.refresh(plan)
    assert plan.version == version
    assert _kinds(session, plan)[-1] == (PlanChangeKind.confirmed, PlanActor.client)


def test_confirming_needs_the_if_then_plan_and_a_time_and_what_the_client_read(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan, _new = plans.start(session, therapist=therapist, client=client)
    session.commit()
    with pytest.raises(Invalid) as refused:
        plans.confirm(session, client=client, plan_id=plan.id)
    assert set(refused.value.errors) == {"record", "cue", "action"}
    session.rollback()
    plans.edit_as_therapist(
        session,
        therapist=therapist,
        plan_id=plan.id,
        data=PlanTherapistEdit(template_id=library_template(session, "mood_log").id, cue="after dinner", action="rate"),
    )
    session.commit()
    with pytest.raises(Invalid) as refused:
        plans.confirm(session, client=client, plan_id=plan.id)
    assert set(refused.value.errors) == {"times"}
    session.rollback()
    # A record kept as it happens needs no time: the event is the cue.
    plans.edit_as_therapist(
        session,
        therapist=therapist,
        plan_id=plan.id,
        data=PlanTherapistEdit(template_id=library_template(session, "thought_record").id),
    )
    session.commit()
    # The therapist changed the plan after the phone last read it: nothing is confirmed.
    with pytest.raises(Conflict):
        plans.confirm(session, client=client, plan_id=plan.id, version=plan.version - 1)
    session.rollback()
    plans.confirm(session, client=client, plan_id=plan.id, version=plan.version)
    session.commit()
    assert plan.state is PlanState.confirmed and _count(session, Reminder) == 0


def test_a_new_plan_for_a_record_replaces_the_one_in_force_and_keeps_the_reminders_other_settings(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    reminders.save(
        session,
        client=client,
        assignment_id=assignment.id,
        data=reminders.ReminderInput(times=["09:00"], weekdays=[1, 3, 5], quiet_start="22:00", quiet_end="07:00"),
    )
    first = make_plan(session, client=client, assignment=assignment, why="For me", confirmed=True)
    # Planning the same record again starts from the plan in force.
    second, _new = plans.start(session, therapist=therapist, client=client, assignment_id=assignment.id)
    assert (second.why, second.times) == ("For me", ["18:30"])
    plans.edit_as_client(session, client=client, plan_id=second.id, data=PlanClientEdit(times=["19:00"]))
    plans.confirm(session, client=client, plan_id=second.id)
    session.commit()
    session.refresh(first)
    assert first.state is PlanState.replaced and first.closed_at is not None
    assert plans.in_force(session, client_id=client.id) == {assignment.id: second}
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None
    assert (reminder.times, reminder.weekdays, reminder.quiet_start) == (["19:00"], [1, 3, 5], time(22, 0))


def test_after_confirming_only_the_client_changes_it_and_the_therapist_sees_what_changed(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    plan = make_plan(session, client=client, assignment=assignment, times=["18:30"], confirmed=True)
    with pytest.raises(Conflict):
        plans.edit_as_therapist(session, therapist=therapist, plan_id=plan.id, data=PlanTherapistEdit(cue="x"))
    with pytest.raises(Conflict):
        plans.discard(session, therapist=therapist, plan_id=plan.id)
    session.rollback()
    plans.edit_as_client(
        session, client=client, plan_id=plan.id, data=PlanClientEdit(times=["20:00"], action="rate my mood at home")
    )
    session.commit()
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.times == ["20:00"]
    last = plans.history(session, plan=plan)[-1]
    assert (last.kind, last.actor) == (PlanChangeKind.changed, PlanActor.client)
    assert last.fields["times"] == [["18:30"], ["20:00"]]
    described = plans.describe(session, [last])[0].items
    assert ("Reminder times", "18:30", "20:00") in described
    # Times changed on the reminders page are what the plan shows as "before".
    reminders.save(session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["07:15"]))
    plans.edit_as_client(session, client=client, plan_id=plan.id, data=PlanClientEdit(times=["07:45"]))
    assert plans.history(session, plan=plan)[-1].fields["times"] == [["07:15"], ["07:45"]]
    # A confirmed plan of a scheduled record keeps at least one time.
    with pytest.raises(Invalid):
        plans.edit_as_client(session, client=client, plan_id=plan.id, data=PlanClientEdit(times=[]))


def test_a_draft_put_aside_is_no_longer_edited_or_confirmed(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    plan = make_plan(session, client=client, template=library_template(session, "mood_log"))
    plans.discard(session, therapist=therapist, plan_id=plan.id)
    session.commit()
    assert plan.state is PlanState.discarded
    for attempt in (
        lambda: plans.confirm(session, client=client, plan_id=plan.id),
        lambda: plans.edit_as_client(session, client=client, plan_id=plan.id, data=PlanClientEdit(why="x")),
    ):
        with pytest.raises(Conflict):
            attempt()
        session.rollback()
    assert plans.open_draft(session, client_id=client.id) is None
    # Today invites the client only into a fresh draft.
    fresh = make_plan(session, client=client, template=library_template(session, "mood_log"))
    assert plans.draft_to_join(session, client=client) == fresh
    assert plans.draft_to_join(session, client=client, now=utcnow() + timedelta(days=1)) is None


def test_the_plan_reads_as_one_sentence_whatever_was_typed_into_each_box() -> None:
    plan = Plan(client_id=uuid.uuid4(), cue="When I get home from work", action="I will fill in the mood log.")
    assert plans.first_line(plan) == "When I get home from work, I will fill in the mood log."
    plan = Plan(client_id=uuid.uuid4(), obstacle="I'm too tired", obstacle_plan="just rate my mood")
    assert plans.obstacle_line(plan) == "If I'm too tired, I will just rate my mood."
    assert plans.first_line(Plan(client_id=uuid.uuid4())) == ""


def test_the_brief_says_whether_a_plan_held_since_it_was_confirmed(session) -> None:
    therapist = make_therapist(session)
    now = utcnow()
    held_client, dropped_client = make_client(session, therapist=therapist), make_client(session, therapist=therapist)
    outcomes = {}
    for client, days_done in ((held_client, range(1, 8)), (dropped_client, (6,))):
        assignment = make_assignment(session, client=client, template=make_template(session, therapist=therapist))
        assignment.created_at = now - timedelta(days=14)
        session.add(assignment)
        session.commit()
        make_plan(session, client=client, assignment=assignment, confirmed=True, now=now - timedelta(days=7))
        for days_ago in days_done:
            make_entry(session, client=client, assignment=assignment, occurred_at=now - timedelta(days=days_ago))
        [held] = plans.for_brief(session, therapist=therapist, client=client, now=now)
        outcomes[client.id] = (held.outcome, held.done, held.expected)
    # Seven days asked for since it was made (today's still open), done on all of them; or on one.
    assert outcomes[held_client.id] == ("held", 7, 7)
    assert outcomes[dropped_client.id] == ("not_yet", 1, 7)
    # A plan for a record kept as it happens counts what was written.
    client = make_client(session, therapist=therapist)
    thoughts = make_assignment(session, client=client, template=library_template(session, "thought_record"))
    make_plan(session, client=client, assignment=thoughts, confirmed=True)
    [held] = plans.for_brief(session, therapist=therapist, client=client)
    assert held.outcome == "happened" and held.written == 0
    with pytest.raises(NotFound):
        plans.for_brief(session, therapist=make_therapist(session), client=client)


def test_the_briefs_agreement_section_reads_as_many_queries_for_one_plan_as_for_three(session, engine) -> None:
    from typing import Any

    from sqlalchemy import event

    therapist = make_therapist(session)
    counted = {}
    for plans_made in (1, 3):
        client = make_client(session, therapist=therapist)
        for n in range(plans_made):
            template = make_template(session, therapist=therapist, title=f"Record {n}")
            assignment = make_assignment(session, client=client, template=template)
            plan = make_plan(session, client=client, assignment=assignment, confirmed=True)
            plans.edit_as_client(session, client=client, plan_id=plan.id, data=PlanClientEdit(why="Changed later"))
            session.commit()
        session.expire_all()
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any, seen: list[str] = statements) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            found = plans.for_brief(session, therapist=therapist, client=client)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert len(found) == plans_made and all(len(held.changes) == 1 for held in found)
        counted[plans_made] = len(statements)
    assert counted[1] == counted[3], counted


def test_the_brief_counts_its_plans_from_the_records_it_read_as_they_would_be_read_again(session) -> None:
    from app.services import brief

    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    now = utcnow()
    kept, stopped = (
        make_assignment(session, client=client, template=make_template(session, therapist=therapist, title=title))
        for title in ("Kept", "Stopped")
    )
    for assignment in (kept, stopped):
        assignment.created_at = now - timedelta(days=14)
        session.add(assignment)
        session.commit()
        make_plan(session, client=client, assignment=assignment, confirmed=True, now=now - timedelta(days=7))
    for days_ago in (1, 2, 4, 6):
        make_entry(session, client=client, assignment=kept, occurred_at=now - timedelta(days=days_ago))
    # Stopped yesterday: the brief still shows the record's days, but its plan ended with it.
    stopped.ended_at = now - timedelta(days=1)
    session.add(stopped)
    session.commit()
    data = brief.build(session, therapist=therapist, client_id=client.id, now=now)
    assert stopped.id in {item.item.assignment.id for item in data.records}
    shared = data.agreements
    alone = plans.for_brief(session, therapist=therapist, client=client, now=data.as_of)
    assert [(held.plan.id, held.outcome, held.done, held.expected) for held in shared] == [
        (held.plan.id, held.outcome, held.done, held.expected) for held in alone
    ]
    assert [held.title for held in shared] == ["Kept"]
    assert (shared[0].done, shared[0].expected) == (4, 7)
