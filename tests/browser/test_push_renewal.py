"""A subscription that stays alive (js/push.js keepAlive): every opening of Between checks this
browser's subscription (exists, made with the server's VAPID key, known to the server) and
renews it silently, registering the new one and forgetting the one it replaced.

Chromium's own PushManager subscribes at Google's push service, which cannot be reached from
here (see test_reminders_push.py), so the page's PushManager is a small stand-in whose state
lives in localStorage (it outlives a reload, as a browser's subscription does) and whose
subscriptions are real ones at the npm web-push-testing peer, which the server accepts. The
page's script, the server's API and the database are the real ones.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlmodel import col, select

from app.models import PushSubscription
from tests.browser.live import PHONE, LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import wait_until
from tests.peers import PushPeer

# Runs in the page before its scripts. Each subscribe() hands out the next peer subscription;
# getSubscription() answers with the current one (or null), with the key it was made with.
STUB_PUSH_MANAGER = """
(() => {
  const peers = __PEERS__;
  const STATE = "stub-push-manager";
  const read = () => JSON.parse(localStorage.getItem(STATE) || '{"next": 0, "current": null, "calls": []}');
  const write = (state) => localStorage.setItem(STATE, JSON.stringify(state));
  const b64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const bytes = (text) => {
    const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const wrap = (current) => current && {
    endpoint: current.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(current.key) },
    toJSON() { return { endpoint: current.endpoint, expirationTime: null, keys: current.keys }; },
    unsubscribe() {
      const state = read();
      state.current = null;
      write(state);
      return Promise.resolve(true);
    },
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(wrap(read().current)); };
  PushManager.prototype.subscribe = function (options) {
    const state = read();
    const key = options.applicationServerKey;
    const peer = peers[state.next % peers.length];
    state.next += 1;
    state.current = { endpoint: peer.endpoint, keys: peer.keys, key: b64url(key.buffer || key) };
    state.calls.push(state.current.key);
    write(state);
    return Promise.resolve(wrap(state.current));
  };
})();
"""

STATE = "JSON.parse(localStorage.getItem('stub-push-manager') || 'null')"
# The browser's subscription, as if it had been made with a key that is not the server's.
MADE_WITH_ANOTHER_KEY = """() => {
  const state = JSON.parse(localStorage.getItem('stub-push-manager'));
  state.current.key = 'BOLD' + state.current.key.slice(4);
  localStorage.setItem('stub-push-manager', JSON.stringify(state));
}"""


def _live_endpoints(server: LiveServer, client_id: Any) -> list[str]:
    with server.session() as session:
        rows = session.exec(
            select(PushSubscription.endpoint).where(
                PushSubscription.client_id == client_id, col(PushSubscription.expired_at).is_(None)
            )
        )
        return sorted(rows)


def _wait_for_endpoints(page: Any, server: LiveServer, client_id: Any, expected: list[str]) -> None:
    """Waits (on the page's clock, not a timer of its own) until the server holds exactly these."""
    for _ in range(100):
        if _live_endpoints(server, client_id) == sorted(expected):
            return
        page.wait_for_timeout(100)
    assert _live_endpoints(server, client_id) == sorted(expected)


def test_a_dropped_subscription_or_one_made_with_another_key_is_renewed_on_the_next_opening(
    browser: Any, live_server: LiveServer, push_peer: PushPeer
) -> None:
    person = client_with_records(live_server, "mood_log")
    public_key = httpx.get(f"{live_server.url}/push/public-key").json()["publicKey"]
    peers = [push_peer.subscribe(public_key) for _ in range(3)]
    first, second, third = (peer["endpoint"] for peer in peers)

    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        context.add_init_script(script=STUB_PUSH_MANAGER.replace("__PEERS__", json.dumps(peers)))
        live_server.sign_in(context, person.client)
        page = context.new_page()
        # Reminders were allowed on this phone, but it has no subscription: opening Between makes one.
        page.goto("/c")
        wait_until(page, f"{STATE} && {STATE}.current !== null")
        _wait_for_endpoints(page, live_server, person.client.id, [first])
        page.reload()  # opened again, nothing to renew: the same one, still known
        _wait_for_endpoints(page, live_server, person.client.id, [first])
        assert page.evaluate(f"{STATE}.calls") == [public_key]

        # The browser drops the subscription (as Chrome and iOS do, unseen): the next opening
        # subscribes again, and the server forgets the dropped one.
        page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.pushManager.getSubscription()).then(s => s.unsubscribe())"
        )
        page.reload()
        _wait_for_endpoints(page, live_server, person.client.id, [second])

        # A subscription made with a key that is not the server's (keys replaced): renewed too.
        page.evaluate(MADE_WITH_ANOTHER_KEY)
        page.reload()
        _wait_for_endpoints(page, live_server, person.client.id, [third])
        assert page.evaluate(f"{STATE}.calls") == [public_key] * 3
    finally:
        context.close()


def test_a_device_the_client_removed_is_not_renewed(browser: Any, live_server: LiveServer, push_peer: PushPeer) -> None:
    person = client_with_records(live_server, "mood_log")
    public_key = httpx.get(f"{live_server.url}/push/public-key").json()["publicKey"]
    peers = [push_peer.subscribe(public_key) for _ in range(2)]

    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        context.add_init_script(script=STUB_PUSH_MANAGER.replace("__PEERS__", json.dumps(peers)))
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c/reminders")
        _wait_for_endpoints(page, live_server, person.client.id, [peers[0]["endpoint"]])
        page.reload()
        page.locator("[data-this-device]:not([hidden])").wait_for()
        page.locator("[data-push-devices] button", has_text="Remove").tap()
        _wait_for_endpoints(page, live_server, person.client.id, [])
        wait_until(page, f"{STATE}.current === null")
        page.reload()
        page.get_by_role("button", name="Turn on reminders on this phone").wait_for()
        page.wait_for_load_state("networkidle")
        assert _live_endpoints(live_server, person.client.id) == []
        assert page.evaluate(f"{STATE}.calls.length") == 1
    finally:
        context.close()


def test_turning_reminders_on_again_replaces_a_subscription_made_with_another_key(
    browser: Any, live_server: LiveServer, push_peer: PushPeer
) -> None:
    """Notifications allowed again after being reset (so nothing renewed on opening), while the
    server's keys changed meanwhile: the button's new subscription replaces the old one on the
    server too, instead of leaving a dead one beside it."""
    person = client_with_records(live_server, "mood_log")
    public_key = httpx.get(f"{live_server.url}/push/public-key").json()["publicKey"]
    peers = [push_peer.subscribe(public_key) for _ in range(2)]
    first, second = (peer["endpoint"] for peer in peers)

    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        context.add_init_script(script=STUB_PUSH_MANAGER.replace("__PEERS__", json.dumps(peers)))
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c/reminders")
        _wait_for_endpoints(page, live_server, person.client.id, [first])
        context.clear_permissions()
        page.evaluate(MADE_WITH_ANOTHER_KEY)
        page.reload()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("Notification.permission") == "default"
        assert page.evaluate(f"{STATE}.calls.length") == 1  # nothing renewed without permission
        context.grant_permissions(["notifications"])
        page.get_by_role("button", name="Turn on reminders on this phone").tap()
        _wait_for_endpoints(page, live_server, person.client.id, [second])
        assert page.evaluate(f"{STATE}.calls") == [public_key] * 2
    finally:
        context.close()


# In the worker: its push manager subscribes at the next peer subscription (the stand-in of
# Chromium's, as above), and the browser says the old subscription was replaced. Chromium does
# not fire `pushsubscriptionchange` itself, so the event is built here; the worker's handler,
# its re-subscription and its POST to the server are the real ones.
SUBSCRIPTION_CHANGED = """([old, replacement, key]) => {
  const raw = (text) => atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = (text) => Uint8Array.from(raw(text), (c) => c.charCodeAt(0)).buffer;
  PushManager.prototype.subscribe = function () {
    return Promise.resolve({
      endpoint: replacement.endpoint,
      toJSON() { return { endpoint: replacement.endpoint, expirationTime: null, keys: replacement.keys }; },
    });
  };
  const event = new ExtendableEvent("pushsubscriptionchange");
  Object.defineProperty(event, "oldSubscription", {
    value: { endpoint: old.endpoint, options: { applicationServerKey: bytes(key) } },
  });
  try { self.dispatchEvent(event); } catch (error) { /* waitUntil refuses a built event */ }
  return true;
}"""


def test_the_worker_replaces_a_subscription_the_browser_changed(
    browser: Any, live_server: LiveServer, push_peer: PushPeer
) -> None:
    from tests.browser.test_declarative_push import service_worker

    person = client_with_records(live_server, "mood_log")
    public_key = httpx.get(f"{live_server.url}/push/public-key").json()["publicKey"]
    peers = [push_peer.subscribe(public_key) for _ in range(2)]

    context = browser.new_context(**PHONE, base_url=live_server.url, permissions=["notifications"])
    try:
        context.add_init_script(script=STUB_PUSH_MANAGER.replace("__PEERS__", json.dumps(peers[:1])))
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        _wait_for_endpoints(page, live_server, person.client.id, [peers[0]["endpoint"]])
        # The worker proves which client it is with the old endpoint alone: no cookie needed.
        context.clear_cookies()
        worker = service_worker(context)
        assert worker.evaluate(SUBSCRIPTION_CHANGED, [peers[0], peers[1], public_key]) is True
        _wait_for_endpoints(page, live_server, person.client.id, [peers[1]["endpoint"]])
    finally:
        context.close()
