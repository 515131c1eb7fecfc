"""Fixtures for browser journeys: `journey` (parametrized over sizes and languages) and
`open_journey` (for a second person, or a browser with JavaScript off). See journey.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.journeys.journey import BROWSER_LOCALE, PAIRS, SIZES, Journey
from tests.browser.live import LiveServer

OpenJourney = Callable[..., Journey]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # Lets the teardown below know whether the test itself passed.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[PASSED] = report.passed


PASSED = pytest.StashKey[bool]()


@pytest.fixture
def open_journey(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[OpenJourney]:
    """`open_journey(size, lang, *, javascript=True, zone=None)`: a new browser context walked as
    a journey (its clock in `zone`, e.g. "UTC", when given). Each one is closed at the end of the
    test, after checking that every page it reached was checked."""
    opened: list[Journey] = []

    def open_(size: str, lang: str, *, javascript: bool = True, zone: str | None = None) -> Journey:
        assert size in SIZES, size
        context = browser.new_context(
            **SIZES[size],
            base_url=live_server.url,
            locale=BROWSER_LOCALE[lang],
            java_script_enabled=javascript,
            **({"timezone_id": zone} if zone else {}),
        )
        if size == "phone":
            context.grant_permissions(["microphone"], origin=live_server.url)
        journey = Journey(server=live_server, context=context, size=size, lang=lang, javascript=javascript)
        opened.append(journey)
        return journey

    yield open_
    failed = [f"{j.size}/{j.lang}: {path}" for j in opened for path in j.unchecked()]
    for journey in opened:
        journey.close()
    # Only after a journey that went all the way: one that failed has already said why.
    if request.node.stash.get(PASSED, False):
        assert not failed, "pages reached without journey.arrive() (axe never ran there): " + ", ".join(failed)


@pytest.fixture(params=PAIRS)
def journey(request: pytest.FixtureRequest, open_journey: OpenJourney) -> Journey:
    size, lang = str(request.param).split("-")
    return open_journey(size, lang)
