"""What a person does in the phone app, as reusable steps for browser tests."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from sqlmodel import select

from app.dispatch.dispatcher import Dispatcher
from app.models import Reminder, ReminderOccurrence
from tests.browser.live import LiveServer
from tests.browser.people import Person

# Generous: waiting for a condition, never asserting how long something took.
WAIT_MS = 30_000


def wait_until(page: Any, script: str, arg: Any = None, *, timeout_ms: int = WAIT_MS) -> Any:
    """Poll a page expression until it is truthy (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            value = page.evaluate(script, arg)
        except PlaywrightError as error:
            # A form that redirects replaces the page while it is polled: ask the new page.
            if "Execution context was destroyed" not in str(error):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {script}")
        page.wait_for_timeout(100)


def open_app(context: Any, server: LiveServer, person: Person) -> Any:
    """Sign the client in, open Today and wait until the app works offline."""
    server.sign_in(context, person.client)
    page = context.new_page()
    page.goto("/c")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    paths = [person.record_path(slug) for slug in person.assignments]
    wait_until(
        page,
        """paths => caches.open("between-pages").then(cache =>
             Promise.all(paths.map(path => cache.match(path))).then(hits => hits.every(Boolean)))""",
        ["/c", *paths],
    )
    return page


def save_mood(page: Any, person: Person, mood: int, *, reload: bool = True) -> None:
    """Fill in the mood log and save it; waits until the phone says where the entry is."""
    if reload:
        page.goto(person.record_path("mood_log"))
    page.locator(f'label.pill:has(input[name="a.mood"][value="{mood}"])').click()
    page.locator("form[data-record-form] button.big").click()


def wait_queued(page: Any) -> None:
    page.wait_for_selector("[data-outbox-status][data-kind=waiting]", timeout=WAIT_MS)


def outbox(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("BetweenOutbox.list()")  # type: ignore[no-any-return]


def wait_outbox_empty(page: Any) -> None:
    wait_until(page, "BetweenOutbox.list().then(items => items.length === 0)", timeout_ms=WAIT_MS * 2)


def dispatch_at(server: LiveServer, now: Any) -> Any:
    """One round of the app's own dispatcher at `now` (same settings and VAPID keys as the web app)."""
    dispatcher = Dispatcher(engine=server.engine, settings=server.settings)

    async def one_round() -> Any:
        try:
            return await dispatcher.run_once(now=now)
        finally:
            await dispatcher.aclose()

    # Playwright's sync API keeps an event loop running in this thread: use another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, one_round()).result()


def reminder_due_at(server: LiveServer, assignment_id: Any, due: Any) -> Any:
    """Move the record's reminder to fall due at `due`, run the dispatcher just after it, and
    return the one occurrence it recorded."""
    with server.session() as session:
        reminder = session.exec(select(Reminder).where(Reminder.assignment_id == assignment_id)).one()
        reminder.next_due_at = due
        session.add(reminder)
        session.commit()
        reminder_id = reminder.id
    dispatch_at(server, due + timedelta(seconds=5))
    with server.session() as session:
        [occurrence] = session.exec(
            select(ReminderOccurrence).where(ReminderOccurrence.reminder_id == reminder_id)
        ).all()
        return occurrence


# The worker that will get the push is the active one, done activating: the page is controlled
# already while the worker's activate handler still runs (clients.claim), and Chromium may not
# hand a push to a worker still activating.
_ACTIVATED = "navigator.serviceWorker.ready.then(r => r.active !== null && r.active.state === 'activated')"


def deliver_to_service_worker(context: Any, page: Any, origin: str, data: str) -> None:
    """Hand `data` to the page's service worker as its push service would."""
    wait_until(page, _ACTIVATED)
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    scope = origin.rstrip("/") + "/"

    def ours() -> list[str]:
        return sorted(
            {
                item["registrationId"]
                for item in registrations
                if not item.get("isDeleted") and item.get("scopeURL") == scope
            }
        )

    for _turn in range(100):
        if ours():
            break
        page.wait_for_timeout(100)
    [registration_id] = ours()
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": origin, "registrationId": registration_id, "data": data})
    cdp.detach()


def push_until(context: Any, page: Any, origin: str, data: str, until: str) -> Any:
    """Deliver `data` to the page's service worker and wait for the page condition `until`;
    delivered again, up to three times, when nothing came of it in ten seconds. DevTools'
    delivery answers nothing, and in a browser that has run many tests it now and then
    delivered nothing at all (a push service, too, tries again)."""
    for _again in range(2):
        deliver_to_service_worker(context, page, origin, data)
        try:
            return wait_until(page, until, timeout_ms=10_000)
        except AssertionError:
            continue
    deliver_to_service_worker(context, page, origin, data)
    return wait_until(page, until, timeout_ms=10_000)
