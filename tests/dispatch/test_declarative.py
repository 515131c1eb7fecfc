"""Declarative Web Push: what reaches a push service has the shape WebKit shows by itself
(tests/declarative_push.py), stays small, and says no more than the client allowed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.settings import Settings
from app.dispatch import payload
from app.dispatch.dispatcher import Dispatcher, notification_texts
from app.dispatch.vapid import VapidKeys
from app.models import Frequency, ReminderOccurrence
from app.services import reminders
from app.services.reminders import snooze_links, subscriptions
from tests.declarative_push import problems
from tests.dispatch.conftest import PushPeer, client_with_reminder, dispatch, due_now
from tests.factories import make_assignment, make_client

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
VALID = {"web_push": 8030, "notification": {"title": "Between", "navigate": "https://between.example/c"}}


def _with(**notification: object) -> dict[str, object]:
    return {"web_push": 8030, "notification": {**VALID["notification"], **notification}}  # type: ignore[dict-item]


def test_the_validator_accepts_the_declarative_form_and_nothing_else() -> None:
    assert problems(VALID) == []
    assert problems(_with(app_badge="3", mutable=True, lang="es", dir="ltr", silent=False, body="")) == []
    assert problems(_with(app_badge=3)) == []
    bad = [
        {"notification": VALID["notification"]},
        {"web_push": 8031, "notification": VALID["notification"]},
        {"web_push": "8030", "notification": VALID["notification"]},
        {"web_push": 8030, "notification": {"navigate": "https://between.example/c"}},
        {"web_push": 8030, "notification": {"title": "Between"}},
        _with(navigate="/c/record/1"),
        _with(navigate="javascript:alert(1)"),
        _with(title=""),
        _with(app_badge="three"),
        _with(app_badge=-1),
        _with(app_badge=True),
        _with(mutable="yes"),
        _with(dir="down"),
        _with(appBadge="1"),
        _with(actions=[{"action": "log", "title": "Log now"}]),
        _with(actions=[{"action": "log", "title": "Log now", "navigate": "/c"}]),
    ]
    for message in bad:
        assert problems(message), message


def _reminder_message(*, title: str | None, locale: str = "en", base_url: str = "https://between.example") -> bytes:
    return payload.reminder(
        base_url=base_url,
        texts=notification_texts(locale=locale, title=title),
        lang=locale,
        assignment_id=uuid.uuid4(),
        reminder_id=uuid.uuid4(),
        occurrence_id=uuid.uuid4(),
        snooze="s" * 70,
        badge=2,
    )


def test_every_kind_of_message_is_declarative_and_fits_one_record() -> None:
    # The largest a reminder gets: a 120-character record name the client let show, in Spanish,
    # on a long address.
    longest = _reminder_message(title="Ñ" * 120, locale="es", base_url="https://" + "b" * 60 + ".example.org/between")
    messages = [
        _reminder_message(title=None),
        longest,
        payload.nudge(
            base_url="https://between.example",
            texts={"title": "Between", "body": "Your next session is tomorrow."},
            lang="en",
            appointment_id=uuid.uuid4(),
            page="/c/agenda",
        ),
        payload.notifications_work(
            base_url="https://between.example", title="Between", body="Notifications work.", lang="en"
        ),
    ]
    for message in messages:
        assert problems(json.loads(message)) == []
        assert len(message) <= payload.MAX_BYTES
    assert len(longest) < 2048  # room to spare


def test_a_runaway_text_loses_its_words_not_its_link() -> None:
    message = payload.notifications_work(
        base_url="https://between.example", title="Between", body="x" * 5000, lang="en"
    )
    data = json.loads(message)
    assert len(message) <= payload.MAX_BYTES and problems(data) == []
    assert len(data["notification"]["body"]) <= payload.MAX_BODY


def _subscribe(session: Session, peer: PushPeer, keys: VapidKeys, client, settings: Settings) -> str:  # type: ignore[no-untyped-def]
    data = peer.subscribe(keys.public_key)
    subscriptions.add_subscription(
        session, client=client, data={"endpoint": data["endpoint"], "keys": data["keys"]}, settings=settings
    )
    session.commit()
    return str(data["clientHash"])


@pytest.mark.parametrize("detail", [False, True], ids=["discreet", "record-named"])
def test_a_reminder_decrypted_at_the_push_service_is_declarative(
    session: Session,
    engine: Engine,
    push_peer: PushPeer,
    vapid_keys: VapidKeys,
    dispatch_settings: Settings,
    detail: bool,
) -> None:
    settings = dispatch_settings.model_copy(update={"base_url": "https://between.example"})
    dispatcher = Dispatcher(engine=engine, settings=settings, keys=vapid_keys)
    client, assignment, reminder = client_with_reminder(session, now=START)
    client.lock_screen_detail = detail
    client.locale = "es"
    session.add(client)
    session.commit()
    client_hash = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)

    assert dispatch(dispatcher, due_now(reminder)).sent == 1

    [message] = push_peer.messages(client_hash)
    data = json.loads(message)
    assert problems(data) == []
    notification = data["notification"]
    [occurrence] = session.exec(select(ReminderOccurrence)).all()
    record = f"https://between.example/c/record/{assignment.id}?occurrence={occurrence.id}"
    assert notification["navigate"] == record
    assert (notification["lang"], notification["mutable"], notification["app_badge"]) == ("es", True, "1")
    assert notification["tag"] == f"reminder-{reminder.id}"
    assert [action["action"] for action in notification["actions"]] == ["log", "not-today", "snooze"]
    assert [action["title"] for action in notification["actions"]] == ["Anotar ahora", "Hoy no", "Posponer"]
    assert notification["actions"][0]["navigate"] == record
    not_today = urlsplit(notification["actions"][1]["navigate"])
    assert not_today.path == "/c/barriers/new"
    assert parse_qs(not_today.query) == {"assignment": [str(assignment.id)], "occurrence": [str(occurrence.id)]}
    assert parse_qs(urlsplit(notification["actions"][2]["navigate"]).query)["snooze"] == [data["snooze"]]
    # What the service worker needs beside the notification.
    assert (data["reminder"], data["occurrence"]) == (str(reminder.id), str(occurrence.id))
    assert snooze_links.read_snooze_token(secret=settings.secret_key, token=data["snooze"], now=START) == (
        client.id,
        reminder.id,
    )
    # The record's name only when the client asked for it; nothing else of the record, ever.
    assert ("Mood check" in notification["body"]) is detail
    assert ("Mood" in message) is detail


def test_a_record_kept_as_it_happens_offers_no_not_today(
    session: Session, push_peer: PushPeer, vapid_keys: VapidKeys, dispatcher: Dispatcher, dispatch_settings: Settings
) -> None:
    # None of its days is ever missed, so there is no "Not today" to say about it.
    client = make_client(session, timezone="UTC")
    assignment = make_assignment(session, client=client, frequency=Frequency.as_it_happens)
    reminder = reminders.save(
        session, client=client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["20:00"]), now=START
    )
    session.commit()
    client_hash = _subscribe(session, push_peer, vapid_keys, client, dispatch_settings)

    assert dispatch(dispatcher, due_now(reminder)).sent == 1

    [message] = push_peer.messages(client_hash)
    data = json.loads(message)
    assert problems(data) == []
    assert [action["action"] for action in data["notification"]["actions"]] == ["log", "snooze"]


@pytest.mark.parametrize(
    "query",
    [
        {"occurrence": str(uuid.uuid4()), "snooze": "AbC-_x09"},
        {"page": "a b&c=d/é", "n": "1.5~"},
        {"empty": ""},
    ],
)
def test_links_encode_their_query_as_urlencode_does(query: dict[str, str]) -> None:
    assert payload._link("https://between.example.org/", "/c/x", **query) == (
        f"https://between.example.org/c/x?{urlencode(query)}"
    )
