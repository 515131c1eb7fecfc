"""Reminders end to end on a phone: turn them on, pick 08:30 and 21:00 on weekdays, and the
app's dispatcher delivers the due reminder to a real push service, which the therapist sees.

Why the browser's own subscription is stubbed: Chromium's PushManager subscribes at Google's
push service (FCM), which cannot be reached from here, and its endpoint could not be read back
anyway. So the test creates a subscription at the npm web-push-testing peer (which checks the
VAPID signature and decrypts the payload, as a browser's push service would) and makes the
page's `PushManager.prototype.subscribe` return it. Everything else is real: the permission
prompt answered by the context's `permissions=["notifications"]`, the button in js/push.js
calling `subscribe` with the server's VAPID key, the POST to /api/v1/push/subscriptions with
the CSRF header, the settings form, the dispatcher's encryption and signing, and the therapist's
page. The dispatcher runs one round with its clock set to just after the due minute, so the
test checks the right minute without waiting for it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import select

from app.models import OccurrenceStatus, Reminder, ReminderOccurrence
from tests.browser.live import PHONE, LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, dispatch_at, push_until, wait_until
from tests.declarative_push import problems
from tests.peers import PushPeer

ZONE = "America/New_York"

# Runs in the page before its scripts: PushManager.subscribe answers with the peer's
# subscription and notes how it was called (with which applicationServerKey).
STUB_SUBSCRIBE = """
(() => {
  const peer = __PEER__;
  window.__subscribeCalls = [];
  const b64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = function (options) {
    const key = options.applicationServerKey;
    window.__subscribeCalls.push({
      userVisibleOnly: options.userVisibleOnly,
      key: b64url(key instanceof ArrayBuffer ? key : key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength)),
    });
    return Promise.resolve({
      endpoint: peer.endpoint,
      expirationTime: null,
      options: options,
      toJSON() { return { endpoint: peer.endpoint, expirationTime: null, keys: peer.keys }; },
      unsubscribe() { return Promise.resolve(true); },
    });
  };
})();
"""


SHOWN_NOTIFICATION = """navigator.serviceWorker.ready
  .then(registration => registration.getNotifications())
  .then(shown => shown.length > 0 && {
    title: shown[0].title, body: shown[0].body,
    actions: shown[0].actions.map(action => action.action), url: shown[0].data.url,
  })"""


def test_a_client_turns_reminders_on_and_the_due_one_arrives_at_the_push_service(
    browser: Any, live_server: LiveServer, push_peer: PushPeer
) -> None:
    person = client_with_records(live_server, "mood_log")
    public_key = httpx.get(f"{live_server.url}/push/public-key").json()["publicKey"]
    peer_subscription = push_peer.subscribe(public_key)

    # Notifications are allowed at the tap, as the person's answer to the prompt would: allowed
    # from the start, the first opening of Between would already subscribe (js/push.js keepAlive).
    context = browser.new_context(**PHONE, base_url=live_server.url, timezone_id=ZONE)
    try:
        context.add_init_script(script=STUB_SUBSCRIBE.replace("__PEER__", json.dumps(peer_subscription)))
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        # The phone is on New York time, the client's reminders on UTC: Between asks, one tap.
        page.locator("[data-zone-check] button[value=follow]").tap(timeout=WAIT_MS)
        page.locator("[data-zone-check] button[value=follow]").wait_for(state="detached", timeout=WAIT_MS)
        page.get_by_role("link", name="Reminders", exact=True).tap()
        page.wait_for_url("**/c/reminders")

        # Turn reminders on: the permission request and the subscription come from this tap.
        context.grant_permissions(["notifications"], origin=live_server.url)
        page.get_by_role("button", name="Turn on reminders on this phone").tap()
        page.get_by_text("Reminders are on for this phone.").wait_for(timeout=WAIT_MS)
        calls = page.evaluate("window.__subscribeCalls")
        assert calls == [{"userVisibleOnly": True, "key": public_key}]
        page.locator("[data-delivery-health] [data-push-ready=yes]").wait_for(timeout=WAIT_MS)
        assert page.locator("[data-this-device]:not([hidden])").count() == 1

        # 08:30 and 21:00 on weekdays, in the zone the phone reports.
        assert page.get_by_label("Time zone").input_value() == ZONE
        page.get_by_label("Time 1").fill("08:30")
        page.get_by_label("Time 2").fill("21:00")
        for day in ("Sat", "Sun"):
            page.get_by_role("checkbox", name=day, exact=True).uncheck()
        page.get_by_role("button", name="Save reminders").tap()
        page.wait_for_url("**/c/reminders?saved=1", timeout=WAIT_MS)
        upcoming = page.locator("[data-next-reminders]").inner_text()
        assert upcoming.startswith("Next: ") and "08:30" in upcoming and "21:00" in upcoming
        assert "Sat" not in upcoming and "Sun" not in upcoming

        with live_server.session() as session:
            reminder = session.exec(select(Reminder).where(Reminder.client_id == person.client.id)).one()
        assert reminder.next_due_at is not None
        due_local = reminder.next_due_at.astimezone(ZoneInfo(ZONE))
        assert due_local.strftime("%H:%M") in ("08:30", "21:00") and due_local.isoweekday() <= 5

        stats = dispatch_at(live_server, reminder.next_due_at + timedelta(seconds=5))

        assert stats.sent == 1
        [message] = push_peer.messages(peer_subscription["clientHash"])
        payload = json.loads(message)
        assert problems(payload) == []  # Declarative Web Push: Safari shows it even without this worker
        notification = payload["notification"]
        assert notification["title"] == "Between"
        assert notification["body"] == "A moment to check in?"  # discreet: no record name on the lock screen
        with live_server.session() as session:
            [occurrence] = session.exec(
                select(ReminderOccurrence).where(ReminderOccurrence.client_id == person.client.id)
            ).all()
        assert occurrence.status is OccurrenceStatus.sent
        assert occurrence.due_at == reminder.next_due_at
        record = f"{person.record_path('mood_log')}?occurrence={occurrence.id}"
        assert notification["navigate"] == live_server.url + record
        assert notification["actions"][0]["title"] == "Log now" and payload["snooze"]

        # The message the push service decrypted, handed to this phone's service worker the
        # way a push service would (DevTools protocol): it shows the notification with actions.
        shown = push_until(context, page, live_server.url, message, SHOWN_NOTIFICATION)
        assert shown == {
            "title": "Between",
            "body": "A moment to check in?",
            "actions": ["log", "not-today"],  # as many as Chromium shows, in order
            "url": record,
        }
    finally:
        context.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    try:
        live_server.sign_in(desk, person.therapist)
        therapist_page = desk.new_page()
        therapist_page.goto(f"/t/clients/{person.client.id}")
        health = therapist_page.locator("[data-delivery-health]")
        assert health.locator("[data-push-ready=yes]").count() == 1
        delivered = health.locator("[data-last-delivered] time")
        assert delivered.count() == 1
        assert "1 delivered" in health.inner_text()
    finally:
        desk.close()
