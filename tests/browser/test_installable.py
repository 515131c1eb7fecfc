"""Between installs like an app: Chromium's own installability check, and the iOS steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.live import PHONE, LiveServer, launch_options
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, wait_until

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_chromium_reports_no_installability_errors_for_the_client_start_page(
    playwright_driver: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    person = client_with_records(live_server, "mood_log")
    # A persistent profile: an incognito window is never installable, whatever the site does.
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"), **launch_options(), **PHONE, base_url=live_server.url
    )
    try:
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        wait_until(page, "navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == []
        assert manifest["url"].endswith("/manifest.webmanifest")
        errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
        assert [error for error in errors if error != "in-incognito"] == []
    finally:
        context.close()


def test_the_service_worker_controls_the_whole_site_and_serves_an_offline_page(
    phone_context: Any, live_server: LiveServer
) -> None:
    person = client_with_records(live_server, "mood_log")
    live_server.sign_in(phone_context, person.client)
    page = phone_context.new_page()
    page.goto("/c")
    scope = wait_until(page, "navigator.serviceWorker.ready.then(r => r.active && r.scope)")
    assert scope == live_server.url + "/"
    caches = page.evaluate("caches.keys()")
    assert "between-pages" in caches and any(name.startswith("between-shell-") for name in caches)
    # The first visit ran before the worker took control: Today is kept in the background.
    wait_until(page, "caches.open('between-pages').then(c => c.match('/c', {ignoreVary: true})).then(r => !!r)")
    phone_context.set_offline(True)
    page.goto("/signin")  # not kept for offline use: the offline page answers
    assert page.locator("h1").inner_text() == "You are offline"
    page.goto("/c")
    assert page.locator("h1", has_text="Today").count() == 1


def test_iphone_safari_shows_how_to_add_between_to_the_home_screen(browser: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log")
    context = browser.new_context(**{**PHONE, "user_agent": IPHONE_SAFARI}, base_url=live_server.url)
    try:
        live_server.sign_in(context, person.client)
        page = context.new_page()
        page.goto("/c")
        hint = page.locator("[data-ios-install]")
        hint.wait_for(state="visible", timeout=WAIT_MS)
        assert "Add to Home Screen" in hint.inner_text()
        hint.get_by_role("button").click()
        page.reload()
        assert hint.is_hidden()  # dismissed stays dismissed
    finally:
        context.close()


def test_android_chromium_shows_no_ios_steps(phone_context: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log")
    live_server.sign_in(phone_context, person.client)
    page = phone_context.new_page()
    page.goto("/c")
    wait_until(page, "document.readyState === 'complete'")
    assert page.locator("[data-ios-install]").is_hidden()
