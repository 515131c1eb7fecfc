"""Real-browser fixtures: a live server and Debian's Chromium driven by Playwright.

Reusable by every browser test (offline, voice, accessibility):
- `live_server`: a running app (`.url`, `.session()`, `.sign_in(context, who)`), one per run;
- `browser`: Chromium, headless (the new headless mode: full Chromium, not headless-shell);
- `phone_context` (360×780, touch, mobile user agent) and `desktop_context` (1280×800).

Chromium is required in CI (.ci/run installs it); elsewhere these tests are skipped,
loudly, when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.live import DESKTOP, PHONE, LiveServer, chromium_available, launch_options

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SKIP_REASON = (
    "BROWSER TESTS SKIPPED: /usr/bin/chromium is missing (apt-get install chromium chromium-driver to run them)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            # One worker runs all browser tests: one live server and one Chromium per run.
            item.add_marker(pytest.mark.xdist_group("browser"))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not chromium_available():
        terminalreporter.write_sep("!", SKIP_REASON, red=True, bold=True)


@pytest.fixture(scope="session")
def _chromium_required() -> None:
    if chromium_available():
        return
    if IN_CI:
        pytest.fail("Chromium is missing in CI: browser tests may not be skipped there (see .ci/run)")
    pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer.start(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_driver(_chromium_required: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    browser = playwright_driver.chromium.launch(**launch_options())
    yield browser
    browser.close()


@pytest.fixture
def phone_context(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(**PHONE, base_url=live_server.url)
    context.grant_permissions(["microphone"], origin=live_server.url)
    yield context
    context.close()


@pytest.fixture
def desktop_context(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(**DESKTOP, base_url=live_server.url)
    yield context
    context.close()
