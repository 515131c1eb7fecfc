"""Entry rules: idempotency under races, tombstones, private content."""

from __future__ import annotations

import threading
import uuid

from sqlmodel import Session, func, select

from app.core.errors import Conflict, Gone, NotFound
from app.models import Entry, EntryCreate, Visibility
from app.services import entries
from app.services.device_trust import EVERYTHING
from tests.factories import make_assignment, make_client, make_entry, make_therapist


def test_concurrent_syncs_of_one_offline_entry_store_it_once(engine, session) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    entry_id = uuid.uuid4()
    results: list[object] = []
    barrier = threading.Barrier(4)

    def sync() -> None:
        with Session(engine, expire_on_commit=False) as own:
            barrier.wait()
            try:
                saved = entries.create(
                    own,
                    client=client,
                    data=EntryCreate(id=entry_id, assignment_id=assignment.id, answers={"mood": 4}),
                )
                own.commit()
                results.append(saved.created)
            except Exception as error:  # a lost race must still end in "already stored"
                results.append(error)

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Entry)).one() == 1
    assert sorted(map(repr, results)) == sorted(map(repr, [True, False, False, False])), results


def test_same_id_from_another_client_is_a_conflict_not_a_leak(session) -> None:
    therapist = make_therapist(session)
    owner = make_client(session, therapist=therapist)
    other = make_client(session, therapist=therapist)
    entry = make_entry(session, client=owner, assignment=make_assignment(session, client=owner))
    other_assignment = make_assignment(session, client=other)
    try:
        entries.create(
            session, client=other, data=EntryCreate(id=entry.id, assignment_id=other_assignment.id, answers={"mood": 6})
        )
    except Conflict as error:
        assert "taken" in error.message
    else:
        raise AssertionError("expected a conflict")


def test_deleted_entry_is_a_tombstone(session) -> None:
    client = make_client(session)
    entry = make_entry(
        session,
        client=client,
        assignment=make_assignment(session, client=client),
        answers={"mood": 3, "note": "gone soon"},
    )
    entries.delete(session, client=client, access=EVERYTHING, entry_id=entry.id)
    session.commit()
    stored = session.get(Entry, entry.id)
    assert stored is not None and stored.answers == {} and stored.deleted_at is not None
    try:
        entries.get_own(session, client=client, access=EVERYTHING, entry_id=entry.id)
    except Gone:
        pass
    else:
        raise AssertionError("expected Gone")


def test_therapist_listing_leaves_out_private_entries_and_other_therapists(session) -> None:
    therapist = make_therapist(session)
    stranger = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    shared = make_entry(session, client=client, assignment=assignment)
    make_entry(session, client=client, assignment=assignment, visibility=Visibility.private)
    listed = entries.list_for_therapist(session, therapist=therapist, client=client)
    assert [entry.id for entry in listed] == [shared.id]
    try:
        entries.list_for_therapist(session, therapist=stranger, client=client)
    except NotFound:
        pass
    else:
        raise AssertionError("expected NotFound")


def test_entries_keep_rendering_after_the_form_changes(session) -> None:
    from app.services import record_types
    from app.services.entry_text import entry_views

    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    old = make_entry(session, client=client, assignment=assignment, answers={"mood": 9, "note": "before"})
    record_types.edit_own(
        session,
        therapist=therapist,
        template_id=assignment.template_id,
        title="Mood v2",
        instructions="",
        fields=[{"key": "energy", "type": "scale", "label": "Energy", "required": True}],
    )
    session.commit()
    view = entry_views(session, [old])[0]
    assert view.title == "Mood check"
    assert [(answer.label, answer.value) for answer in view.answers] == [
        ("Mood", "9 / 10"),
        ("Anything else?", "before"),
    ]
