"""Migration 0020 adds `entry.complete` and fills it in for entries already written, as saving
them today would."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core import migrate
from app.models import Entry
from app.services import library
from tests.factories import library_template, make_assignment, make_client, make_entry

BEFORE = "0019_silent_devices"


def test_the_migration_marks_existing_entries_as_saving_them_would(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with Session(empty_engine, expire_on_commit=False) as session:
        library.sync(session)
        client = make_client(session)
        thought = make_assignment(session, client=client, template=library_template(session, "thought_record"))
        mood = make_assignment(session, client=client)
        base = {"situation": "At work", "automatic_thought": "I will fail", "emotions": {"anxious": 70}}
        full = base | {"balanced_thought": "Not quite", "emotions_after": {"anxious": 20}}
        written = [
            make_entry(session, client=client, assignment=thought, answers=full),
            make_entry(session, client=client, assignment=thought, answers=base),
            make_entry(session, client=client, assignment=thought, answers={}, nothing_to_report=True),
            make_entry(session, client=client, assignment=mood),
        ]
        saved = {entry.id: entry.complete for entry in written}
    assert list(saved.values()) == [True, False, None, None]

    migrate.downgrade(empty_engine, BEFORE)
    assert "complete" not in {column["name"] for column in inspect(empty_engine).get_columns("entry")}
    migrate.upgrade(empty_engine)
    with Session(empty_engine) as session:
        backfilled = {entry.id: entry.complete for entry in session.exec(select(Entry))}
    assert backfilled == saved
