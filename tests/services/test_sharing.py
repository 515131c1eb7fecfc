"""The one rule of what reaches the therapist: shared and "discuss in session" entries and
check-ins, never a private one, in the query and for a row already held."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.models import BarrierCheckin, Entry, Visibility
from app.models.types import utcnow
from app.services import sharing
from tests.factories import make_assignment, make_client, make_entry, make_therapist


def test_shared_entries_are_the_shared_and_discuss_ones_in_order_never_private(session) -> None:
    client = make_client(session, therapist=make_therapist(session))
    assignment = make_assignment(session, client=client)
    now = utcnow()
    made = {
        visibility: make_entry(
            session, client=client, assignment=assignment, visibility=visibility, occurred_at=now - timedelta(hours=n)
        )
        for n, visibility in enumerate((Visibility.shared, Visibility.private, Visibility.discuss), start=1)
    }
    old = make_entry(session, client=client, assignment=assignment, occurred_at=now - timedelta(days=10))
    since = now - timedelta(days=1)

    oldest_first = sharing.shared_entries(session, client_id=client.id, since=since)
    assert [row.id for row in oldest_first] == [made[Visibility.discuss].id, made[Visibility.shared].id]
    newest = sharing.shared_entries(session, client_id=client.id, since=since, newest_first=True, limit=1)
    assert [row.id for row in newest] == [made[Visibility.shared].id]
    before = sharing.shared_entries(session, client_id=client.id, since=now - timedelta(days=30), until=since)
    assert [row.id for row in before] == [old.id]

    # The same condition in any query, and for a row in hand.
    readable = session.exec(select(Entry.id).where(Entry.client_id == client.id, sharing.shared())).all()
    assert set(readable) == {made[Visibility.shared].id, made[Visibility.discuss].id, old.id}
    assert [sharing.is_shared(row) for row in made.values()] == [True, False, True]
    checkin = BarrierCheckin(visibility=Visibility.private)  # type: ignore[call-arg]
    assert not sharing.is_shared(checkin)
