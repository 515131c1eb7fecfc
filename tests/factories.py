"""Factories that build real objects through the services (no raw SQL)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.security import csrf_token
from app.models import (
    Assignment,
    AssignmentCreate,
    Client,
    Entry,
    EntryCreate,
    OccurrenceStatus,
    Plan,
    PlanClientEdit,
    PushSubscription,
    RecordTemplate,
    Reminder,
    ReminderOccurrence,
    SessionKind,
    TemplateVersion,
    Therapist,
    TherapistCreate,
    Visibility,
)
from app.models.types import utcnow
from app.services import accounts, assignments, clients, device_sessions, entries, plans, record_types
from app.web.render import SESSION_COOKIE, csrf_cookie_name

_counter = itertools.count(1)
PASSWORD = "correct horse battery"

MOOD_FIELDS: list[dict[str, Any]] = [
    {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "required": True},
    {"key": "note", "type": "short_text", "label": "Anything else?"},
]


def make_therapist(session: Session, *, email: str | None = None, name: str = "Dr. Test") -> Therapist:
    n = next(_counter)
    therapist = accounts.create_therapist(
        session,
        data=TherapistCreate(email=email or f"therapist{n}@example.org", display_name=name, password=PASSWORD),
    )
    session.commit()
    return therapist


def make_client(
    session: Session, *, therapist: Therapist | None = None, name: str | None = None, timezone: str = "UTC"
) -> Client:
    therapist = therapist or make_therapist(session)
    client = clients.create(
        session, therapist=therapist, display_name=name or f"Client {next(_counter)}", timezone=timezone
    )
    session.commit()
    return client


def make_template(
    session: Session, *, therapist: Therapist, title: str = "Mood check", fields: list[dict[str, Any]] | None = None
) -> RecordTemplate:
    template = record_types.create_own(
        session, therapist=therapist, title=title, instructions="Rate your mood.", fields=fields or MOOD_FIELDS
    )
    session.commit()
    return template


def library_template(session: Session, slug: str) -> RecordTemplate:
    return session.exec(select(RecordTemplate).where(RecordTemplate.slug == slug)).one()


def make_assignment(
    session: Session,
    *,
    client: Client,
    template: RecordTemplate | None = None,
    **options: Any,
) -> Assignment:
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    template = template or make_template(session, therapist=therapist)
    assignment = assignments.assign(
        session, therapist=therapist, client=client, data=AssignmentCreate(template_id=template.id, **options)
    )
    session.commit()
    return assignment


def current_version(session: Session, assignment: Assignment) -> TemplateVersion:
    template = session.get(RecordTemplate, assignment.template_id)
    assert template is not None
    return record_types.current_version(session, template=template)


def make_entry(
    session: Session,
    *,
    client: Client,
    assignment: Assignment,
    answers: dict[str, Any] | None = None,
    visibility: Visibility = Visibility.shared,
    occurred_at: datetime | None = None,
    nothing_to_report: bool = False,
) -> Entry:
    saved = entries.create(
        session,
        client=client,
        data=EntryCreate(
            id=uuid.uuid4(),
            assignment_id=assignment.id,
            answers={"mood": 6} if answers is None else answers,
            visibility=visibility,
            occurred_at=occurred_at,
            nothing_to_report=nothing_to_report,
        ),
    )
    session.commit()
    return saved.entry


def signed_in(web: TestClient, session: Session, who: Therapist | Client, *, confirmed: bool = True) -> TestClient:
    """Give a TestClient a real server-side session (and a CSRF token) for `who`.

    A client's device is one the client confirmed (their own phone) unless `confirmed`
    is False: then it is like a device signed in by an invitation nobody confirmed."""
    if isinstance(who, Therapist):
        _device, token = device_sessions.start(session, kind=SessionKind.therapist, therapist_id=who.id, days=1)
    else:
        device, token = device_sessions.start(session, kind=SessionKind.client, client_id=who.id, days=1)
        device.confirmed_at = utcnow() if confirmed else None
    session.commit()
    web.cookies.set(SESSION_COOKIE, token)
    # The CSRF token is bound to the session, as the app's own pages would carry it.
    settings = web.app.state.settings
    csrf = csrf_token(settings.secret_key, session=token)
    web.cookies.set(csrf_cookie_name(secure=settings.secure_cookies), csrf)
    web.headers["X-CSRF-Token"] = csrf
    return web


def browser(app: Any) -> TestClient:
    """Another, independent browser on the same app (remember to close it)."""
    return TestClient(app, base_url="http://testserver")


def make_plan(
    session: Session,
    *,
    client: Client,
    assignment: Assignment | None = None,
    template: RecordTemplate | None = None,
    times: list[str] | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
    **words: str,
) -> Plan:
    """A plan made together for one record: started by the therapist, the words and the
    times written, and (with `confirmed`) agreed by the client."""
    therapist = session.get(Therapist, client.therapist_id)
    assert therapist is not None
    plan, _new = plans.start(
        session,
        therapist=therapist,
        client=client,
        assignment_id=assignment.id if assignment is not None else None,
        template_id=template.id if template is not None else None,
        now=now,
    )
    words = {"cue": "I get home from work", "action": "fill in the mood log on the bus", **words}
    plans.edit_as_client(
        session, client=client, plan_id=plan.id, data=PlanClientEdit(times=times or ["18:30"], **words), now=now
    )
    if confirmed:
        plans.confirm(session, client=client, plan_id=plan.id, now=now)
    session.commit()
    return plan


def make_silent(session: Session, *, phone: PushSubscription, reminder: Reminder, at: datetime) -> None:
    """`phone` set up nine days before `at`, its push service having taken `reminder` once a day
    on the five days before `at`, with no sign of life from it (a silent device). Not committed."""
    day = timedelta(days=1)
    phone.created_at = at - 9 * day
    phone.last_success_at = at - day
    phone.sent_count = phone.accepted_count = 5
    for days in range(1, 6):
        sent = at - days * day
        session.add(
            ReminderOccurrence(
                reminder_id=reminder.id,
                client_id=reminder.client_id,
                due_at=sent,
                status=OccurrenceStatus.sent,
                sent_at=sent,
                attempts=1,
            )
        )
    session.add(phone)
