"""A reminder, seen: the dispatcher sends the client's reminder through a real push service
(npm web-push-testing, which decrypts it), the phone's service worker shows it with "Log now"
and "Not today", the client taps "Not today", says what got in the way, and finds on their
Reminders page that the reminder was seen on their phone; the therapist's delivery view says so
too. At both sizes, in both languages.

What cannot be done from outside the browser: tapping a system notification. The worker gets
a `notificationclick` built from the notification it showed (its "seen" beacon is the real
one), and its window goes to the link the notification carries, as a tap would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from app.core import i18n
from app.models import Client, ReminderOccurrence
from app.services import reminders
from app.services.reminders import subscriptions
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import ALL_FOUR, Journey
from tests.browser.people import client_with_records
from tests.browser.steps import dispatch_at, push_until, wait_until
from tests.browser.test_declarative_push import SHOWN, service_worker
from tests.peers import PushPeer

# In the worker: its push manager answers with this phone's endpoint; "Not today" is tapped,
# and the window goes where the notification's button leads.
TAP_NOT_TODAY = """([endpoint]) => {
  PushManager.prototype.getSubscription = () => Promise.resolve({ endpoint });
  return self.registration.getNotifications().then(shown => {
    const notification = shown[0];
    const event = new NotificationEvent("notificationclick", { notification, action: "not-today" });
    try { self.dispatchEvent(event); } catch (error) { /* waitUntil refuses a built event */ }
    return self.clients.matchAll({ type: "window" }).then(windows =>
      windows[0].navigate(notification.data.links["not-today"])).then(() => true);
  });
}"""


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_a_reminder_tapped_not_today_shows_as_seen_to_the_client_and_the_therapist(
    journey: Journey, open_journey: OpenJourney, push_peer: PushPeer
) -> None:
    server, lang, _ = journey.server, journey.lang, journey._
    person = client_with_records(server, "mood_log")
    public_key = httpx.get(f"{server.url}/push/public-key").json()["publicKey"]
    peer = push_peer.subscribe(public_key)
    with server.session() as session:
        client = session.get(Client, person.client.id)
        assert client is not None
        client.locale = lang
        session.add(client)
        phone_device = subscriptions.add_subscription(
            session,
            client=client,
            data={"endpoint": peer["endpoint"], "keys": peer["keys"]},
            user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36",
            settings=server.settings,
        )
        reminder = reminders.save(
            session,
            client=client,
            assignment_id=person.assignments["mood_log"].id,
            data=reminders.ReminderInput(times=["00:00"]),
        )
        session.commit()
        due = reminder.next_due_at
    assert due is not None
    # The reminder falls due (the dispatcher's clock just after it) and reaches the push service.
    assert dispatch_at(server, due + timedelta(seconds=5)).sent == 1
    [message] = push_peer.messages(peer["clientHash"])

    journey.context.grant_permissions(["notifications"], origin=server.url)
    page = journey.start("/c", who=person.client, name="reminder-seen-today")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    worker = service_worker(journey.context)

    # The phone shows it: discreet words, and the two buttons Chromium has room for, in order.
    [shown] = push_until(journey.context, page, server.url, message, SHOWN)
    assert (shown["title"], shown["body"]) == ("Between", _("A moment to check in?"))
    assert shown["actions"] == [["log", _("Log now")], ["not-today", _("Not today")]]

    # "Not today": the check-in for that record opens, and the server hears it was seen.
    assert worker.evaluate(TAP_NOT_TODAY, [peer["endpoint"]]) is True
    page.wait_for_url("**/c/barriers/new?**")
    journey.arrive("reminder-seen-not-today")
    assert _("Mood log") in _words(page.locator("main"))
    page.get_by_role("button", name=_("It was too upsetting to write about")).click()
    page.wait_for_url("**/c?told=1")
    journey.arrive(None)

    # The client's Reminders page: seen on this phone.
    menu = i18n.translations(lang).pgettext("menu", "Reminders")
    page.get_by_role("link", name=menu, exact=True).click()
    page.wait_for_url("**/c/reminders")
    journey.arrive("reminder-seen-health")
    health = page.locator("[data-delivery-health]")
    health.scroll_into_view_if_needed()
    seen = i18n.translations(lang).ngettext("%(num)s seen", "%(num)s seen", 1) % {"num": 1}
    counts = _(
        "Sent: %(sent)s · accepted by the push service: %(accepted)s · seen: %(seen)s", sent=1, accepted=1, seen=1
    )
    assert seen in _words(health.locator("[data-seen]"))
    device = health.locator(f'[data-subscription-id="{phone_device.id}"]')
    assert counts in _words(device.locator("[data-device-counts]"))
    assert _("last seen %(when)s", when="").strip() in _words(device)
    with server.session() as session:
        [occurrence] = session.exec(select(ReminderOccurrence).where(ReminderOccurrence.reminder_id == reminder.id))
        assert occurrence.seen_at is not None

    if journey.size == "desktop":
        # The therapist's delivery view: the same, per device, as a delivery fact.
        desk = open_journey("desktop", lang)
        therapist_page = desk.start(
            f"/t/clients/{person.client.id}", who=person.therapist, name="reminder-seen-therapist"
        )
        card = therapist_page.locator("[data-delivery-health]")
        card.scroll_into_view_if_needed()
        assert seen in _words(card.locator("[data-seen]"))
        assert counts in _words(card.locator(f'[data-subscription-id="{phone_device.id}"] [data-device-counts]'))
        desk.arrive(None)
