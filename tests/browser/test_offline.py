"""Offline-first entries: kept on the phone, sent once, whatever happens to the connection."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.routes import pwa
from app.services import entries
from app.services.device_trust import EVERYTHING
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, open_app, outbox, save_mood, wait_outbox_empty, wait_queued, wait_until

COUNT = 20


def _log_offline(page: Any, person: Any, count: int) -> None:
    for n in range(count):
        # Some from a freshly opened form, some one after another in the same form.
        save_mood(page, person, n % 11, reload=n % 3 == 0)
        wait_queued(page)
        if n == count // 2:
            page.reload()
            page.reload()


def test_twenty_entries_logged_offline_arrive_exactly_once(phone_context: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log", "free_note")
    page = open_app(phone_context, live_server, person)

    phone_context.set_offline(True)
    _log_offline(page, person, COUNT)
    page.goto("/c")  # Today opens offline, from the phone
    # Today lists them once the page has read the outbox.
    wait_until(page, "n => document.querySelectorAll('[data-outbox-list] [data-outbox-item]').length === n", COUNT)
    assert live_server.entry_count(person.client) == 0
    page.reload()
    page.reload()
    assert len(outbox(page)) == COUNT

    phone_context.set_offline(False)
    wait_outbox_empty(page)
    assert live_server.entry_count(person.client) == COUNT
    page.reload()
    page.wait_for_selector("[data-outbox-list]", state="hidden", timeout=WAIT_MS)
    assert live_server.entry_count(person.client) == COUNT


def test_connection_dropping_in_the_middle_of_the_sync_loses_and_doubles_nothing(
    phone_context: Any, live_server: LiveServer
) -> None:
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    phone_context.set_offline(True)
    _log_offline(page, person, COUNT)

    sent: list[str] = []

    def flaky(route: Any) -> None:
        sent.append(route.request.post_data or "")
        if len(sent) in (2, 6, 11):
            route.abort("internetdisconnected")  # never reached the server
        elif len(sent) in (4, 9, 15):
            route.fetch()  # stored by the server, but the answer is lost on the way back
            route.abort("connectionreset")
        else:
            route.continue_()

    phone_context.route("**/api/v1/entries", flaky)
    page.goto("/c")
    phone_context.set_offline(False)
    wait_outbox_empty(page)
    page.reload()
    wait_outbox_empty(page)
    assert live_server.entry_count(person.client) == COUNT
    # Every loss was answered by sending the very same entry again.
    assert len(sent) > COUNT


# Safari has no Background Sync: there the page alone tries again.
NO_BACKGROUND_SYNC = "Object.defineProperty(ServiceWorkerRegistration.prototype, 'sync', { get: () => undefined });"


@pytest.mark.parametrize(
    ("background_sync", "count"), [(True, COUNT), (False, 1)], ids=["background-sync", "page-only-one-entry"]
)
def test_a_hiccup_just_after_coming_back_online_does_not_wait_out_the_offline_tries(
    phone_context: Any, live_server: LiveServer, background_sync: bool, count: int
) -> None:
    # Entries logged offline, each try failing: those tries must not stretch the wait, or the
    # first request back online failing would leave everything waiting for minutes. With one
    # entry and no Background Sync, the page's own timer, set while offline, is the only one.
    if not background_sync:
        phone_context.add_init_script(NO_BACKGROUND_SYNC)
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    phone_context.set_offline(True)
    _log_offline(page, person, count)
    tries: list[str] = []
    back_online = False

    def first_fails(route: Any) -> None:
        tries.append("online" if back_online else "offline")
        if tries.count("online") == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    phone_context.route("**/api/v1/entries", first_fails)
    page.goto("/c")
    # The page's own first try, still offline.
    for _turn in range(300):
        if tries:
            break
        page.wait_for_timeout(100)
    assert tries == ["offline"] * len(tries) and tries
    back_online = True
    phone_context.set_offline(False)
    wait_until(page, "BetweenOutbox.list().then(items => items.length === 0)")
    assert live_server.entry_count(person.client) == count
    assert tries.count("online") == count + 1  # the first one, once more


def test_an_entry_deleted_on_the_server_is_not_sent_again_and_the_person_is_told(
    phone_context: Any, live_server: LiveServer
) -> None:
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    phone_context.set_offline(True)
    save_mood(page, person, 4)
    wait_queued(page)
    [item] = outbox(page)
    phone_context.set_offline(False)
    wait_outbox_empty(page)
    with live_server.session() as session:
        entries.delete(session, client=person.client, access=EVERYTHING, entry_id=uuid.UUID(item["id"]))
        session.commit()

    # The same entry comes back from an old copy of the outbox (a restored phone, say).
    page.evaluate("item => BetweenOutbox.add(item).then(() => BetweenOutbox.sync({force: true}))", item)
    page.goto("/c")
    rejected = page.locator("[data-outbox-item]")
    rejected.wait_for(timeout=WAIT_MS)
    assert "deleted" in rejected.inner_text()
    assert outbox(page)[0]["state"] == "rejected"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if "/api/v1/entries" in request.url else None)
    page.evaluate("BetweenOutbox.sync({force: true})")
    assert requests == []  # out of the retry loop
    rejected.get_by_role("button").click()
    page.wait_for_selector("[data-outbox-list]", state="hidden", timeout=WAIT_MS)
    assert live_server.entry_count(person.client) == 1


def test_a_form_that_changed_while_the_entry_waited_is_explained(phone_context: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    phone_context.set_offline(True)
    save_mood(page, person, 6)
    wait_queued(page)
    page.evaluate(
        """() => BetweenOutbox.list().then(([item]) => {
             item.body.template_version_id = "00000000-0000-4000-8000-000000000000";
             return BetweenOutbox.add(item);
           })"""
    )
    phone_context.set_offline(False)
    page.goto("/c")
    page.wait_for_selector("[data-outbox-item].rejected", timeout=WAIT_MS)
    assert "form has changed" in page.inner_text("[data-outbox-item]")
    assert live_server.entry_count(person.client) == 0


def test_a_service_worker_update_while_entries_wait_loses_nothing(
    phone_context: Any, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    [old_shell] = [name for name in page.evaluate("caches.keys()") if name.startswith("between-shell-")]
    phone_context.set_offline(True)
    for mood in (3, 5, 8):
        save_mood(page, person, mood)
        wait_queued(page)
    # Back online, but the entries cannot get through yet: they wait while the worker updates.
    phone_context.route("**/api/v1/entries", lambda route: route.abort("internetdisconnected"))
    phone_context.set_offline(False)

    # A deploy: the static files (so the shell version) change under the running server.
    deployed = "deployed0001"
    monkeypatch.setattr(pwa, "shell_version", lambda: deployed)
    pwa._worker_config.cache_clear()
    try:
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        wait_until(page, "name => caches.keys().then(names => names.includes(name))", "between-shell-" + deployed)
        wait_until(page, "old => caches.keys().then(names => !names.includes(old))", old_shell)
    finally:
        pwa._worker_config.cache_clear()
    assert len(outbox(page)) == 3
    assert live_server.entry_count(person.client) == 0

    phone_context.unroute("**/api/v1/entries")
    page.goto("/c")
    wait_outbox_empty(page)
    assert live_server.entry_count(person.client) == 3
