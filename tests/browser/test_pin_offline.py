"""The app PIN holds with no network: past the idle period the phone shows no kept page
with records, offline or not, and entries saved on the phone still wait and are sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.models import Client, DeviceSession
from app.models.types import utcnow
from app.services import pins
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, open_app, outbox, save_mood, wait_outbox_empty, wait_queued, wait_until

SECRET = "walked past the old house again"
PIN = "4821"
# Long enough for one page to load after the PIN is set; the test then waits it out.
IDLE_SECONDS = 12

LOCK_STATE = """() => caches.open("between-lock")
  .then(cache => cache.match("/sw-lock-state"))
  .then(hit => hit ? hit.json() : null)"""
KEPT = """path => caches.open("between-pages").then(cache => cache.match(path)).then(Boolean)"""


def _write_private_entry(page: Any, path: str) -> None:
    page.goto(path)
    page.locator('label.pill:has(input[name="a.mood"][value="3"])').click()
    page.fill('input[name="a.note"]', SECRET)
    page.locator("details.more-options summary").click()
    page.locator('label.choice:has(input[name="visibility"][value="private"])').click()
    page.locator("form[data-record-form] button.big").click()
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)


def _set_pin(server: LiveServer, client: Client) -> None:
    """What /c/pin does: the PIN is set, and the phone that set it starts unlocked."""
    with server.session() as session:
        device = session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)).one()
        pins.set_pin(session, client=session.get(Client, client.id), device=device, pin=PIN, confirm=PIN)
        session.commit()


def _idle(server: LiveServer, client: Client, *, hours: float) -> None:
    with server.session() as session:
        device = session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)).one()
        device.unlocked_at = utcnow() - timedelta(hours=hours)
        session.add(device)
        session.commit()


def test_past_the_idle_period_no_kept_page_shows_records_offline_and_the_outbox_still_sends(
    phone_context: Any, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = client_with_records(live_server, "mood_log")
    page = open_app(phone_context, live_server, person)
    record = person.record_path("mood_log")
    _write_private_entry(page, record)
    page.goto("/c/entries")
    assert SECRET in page.inner_text("main")
    wait_until(page, KEPT, "/c/entries")  # opens offline from here on

    idle_hours = live_server.settings.pin_idle_hours
    monkeypatch.setattr(live_server.settings, "pin_idle_hours", IDLE_SECONDS / 3600)
    _set_pin(live_server, person.client)
    # One page from the server tells the phone when the PIN will be due; the form stays open.
    page.goto(record)
    assert page.url.endswith(record)
    state = wait_until(page, f"() => ({LOCK_STATE})().then(state => state && state.pin && state)")
    assert state["deadline"] > state["noted"]

    phone_context.set_offline(True)
    # The phone sits unused past the idle period (by its own clock, as offline it has no other).
    wait_until(page, f"() => ({LOCK_STATE})().then(state => Date.now() >= state.deadline)", timeout_ms=WAIT_MS * 2)

    # An entry saved in the form that was already open is kept on the phone, lock or not.
    save_mood(page, person, 7, reload=False)
    wait_queued(page)

    for path in ("/c/entries", "/c", record):
        page.goto(path)
        page.wait_for_selector("[data-offline-lock]", timeout=WAIT_MS)
        assert SECRET not in page.content()
        assert "Between is locked" in page.inner_text("h1")
        assert not page.evaluate(KEPT, "/c/entries")  # the kept pages are gone, not just hidden
    assert len(outbox(page)) == 1

    # The usual idle period again, which this phone has also sat unused for, as far as the server knows.
    monkeypatch.setattr(live_server.settings, "pin_idle_hours", idle_hours)
    _idle(live_server, person.client, hours=idle_hours + 1)
    # Back online, the lock page sends what waited (the entry API takes new entries behind the lock).
    phone_context.set_offline(False)
    wait_outbox_empty(page)
    assert live_server.entry_count(person.client) == 2

    # Online, pages come from the server, which asks for the PIN.
    page.goto("/c/entries")
    page.wait_for_url("**/c/unlock", timeout=WAIT_MS)
    assert SECRET not in page.content()
    page.fill("#pin", PIN)
    page.locator("form[action='/c/unlock'] button[type=submit]").click()
    page.wait_for_url("**/c", timeout=WAIT_MS)
    page.goto("/c/entries")
    assert SECRET in page.inner_text("main")
