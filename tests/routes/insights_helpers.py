"""Building a client's history for caseload and brief tests: past assignments, timed entries, sessions."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.models import Appointment, Assignment, Client, Entry, Therapist, Visibility
from app.models.types import utcnow
from app.services import appointments
from tests.factories import library_template, make_assignment, make_entry

PHQ9_CALM = {f"item{n}": "0" for n in range(1, 10)}
# Sessions made by these helpers are staggered so that one therapist's never overlap.
_stagger = itertools.count()


def phq9(item9: int = 0, rest: int = 1) -> dict[str, str]:
    answers = {f"item{n}": str(rest) for n in range(1, 9)}
    answers["item9"] = str(item9)
    return answers


def backdate(session: Session, assignment: Assignment, days: int) -> Assignment:
    assignment.created_at = utcnow() - timedelta(days=days)
    session.add(assignment)
    session.commit()
    return assignment


def assign_since(session: Session, client: Client, *, days: int, slug: str | None = None, **options: Any) -> Assignment:
    template = library_template(session, slug) if slug else None
    return backdate(session, make_assignment(session, client=client, template=template, **options), days)


def entry_at(
    session: Session,
    client: Client,
    assignment: Assignment,
    occurred_at: datetime,
    *,
    logged_after: timedelta = timedelta(minutes=5),
    answers: dict[str, Any] | None = None,
    visibility: Visibility = Visibility.shared,
    nothing_to_report: bool = False,
) -> Entry:
    entry = make_entry(
        session,
        client=client,
        assignment=assignment,
        answers=answers,
        visibility=visibility,
        occurred_at=occurred_at,
        nothing_to_report=nothing_to_report,
    )
    entry.logged_at = occurred_at + logged_after
    session.add(entry)
    session.commit()
    return entry


def daily_entries(
    session: Session, client: Client, assignment: Assignment, *, days: list[int], hour: int = 12, **kwargs: Any
) -> None:
    """One entry on each of the given days ago (0 = today), at the given UTC hour."""
    now = utcnow()
    for ago in days:
        moment = (now - timedelta(days=ago)).replace(hour=hour, minute=0, second=0, microsecond=0)
        if moment > now:
            moment = now - timedelta(minutes=1)
        entry_at(session, client, assignment, moment, **kwargs)


def past_session(session: Session, therapist: Therapist, client: Client, *, days_ago: float) -> Appointment:
    start = utcnow() - timedelta(days=days_ago) - timedelta(minutes=61 * (next(_stagger) % 20))
    [created] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=start,
        timezone=client.timezone,
        now=start - timedelta(minutes=1),
    )
    session.commit()
    return created


def future_session(session: Session, therapist: Therapist, client: Client, *, days: float) -> Appointment:
    [created] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=utcnow() + timedelta(days=days) + timedelta(minutes=61 * (next(_stagger) % 20)),
        timezone=client.timezone,
    )
    session.commit()
    return created
