"""A voice note on a "Not today, because…" check-in: the client's own unused upload, tied to
the check-in once, heard by the therapist only when the check-in is shared."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from app.core.errors import Invalid, NotFound
from app.models import BarrierCheckin, BarrierCreate, EntryCreate, Visibility, VoiceNote
from app.models.barrier import Reason
from app.models.types import utcnow
from app.services import account_deletion, barriers, entries, voice_notes, voice_storage
from app.services.device_trust import EVERYTHING, PrivateAccess
from tests.factories import make_assignment, make_client, make_template, make_therapist

VOICE_FIELDS = [{"key": "voice", "type": "voice", "label": "Say it"}]
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256))


def _setup(session: Session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    assignment.created_at = utcnow() - timedelta(days=8)
    session.add(assignment)
    session.commit()
    return therapist, client, assignment


def _note(session: Session, client, data: bytes = WEBM) -> VoiceNote:  # type: ignore[no-untyped-def]
    stored = voice_notes.store(session, client=client, data=data, max_bytes=100_000, max_seconds=300)
    session.commit()
    note = session.get(VoiceNote, stored.note.id)
    assert note is not None
    return note


def _data(assignment, days_ago: int, **fields):  # type: ignore[no-untyped-def]
    day = utcnow().date() - timedelta(days=days_ago)
    return BarrierCreate(
        **{"id": uuid.uuid4(), "assignment_id": assignment.id, "day": day, "reason": Reason.no_time, **fields}
    )


def _counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    checkins = int(session.exec(select(func.count()).select_from(BarrierCheckin)).one())
    attached = int(
        session.exec(
            select(func.count()).select_from(VoiceNote).where(VoiceNote.barrier_checkin_id.is_not(None))  # type: ignore[union-attr]
        ).one()
    )
    return checkins, attached


def test_a_check_in_takes_its_voice_note_once_and_a_replay_is_answered(session) -> None:
    _therapist, client, assignment = _setup(session)
    note = _note(session, client)
    data = _data(assignment, 1, voice_note_id=note.id)
    saved = barriers.record(session, client=client, data=data)
    session.commit()
    assert saved.created and saved.voice_note_id == note.id
    session.expire_all()
    assert session.get(VoiceNote, note.id).barrier_checkin_id == data.id  # type: ignore[union-attr]
    again = barriers.record(session, client=client, data=data)
    assert not again.created and again.voice_note_id == note.id
    [shown] = barriers.public(session, checkins=barriers.list_for_client(session, client=client, access=EVERYTHING))
    assert shown.voice_note_id == note.id
    # One tap, no note at all, still works beside it.
    plain = barriers.record(session, client=client, data=_data(assignment, 2))
    assert plain.created and plain.voice_note_id is None
    session.commit()
    assert _counts(session) == (2, 1)


@pytest.mark.parametrize("case", ["missing", "another_clients", "an_entrys", "another_check_ins"])
def test_a_note_that_is_not_the_clients_own_unused_one_is_refused_and_nothing_changes(session, case: str) -> None:
    therapist, client, assignment = _setup(session)
    if case == "missing":
        note_id = uuid.uuid4()
    elif case == "another_clients":
        note_id = _note(session, make_client(session, therapist=therapist)).id
    elif case == "an_entrys":
        template = make_template(session, therapist=therapist, fields=VOICE_FIELDS)
        spoken = make_assignment(session, client=client, template=template)
        note_id = _note(session, client).id
        entry = EntryCreate(id=uuid.uuid4(), assignment_id=spoken.id, answers={"voice": str(note_id)})
        entries.create(session, client=client, data=entry)
        session.commit()
    else:
        note_id = _note(session, client).id
        barriers.record(session, client=client, data=_data(assignment, 3, voice_note_id=note_id))
        session.commit()
    before = _counts(session)
    with pytest.raises(Invalid) as refused:
        barriers.record(session, client=client, data=_data(assignment, 1, voice_note_id=note_id))
    assert refused.value.errors == {"voice_note_id": "This voice note could not be found. Please record it again."}
    session.rollback()
    assert _counts(session) == before


def test_an_entry_may_not_take_a_check_ins_note(session) -> None:
    therapist, client, assignment = _setup(session)
    note = _note(session, client)
    barriers.record(session, client=client, data=_data(assignment, 1, voice_note_id=note.id))
    session.commit()
    template = make_template(session, therapist=therapist, fields=VOICE_FIELDS)
    spoken = make_assignment(session, client=client, template=template)
    with pytest.raises(Invalid):
        entries.create(
            session,
            client=client,
            data=EntryCreate(id=uuid.uuid4(), assignment_id=spoken.id, answers={"voice": str(note.id)}),
        )


@pytest.mark.parametrize(
    ("visibility", "therapist_hears"),
    [(Visibility.shared, True), (Visibility.discuss, True), (Visibility.private, False)],
)
def test_the_therapist_hears_a_check_ins_note_only_when_it_is_shared(
    session, visibility: Visibility, therapist_hears: bool
) -> None:
    therapist, client, assignment = _setup(session)
    note = _note(session, client)
    device = uuid.uuid4()
    data = _data(assignment, 1, voice_note_id=note.id, visibility=visibility)
    barriers.record(session, client=client, data=data, device_id=device)
    session.commit()
    if therapist_hears:
        assert voice_notes.readable(session, note_id=note.id, therapist=therapist).id == note.id
    else:
        with pytest.raises(NotFound):
            voice_notes.readable(session, note_id=note.id, therapist=therapist)
    with pytest.raises(NotFound):
        voice_notes.readable(session, note_id=note.id, therapist=make_therapist(session))
    # The client: always on a confirmed device or the one that wrote it; elsewhere, as the check-in.
    assert voice_notes.readable(session, note_id=note.id, client=client, access=EVERYTHING)
    mine = PrivateAccess(device_id=device, everything=False)
    assert voice_notes.readable(session, note_id=note.id, client=client, access=mine)
    elsewhere = PrivateAccess(device_id=uuid.uuid4(), everything=False)
    if visibility == Visibility.private:
        with pytest.raises(NotFound):
            voice_notes.readable(session, note_id=note.id, client=client, access=elsewhere)
    else:
        assert voice_notes.readable(session, note_id=note.id, client=client, access=elsewhere)
    # The brief plays it only when shared: a private check-in's note is not even named.
    now = utcnow()
    summary = barriers.for_brief(
        session, therapist=therapist, client=client, since=now - timedelta(days=7), until=now, titles={}
    )
    heard = [item.voice_note_id for item in summary.notes]
    assert heard == ([note.id] if therapist_hears else [])
    if therapist_hears:
        assert summary.notes[0].audio == f"/api/v1/voice-notes/{note.id}"
        assert summary.notes[0].note == ""  # spoken only: still shown


def test_a_check_ins_note_is_not_swept_and_goes_with_the_account(session) -> None:
    _therapist, client, assignment = _setup(session)
    note = _note(session, client)
    loose = _note(session, client, WEBM + b"another")
    barriers.record(session, client=client, data=_data(assignment, 1, voice_note_id=note.id))
    session.commit()
    for row in (session.get(VoiceNote, note.id), session.get(VoiceNote, loose.id)):
        assert row is not None
        row.created_at = utcnow() - voice_notes.UNATTACHED_GRACE - timedelta(hours=1)
        session.add(row)
    session.commit()
    assert voice_notes.sweep(session) == 1  # the loose one only
    session.commit()
    session.expire_all()
    assert session.get(VoiceNote, note.id) is not None and session.get(VoiceNote, loose.id) is None
    deleted = account_deletion.delete_client(session, client=client)
    session.commit()
    assert deleted.voice_notes == 1
    session.expire_all()
    assert session.get(VoiceNote, note.id) is None
    assert voice_storage.current().read(session, note_id=note.id) is None
