"""The silent-device rule (services/reminders/health.py): a device whose push service took the
client's last N reminders while nothing showed they arrived for N days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.core.settings import Settings
from app.models import Client, OccurrenceStatus, PushSubscription, Reminder, ReminderOccurrence
from app.services import reminders
from app.services.reminders import health as reminder_health
from app.services.reminders import subscriptions
from tests.dispatch.conftest import subscription_json
from tests.factories import make_assignment, make_client

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _client_with_reminder(session: Session) -> tuple[Client, Reminder]:
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["09:00"])
    )
    session.commit()
    return client, reminder


def _phone(session: Session, client: Client, settings: Settings, name: str, *, added: datetime) -> PushSubscription:
    phone = subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"https://push.example.org/{name}"), settings=settings
    )
    phone.created_at = added
    session.add(phone)
    session.commit()
    return phone


def _sent(
    session: Session,
    client: Client,
    reminder: Reminder,
    *,
    days_ago: list[float],
    status: OccurrenceStatus = OccurrenceStatus.sent,
    devices: list[PushSubscription] = (),  # type: ignore[assignment]
) -> None:
    """Reminders sent that many days before NOW, each taken by the devices' push services."""
    for ago in days_ago:
        at = NOW - ago * DAY
        session.add(
            ReminderOccurrence(
                reminder_id=reminder.id, client_id=client.id, due_at=at, status=status, sent_at=at, attempts=1
            )
        )
    latest = NOW - min(days_ago) * DAY
    for device in devices:
        device.last_success_at = latest
        device.sent_count += len(days_ago)
        device.accepted_count += len(days_ago)
        session.add(device)
    session.commit()


def _health(session: Session, client: Client) -> reminder_health.DeliveryHealth:
    session.expire_all()
    return reminder_health.delivery_health(
        session, client=client, now=NOW, silent_after_reminders=5, silent_after_days=3
    )


def test_five_reminders_taken_over_four_days_and_no_sign_of_life_is_silent(
    session: Session, settings: Settings
) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 6 * DAY)
    _sent(session, client, reminder, days_ago=[4, 3, 2, 1, 0.1], devices=[phone])

    health = _health(session, client)

    assert [device.id for device in health.silent] == [phone.id]
    assert health.all_silent


def test_fewer_reminders_than_the_rule_asks_for_is_not_silent(session: Session, settings: Settings) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 6 * DAY)
    _sent(session, client, reminder, days_ago=[3, 2, 1, 0.1], devices=[phone])
    # Reminders that stayed quiet or went by email are not ones the push service took.
    _sent(session, client, reminder, days_ago=[4], status=OccurrenceStatus.suppressed)

    assert _health(session, client).silent == []


def test_a_seen_reminder_or_an_app_open_within_the_days_is_a_sign_of_life(session: Session, settings: Settings) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 9 * DAY)
    _sent(session, client, reminder, days_ago=[5, 4, 3, 2, 1], devices=[phone])
    assert _health(session, client).silent != []

    phone.last_seen_at = NOW - 2 * DAY  # a tap on a reminder, two days ago
    session.add(phone)
    session.commit()
    assert _health(session, client).silent == []

    phone.last_seen_at = NOW - 8 * DAY
    session.add(phone)
    session.commit()
    # Between opened on the phone (its page registers the subscription on every open).
    subscriptions.add_subscription(
        session,
        client=client,
        data=subscription_json(phone.endpoint),
        settings=settings,
        opened_at=NOW - DAY,
    )
    session.commit()
    assert _health(session, client).silent == []


def test_a_sign_of_life_long_ago_then_five_reminders_is_silent_again(session: Session, settings: Settings) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 30 * DAY)
    phone.last_open_at = NOW - 4 * DAY
    session.add(phone)
    _sent(session, client, reminder, days_ago=[10, 9], devices=[phone])
    # Only four since the phone was last opened: not yet the last five.
    _sent(session, client, reminder, days_ago=[3.5, 3, 2, 1], devices=[phone])
    assert _health(session, client).silent == []
    _sent(session, client, reminder, days_ago=[0.2], devices=[phone])
    assert len(_health(session, client).silent) == 1


def test_a_device_whose_push_service_refused_one_of_them_is_failing_not_silent(
    session: Session, settings: Settings
) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 9 * DAY)
    _sent(session, client, reminder, days_ago=[5, 4, 3, 2, 1], devices=[phone])
    phone.last_failure_at = NOW - 3 * DAY
    session.add(phone)
    session.commit()
    assert _health(session, client).silent == []


def test_one_silent_device_beside_a_working_one(session: Session, settings: Settings) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 9 * DAY)
    laptop = _phone(session, client, settings, "laptop", added=NOW - 9 * DAY)
    _sent(session, client, reminder, days_ago=[5, 4, 3, 2, 1], devices=[phone, laptop])
    laptop.last_seen_at = NOW - DAY
    session.add(laptop)
    session.commit()

    health = _health(session, client)

    assert [device.id for device in health.silent] == [phone.id]
    assert not health.all_silent


def test_a_device_that_did_not_take_the_newest_reminder_is_not_silent(session: Session, settings: Settings) -> None:
    client, reminder = _client_with_reminder(session)
    phone = _phone(session, client, settings, "phone", added=NOW - 9 * DAY)
    new_phone = _phone(session, client, settings, "new", added=NOW - 9 * DAY)
    _sent(session, client, reminder, days_ago=[5, 4, 3, 2, 1], devices=[phone, new_phone])
    _sent(session, client, reminder, days_ago=[0.1], devices=[new_phone])  # the first phone missed it

    health = _health(session, client)

    assert [device.id for device in health.silent] == [new_phone.id]


def test_last_sends_takes_each_clients_own_newest_in_one_query(session: Session, settings: Settings) -> None:
    first, first_reminder = _client_with_reminder(session)
    second, second_reminder = _client_with_reminder(session)
    _sent(session, first, first_reminder, days_ago=[6, 5, 4, 3, 2, 1])
    _sent(session, second, second_reminder, days_ago=[2, 1])
    _sent(session, second, second_reminder, days_ago=[70])  # beyond the look-back
    # Sent by email because every device was silent: the push service took it all the same.
    session.add(
        ReminderOccurrence(
            reminder_id=second_reminder.id,
            client_id=second.id,
            due_at=NOW - 0.5 * DAY,
            status=OccurrenceStatus.email,
            sent_at=NOW - 0.5 * DAY,
            last_error=reminder_health.SILENT,
        )
    )
    session.commit()

    sends = reminder_health.last_sends(session, client_ids=[first.id, second.id], count=5, now=NOW)

    assert sends[first.id] == [NOW - d * DAY for d in (1, 2, 3, 4, 5)]
    assert sends[second.id] == [NOW - d * DAY for d in (0.5, 1, 2)]


def test_the_caseload_tells_a_client_whose_every_device_is_silent(session: Session, settings: Settings) -> None:
    from app.models import Therapist
    from app.models.standing import DeliveryState
    from app.services import caseload

    quiet_one, quiet_reminder = _client_with_reminder(session)
    phone = _phone(session, quiet_one, settings, "phone", added=NOW - 9 * DAY)
    _sent(session, quiet_one, quiet_reminder, days_ago=[5, 4, 3, 2, 1], devices=[phone])
    therapist = session.get(Therapist, quiet_one.therapist_id)
    assert therapist is not None
    other, other_reminder = _client_with_reminder(session)
    other.therapist_id = therapist.id
    session.add(other)
    tablet = _phone(session, other, settings, "tablet", added=NOW - 9 * DAY)
    _sent(session, other, other_reminder, days_ago=[5, 4, 3, 2, 1], devices=[tablet])
    tablet.last_seen_at = NOW - DAY
    session.add(tablet)
    session.commit()

    rows = {row.client.id: row for row in caseload.build(session, therapist=therapist, now=NOW)}

    assert rows[quiet_one.id].delivery.state is DeliveryState.silent
    assert rows[other.id].delivery.state is DeliveryState.ok
