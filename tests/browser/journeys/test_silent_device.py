"""A silent phone: its push service took the client's last five reminders, one a day, and
nothing showed one appeared there. The therapist's delivery view tells it as a delivery problem,
not as the client's doing; the client, on their Reminders page on that phone, sends a test and
sets the phone up again with one tap, after which the server holds the fresh subscription only.
At both sizes, in both languages.

The phone's PushManager is the stand-in of tests/browser/test_push_renewal.py (Chromium's own
subscribes at Google's push service, unreachable here), handing out real subscriptions at the
npm web-push-testing peer, so the test notification is really sent and accepted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.models import Client
from app.models.types import utcnow
from app.services import reminders
from app.services.reminders import subscriptions
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import ALL_FOUR, Journey
from tests.browser.people import client_with_records
from tests.browser.test_push_renewal import STUB_PUSH_MANAGER, _live_endpoints, _wait_for_endpoints
from tests.factories import make_silent
from tests.peers import PushPeer

DAY = timedelta(days=1)

# Before the page's scripts, once: this phone is subscribed (at the first peer subscription,
# with the server's key) and knows which of the client's devices it is.
THIS_PHONE = """
(() => {
  if (localStorage.getItem("stub-push-manager")) { return; }
  const phone = __PHONE__;
  localStorage.setItem("stub-push-manager", JSON.stringify(
    { next: 1, current: { endpoint: phone.endpoint, keys: phone.keys, key: phone.key }, calls: [] }));
  localStorage.setItem("between-push-id", phone.id);
  localStorage.setItem("between-push-endpoint", phone.endpoint);
})();
"""


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_a_silent_phone_is_a_delivery_problem_and_the_client_sets_it_up_again(
    journey: Journey, open_journey: OpenJourney, push_peer: PushPeer
) -> None:
    server, lang, _ = journey.server, journey.lang, journey._
    person = client_with_records(server, "mood_log")
    public_key = httpx.get(f"{server.url}/push/public-key").json()["publicKey"]
    peers = [push_peer.subscribe(public_key) for _ in range(2)]
    now = utcnow()
    with server.session() as session:
        client = session.get(Client, person.client.id)
        assert client is not None
        client.locale = lang
        client.email = "client@example.org"
        client.email_fallback = True
        phone = subscriptions.add_subscription(
            session,
            client=client,
            data={"endpoint": peers[0]["endpoint"], "keys": peers[0]["keys"]},
            user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36",
            settings=server.settings,
        )
        reminder = reminders.save(
            session,
            client=client,
            assignment_id=person.assignments["mood_log"].id,
            data=reminders.ReminderInput(times=["09:00"]),
        )
        make_silent(session, phone=phone, reminder=reminder, at=now)
        session.add(client)
        session.commit()
        phone_id = str(phone.id)
    silent_words = _("Reminders may not be showing on this device.")

    if journey.size == "desktop":
        # The therapist: a delivery problem, in calm words, with no fix of theirs to press.
        desk = open_journey("desktop", lang)
        therapist_page = desk.start(f"/t/clients/{person.client.id}", who=person.therapist, name="silent-therapist")
        card = therapist_page.locator("[data-delivery-health]")
        card.scroll_into_view_if_needed()
        notice = card.locator(f'[data-subscription-id="{phone_id}"] [data-silent-device]')
        assert silent_words in _words(notice)
        assert _("Meanwhile their reminders also go out by email, as they chose.") in _words(notice)
        assert notice.locator("[data-push-renew]").count() == 0
        assert therapist_page.locator(".alert [data-silent-device], [data-silent-device] .alert").count() == 0
        desk.arrive(None)

    # The client, on the silent phone.
    journey.context.grant_permissions(["notifications"], origin=server.url)
    journey.context.add_init_script(script=STUB_PUSH_MANAGER.replace("__PEERS__", json.dumps(peers)))
    this_phone = {"id": phone_id, "endpoint": peers[0]["endpoint"], "keys": peers[0]["keys"], "key": public_key}
    journey.context.add_init_script(script=THIS_PHONE.replace("__PHONE__", json.dumps(this_phone)))
    page = journey.start("/c/reminders", who=person.client, name="silent-client")
    health = page.locator("[data-delivery-health]")
    notice = health.locator(f'[data-subscription-id="{phone_id}"] [data-silent-device]')
    notice.scroll_into_view_if_needed()
    assert silent_words in _words(notice)
    assert _("Until then, your reminders also come by email.") in _words(notice)
    # Opening Between on its own is not a sign reminders show: still the same, still silent.
    assert _live_endpoints(server, person.client.id) == [peers[0]["endpoint"]]

    # A test first: it goes to the phone's push service, which takes it.
    notice.get_by_role("button", name=_("Send a test")).click()
    health.locator("[data-test-outcome]").wait_for()
    sent = journey._("Sent to %(num)s device. It should appear in a moment.", num=1)
    assert sent in _words(health.locator("[data-test-outcome]"))
    journey.arrive("silent-client-test-sent")

    # Then the fix in one tap: a fresh subscription, the old one forgotten, the notice gone.
    renew = health.get_by_role("button", name=_("Set up this device again"))
    renew.click()
    _wait_for_endpoints(page, server, person.client.id, [peers[1]["endpoint"]])
    status = page.locator("[data-push-setup] [data-push-status]")
    status.get_by_text(_("Done: reminders are set up again on this device. Send a test to check.")).wait_for()
    page.locator("[data-silent-device]").wait_for(state="detached")
    assert page.locator("[data-this-device]:not([hidden])").count() == 1
    journey.arrive("silent-client-fixed")
