"""Bad input to the reminder services: a clear Invalid/NotFound, and nothing stored changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.core.errors import Invalid, NotFound
from app.core.settings import Environment, Settings
from app.models import PushSubscription, Reminder
from app.services import reminders
from app.services.reminders import snooze_links, subscriptions
from tests.dispatch.conftest import client_with_reminder, subscription_json
from tests.factories import make_assignment, make_client

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)


def _unchanged(session: Session, reminder: Reminder) -> None:
    session.expire_all()
    stored = session.get(Reminder, reminder.id)
    assert stored is not None
    assert stored.times == ["09:00"] and stored.weekdays == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"times": ["25:00"]}, "times"),
        ({"times": ["9am"]}, "times"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["funday"]}, "weekdays"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end"),
        ({"random_count": 3, "random_start": "18:00", "random_end": "09:00"}, "random_end"),
        ({"random_count": 3}, "random_end"),
        (
            {"random_count": 5, "random_start": "09:00", "random_end": "10:00", "random_min_gap_minutes": 60},
            "random_count",
        ),
        ({"random_count": "many"}, "random_count"),
        ({"times": [f"{h:02d}:00" for h in range(13)]}, "times"),
    ],
)
def test_bad_reminder_settings_are_refused(session: Session, changes: dict, field: str) -> None:  # type: ignore[type-arg]
    client, assignment, reminder = client_with_reminder(session, now=START)
    data = {"times": ["09:00"], **changes}
    with pytest.raises(Invalid) as raised:
        reminders.save(
            session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(**data), now=START
        )
    assert field in raised.value.errors
    assert raised.value.status_code == 422
    session.rollback()
    _unchanged(session, reminder)


def test_unknown_zone_and_late_day_boundary_are_refused(session: Session) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    with pytest.raises(Invalid, match="Unknown time zone"):
        reminders.update_preferences(session, client=client, timezone="Mars/Olympus_Mons", now=START)
    with pytest.raises(Invalid):
        reminders.update_preferences(session, client=client, day_boundary="25:00", now=START)
    with pytest.raises(Invalid):
        reminders.update_preferences(session, client=client, day_boundary="09:00", now=START)
    session.rollback()
    session.expire_all()
    assert session.get(type(client), client.id).timezone == "UTC"  # type: ignore[union-attr]
    _unchanged(session, reminder)


def test_someone_elses_assignment_or_reminder(session: Session) -> None:
    client, _a, reminder = client_with_reminder(session, now=START)
    stranger = make_client(session)
    with pytest.raises(NotFound):
        reminders.snooze(session, client=stranger, reminder_id=reminder.id, minutes=15, now=START)
    with pytest.raises(NotFound):
        reminders.snooze(session, client=client, reminder_id=uuid.uuid4(), minutes=15, now=START)
    with pytest.raises(NotFound):
        reminders.save(
            session,
            client=stranger,
            assignment_id=reminder.assignment_id,
            data=reminders.ReminderInput(times=["10:00"]),
        )
    with pytest.raises(Invalid):
        reminders.snooze(session, client=client, reminder_id=reminder.id, minutes=45, now=START)
    session.rollback()
    session.expire_all()
    assert session.get(Reminder, reminder.id).snoozed_until is None  # type: ignore[union-attr]


def test_snooze_token_is_bound_to_its_client_and_expires() -> None:
    client_id, reminder_id = uuid.uuid4(), uuid.uuid4()
    token = snooze_links.snooze_token(secret="s" * 40, client_id=client_id, reminder_id=reminder_id, expires=START)
    assert snooze_links.read_snooze_token(secret="s" * 40, token=token, now=START - timedelta(seconds=1)) == (
        client_id,
        reminder_id,
    )
    with pytest.raises(NotFound):
        snooze_links.read_snooze_token(secret="other" * 10, token=token, now=START - timedelta(seconds=1))
    with pytest.raises(NotFound):
        snooze_links.read_snooze_token(secret="s" * 40, token=token, now=START + timedelta(seconds=1))
    with pytest.raises(NotFound):
        snooze_links.read_snooze_token(secret="s" * 40, token=token[:-2] + "AA", now=START - timedelta(seconds=1))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "https://push.example.org/abc",
        {"endpoint": "https://push.example.org/abc"},
        {"endpoint": "https://push.example.org/abc", "keys": {"p256dh": "not a key", "auth": "abc"}},
        {"endpoint": "https://push.example.org/abc", "keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"endpoint": 42, "keys": {}},
    ],
)
def test_malformed_subscriptions_are_refused(session: Session, settings: Settings, data: object) -> None:
    client = make_client(session)
    with pytest.raises(Invalid):
        subscriptions.add_subscription(session, client=client, data=data, settings=settings)
    assert session.exec(select(PushSubscription)).all() == []


def test_plain_http_endpoints_only_on_loopback_and_only_when_a_test_setting_allows_it(
    session: Session, settings: Settings
) -> None:
    client = make_client(session)
    loopback = settings.model_copy(update={"push_allow_loopback": True})
    for endpoint, rules in (
        ("http://127.0.0.1:9/x", settings),  # tests and development alike: off unless set
        ("http://push.example.org/x", settings),
        ("http://push.example.org/x", loopback),  # the test setting admits loopback only
        ("http://10.0.0.1/x", loopback),
    ):
        with pytest.raises(Invalid, match="secure"):
            subscriptions.add_subscription(session, client=client, data=subscription_json(endpoint), settings=rules)
    assert session.exec(select(PushSubscription)).all() == []
    added = subscriptions.add_subscription(
        session, client=client, data=subscription_json("http://127.0.0.1:9/x"), settings=loopback
    )
    assert added.id is not None


def test_pause_all_and_next_local_times(session: Session) -> None:
    client, _a, reminder = client_with_reminder(
        session,
        timezone="Europe/London",
        times=("08:30", "21:00"),
        weekdays=("mon", "tue", "wed", "thu", "fri"),
        now=START,
    )
    local = reminders.next_local_times(reminder, client, now=START, limit=3)
    assert [moment.strftime("%a %H:%M") for moment in local] == ["Mon 08:30", "Mon 21:00", "Tue 08:30"]
    reminders.pause_all(session, client=client, now=START)
    session.commit()
    session.refresh(reminder)
    assert reminder.next_due_at is None
    reminders.pause_all(session, client=client, paused=False, now=START)
    session.commit()
    session.refresh(reminder)
    assert reminder.next_due_at == datetime(2026, 5, 4, 7, 30, tzinfo=UTC)


def test_therapist_proposal_becomes_the_clients_reminder_until_they_change_it(session: Session) -> None:
    client = make_client(session)
    # Assigning with proposed times makes them the client's reminder (assignments.assign).
    assignment = make_assignment(session, client=client, proposed_times=["08:00", "20:00"])
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None and reminder.times == ["08:00", "20:00"]
    assert reminders.propose(session, assignment=assignment, now=START) is None  # already there
    reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["07:15"]), now=START
    )
    assert reminders.propose(session, assignment=assignment, now=START) is None
    assert reminders.for_assignment(session, assignment_id=assignment.id).times == ["07:15"]  # type: ignore[union-attr]
    assert reminders.for_assignment(session, assignment_id=assignment.id).quiet_start is None  # type: ignore[union-attr]


def test_vapid_subjects_apple_would_reject() -> None:
    from app.core.push_rules import subject_problem

    for bad in (
        "mailto:x@localhost",
        "mailto:me@box.local",
        "https://push.invalid",
        "mailto:",
        "http://example.org",
        "x@example.org",
        "https://127.0.0.1",
    ):
        assert subject_problem(bad), bad
    for good in ("mailto:admin@example.org", "https://between.example.org"):
        assert subject_problem(good) is None
    with pytest.raises(ValueError, match="VAPID"):
        Settings(vapid_subject="mailto:me@localhost", secret_key="k" * 40)
    with pytest.raises(ValueError, match="VAPID_PRIVATE_KEY"):
        Settings(environment=Environment.production, secret_key="k" * 40, base_url="https://between.example.org")
