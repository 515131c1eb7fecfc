"""A thought record kept for three weeks, counted by hand for the quality figures.

Since the last session (seven days ago) the client wrote six thought records, a
"nothing to report" check-in (not counted: nothing was written) and, before the session,
one more (not counted). By hand:

| day ago | logged after           | balanced thought + re-rating | in the moment | complete |
|---------|------------------------|------------------------------|---------------|----------|
| 6       | 5 minutes              | both                         | yes           | yes      |
| 5       | 30 minutes             | no balanced thought          | yes           | no       |
| 4       | 3 hours                | both                         | no            | yes      |
| 3       | 20 hours               | neither                      | no            | no       |
| 2       | 59 minutes             | both                         | yes           | yes      |
| 1       | 2 hours, 30 minutes    | no re-rating                 | yes (*)       | no       |

(*) a reminder reached the client half an hour before it was written.

In the moment: 4 of 6. Complete: 3 of 6.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from app.models import Assignment, Client, OccurrenceStatus, Reminder, ReminderOccurrence, Therapist
from app.models.types import utcnow
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, entry_at, future_session, past_session

IN_THE_MOMENT = (4, 6)
COMPLETE = (3, 6)

_BASE = {
    "situation": "At work",
    "automatic_thought": "I will fail",
    "emotions": {"anxious": 70},
}
_BALANCED = {"balanced_thought": "One slip is not failing"}
_RERATED = {"emotions_after": {"anxious": 30}}


def _at(days_ago: int) -> datetime:
    return (utcnow() - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)


def thought_records(session: Session, *, name: str = "Quinn") -> tuple[Therapist, Client, Assignment]:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name=name)
    record = assign_since(session, client, days=21, slug="thought_record", frequency="as_it_happens")
    past_session(session, therapist, client, days_ago=7)
    future_session(session, therapist, client, days=1)
    rows = [
        (6, timedelta(minutes=5), _BALANCED | _RERATED),
        (5, timedelta(minutes=30), _RERATED),
        (4, timedelta(hours=3), _BALANCED | _RERATED),
        (3, timedelta(hours=20), {}),
        (2, timedelta(minutes=59), _BALANCED | _RERATED),
        (1, timedelta(hours=2, minutes=30), _BALANCED),
    ]
    for days_ago, after, extra in rows:
        entry_at(session, client, record, _at(days_ago), logged_after=after, answers=_BASE | extra)
    entry_at(session, client, record, _at(2) + timedelta(hours=3), nothing_to_report=True, answers={})
    entry_at(session, client, record, _at(9), logged_after=timedelta(hours=30), answers=_BASE)
    # The evening reminder that prompted the last one, half an hour before it was written.
    reminder = Reminder(client_id=client.id, assignment_id=record.id, times=["14:00"])
    session.add(reminder)
    session.flush()
    sent = _at(1) + timedelta(hours=2)
    session.add(
        ReminderOccurrence(
            reminder_id=reminder.id, client_id=client.id, due_at=sent, sent_at=sent, status=OccurrenceStatus.sent
        )
    )
    session.commit()
    return therapist, client, record
