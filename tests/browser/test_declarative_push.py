"""The service worker shows a Declarative Web Push message itself (Chromium has no declarative
push: it always hands the message to the worker), with the buttons the platform allows in the
order "Log now", "Not today", "Snooze", and its tap sends the "seen" beacon.

The message is the dispatcher's own (app/dispatch/payload.py), delivered to the worker through
the DevTools protocol the way a push service would. Chromium offers two buttons
(`Notification.maxActions`); a platform offering more is played by overriding that number in
the worker. A tap on a button cannot be made from outside the browser, so the worker receives
a `notificationclick` event built from the notification it showed: its beacon is the real
one, with the reminder's token and the endpoint the worker reads from its push manager.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import select

from app.dispatch import payload
from app.dispatch.dispatcher import notification_texts
from app.models import OccurrenceStatus, PushSubscription, ReminderOccurrence
from app.models.types import utcnow
from app.services import reminders
from app.services.reminders import snooze_links
from tests.browser.live import PHONE, LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import deliver_to_service_worker, push_until, wait_until
from tests.declarative_push import problems

ENDPOINT = "https://fcm.googleapis.com/fcm/send/declarative-test"

SHOWN = """navigator.serviceWorker.ready
  .then(registration => registration.getNotifications())
  .then(shown => shown.length > 0 && shown.map(item => ({
    title: item.title, body: item.body, tag: item.tag, lang: item.lang,
    actions: item.actions.map(action => [action.action, action.title]), url: item.data.url,
  })))"""

# In the worker: its push manager answers with this device's endpoint, and a tap on `action`.
TAP = """([endpoint, action]) => {
  PushManager.prototype.getSubscription = () => Promise.resolve({ endpoint });
  return self.registration.getNotifications().then(shown => {
    const event = new NotificationEvent("notificationclick", { notification: shown[0], action });
    try { self.dispatchEvent(event); } catch (error) { /* waitUntil refuses a built event */ }
    return shown.length;
  });
}"""


# In the worker: a platform that shows three buttons, and a note of the buttons it is asked for.
WITH_THREE_BUTTONS = """() => {
  Object.defineProperty(Notification, "maxActions", { get: () => 3 });
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    self.askedActions = (options.actions || []).map(action => [action.action, action.title]);
    return show.call(this, title, options);
  };
}"""


def _wait_worker(worker: Any, script: str) -> Any:
    for _turn in range(300):
        value = worker.evaluate(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"still false in the worker: {script}")


def service_worker(context: Any) -> Any:
    for _turn in range(100):
        if context.service_workers:
            return context.service_workers[0]
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("no service worker")


def _reminder_sent(server: LiveServer) -> tuple[Any, ReminderOccurrence, bytes]:
    person = client_with_records(server, "mood_log")
    assignment = person.assignments["mood_log"]
    with server.session() as session:
        reminder = reminders.save(
            session, client=person.client, assignment_id=assignment.id, data=reminders.ReminderInput(times=["09:00"])
        )
        now = utcnow()
        occurrence = ReminderOccurrence(
            reminder_id=reminder.id, client_id=person.client.id, due_at=now, status=OccurrenceStatus.sent, sent_at=now
        )
        session.add(occurrence)
        session.add(PushSubscription(client_id=person.client.id, endpoint=ENDPOINT, p256dh="k", auth="a", sent_count=1))
        session.commit()
        token = snooze_links.snooze_token(
            secret=server.settings.secret_key,
            client_id=person.client.id,
            reminder_id=reminder.id,
            expires=now + timedelta(hours=12),
        )
    message = payload.reminder(
        base_url=server.url,
        texts=notification_texts(locale="en", title=None),
        lang="en",
        assignment_id=assignment.id,
        reminder_id=reminder.id,
        occurrence_id=occurrence.id,
        snooze=token,
        badge=1,
    )
    assert problems(json.loads(message)) == []
    return person, occurrence, message


def test_the_worker_shows_the_declarative_message_with_the_buttons_in_order_and_a_tap_is_seen(
    browser: Any, live_server: LiveServer
) -> None:
    person, occurrence, message = _reminder_sent(live_server)
    assignment = person.assignments["mood_log"]
    record = f"/c/record/{assignment.id}?occurrence={occurrence.id}"
    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        worker = service_worker(context)
        assert worker.evaluate("() => Notification.maxActions") == 2

        [shown] = push_until(context, page, live_server.url, message.decode(), SHOWN)
        assert shown == {
            "title": "Between",
            "body": "A moment to check in?",
            "tag": f"reminder-{occurrence.reminder_id}",
            "lang": "en",
            "actions": [["log", "Log now"], ["not-today", "Not today"]],
            "url": record,
        }

        # Where the platform offers three, the worker asks for all three, in the same order
        # (Chromium itself keeps only the two it can show: the worker's call is what is checked).
        worker.evaluate(WITH_THREE_BUTTONS)
        deliver_to_service_worker(context, page, live_server.url, message.decode())
        asked = _wait_worker(worker, "() => self.askedActions")
        assert asked == [["log", "Log now"], ["not-today", "Not today"], ["snooze", "Snooze"]]

        # "Not today" tapped: the worker tells the server, with the reminder's token and its endpoint.
        assert worker.evaluate(TAP, [ENDPOINT, "not-today"]) == 1
        with live_server.session() as session:
            for _turn in range(300):
                seen = session.get(ReminderOccurrence, occurrence.id)
                assert seen is not None
                session.refresh(seen)
                if seen.seen_at is not None:
                    break
                page.wait_for_timeout(100)
            assert seen.seen_at is not None
            device = session.exec(select(PushSubscription).where(PushSubscription.endpoint == ENDPOINT)).one()
            assert (device.sent_count, device.seen_count) == (1, 1)
    finally:
        context.close()


def test_a_message_without_words_still_shows_something(browser: Any, live_server: LiveServer) -> None:
    # iOS revokes a subscription whose push shows nothing: even an unreadable message shows.
    person = client_with_records(live_server, "mood_log")
    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        [shown] = push_until(context, page, live_server.url, "not json " + str(uuid.uuid4()), SHOWN)
        assert shown["title"] == "Between" and shown["body"].startswith("not json")
        assert shown["actions"] == [] and shown["url"] == "/c"
    finally:
        context.close()
