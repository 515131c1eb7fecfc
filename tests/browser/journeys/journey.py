"""Walking Between as people do: the first page loaded once, then only clicks, taps, typing
and submits, at two sizes and in two languages, with axe-core on every page reached.

How to write a journey (tests/browser/journeys/test_<topic>.py)::

    from tests.browser.journeys.journey import ALL_FOUR, Journey

    def test_a_client_logs_a_mood(journey: Journey) -> None:       # phone+es and desktop+en
        person = client_with_records(journey.server, "mood_log")
        page = journey.start("/c", who=person.client)              # the only page.goto
        page.get_by_role("link", name=journey._("Mood log")).click()
        page.wait_for_url("**/c/record/**")
        journey.arrive("mood-form")                                # axe + screenshot
        ...

    @pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)   # short journeys: all four
    def test_something_short(journey: Journey) -> None: ...

The API, all of it:

- fixture ``journey`` (tests/browser/journeys/conftest.py): a fresh browser context of one
  size and language, parametrized by default over ``PAIRS`` (phone+es, desktop+en). Override
  with ``@pytest.mark.parametrize("journey", ALL_FOUR | PHONE_BOTH | DESKTOP_BOTH |
  combos(...), indirect=True)``.
- fixture ``open_journey(size, lang, *, javascript=True)``: more journeys in one test (a
  therapist on a laptop and the client on a phone), or one with JavaScript turned off.
- ``journey.start(path, who=None, *, name=None)``: signs ``who`` (a Therapist or Client) in the way a
  sign-in would (cookies), loads ``path`` once, switches the language with the footer's
  language form if the page is not already in the journey's language, and checks the page.
- ``journey.arrive(name)``: call after every step that reaches a page (a link, a submit,
  an error answer). Waits for htmx to settle, asserts zero axe-core violations (WCAG 2.2
  A/AA; with JavaScript off, on a twin of the page) and takes the screenshot ``name``.
  A journey that reaches a page (any new path, boosted navigations included) and never
  calls ``arrive`` there fails at teardown.
- ``journey._(msgid, **values)``: the app's own translation of a msgid in the journey's
  language, for finding buttons and asserting visible text in both languages.
- ``journey.page``, ``journey.context``, ``journey.server``, ``journey.size``, ``journey.lang``.
- ``shoot(page, name)``: a full-page screenshot at ``docs/screenshots/<size>/<lang>/<name>.png``,
  only when ``BETWEEN_SCREENSHOTS=1`` (``make screenshots``). Name screenshots
  ``<topic>-<page>`` so that journeys do not overwrite each other's.
- ``axe(page)``: asserts zero axe-core violations on the page as it is now.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.core import i18n
from app.models import Client, Therapist
from tests.browser import a11y
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.steps import WAIT_MS, wait_until

SIZES: dict[str, dict[str, Any]] = {"phone": PHONE, "desktop": DESKTOP}
LANGS = ("en", "es")
# What a phone or a browser set to that language sends.
BROWSER_LOCALE = {"en": "en-GB", "es": "es-ES"}

# Parameters of the `journey` fixture: "<size>-<lang>", which are also the tests' ids.
PAIRS = ["phone-es", "desktop-en"]
ALL_FOUR = [f"{size}-{lang}" for size in SIZES for lang in LANGS]
PHONE_BOTH = [f"phone-{lang}" for lang in LANGS]
DESKTOP_BOTH = [f"desktop-{lang}" for lang in LANGS]

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def combos(sizes: Iterable[str] = SIZES, langs: Iterable[str] = LANGS) -> list[str]:
    """Every "<size>-<lang>" of the given sizes and languages, for parametrizing `journey`."""
    return [f"{size}-{lang}" for size in sizes for lang in langs]


def screenshots_on() -> bool:
    return os.environ.get("BETWEEN_SCREENSHOTS", "") == "1"


def _size_of(page: Any) -> str:
    width = (page.viewport_size or {}).get("width", DESKTOP["viewport"]["width"])
    return "phone" if width <= PHONE["viewport"]["width"] else "desktop"


def _lang_of(page: Any) -> str:
    lang = page.locator("html").get_attribute("lang") or "en"
    return lang if lang in LANGS else "en"


def shoot(page: Any, name: str) -> Path | None:
    """Save a full-page screenshot to docs/screenshots/<size>/<lang>/<name>.png when
    BETWEEN_SCREENSHOTS=1; otherwise do nothing. Returns the file written, if any."""
    if not screenshots_on():
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        raise ValueError(f"screenshot names are lowercase words joined by - or _: {name!r}")
    path = SCREENSHOTS / _size_of(page) / _lang_of(page) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def axe(page: Any) -> None:
    """Assert that axe-core finds no WCAG 2.x A/AA violation on the page as it is now."""
    violations = a11y.run_axe(page)
    assert not violations, "\n".join(a11y.describe(page.url, violations))


@functools.cache
def _catalog(lang: str) -> Any:
    return i18n.translations(lang)


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


@dataclass
class Journey:
    """One person's browser (a context and its page) at one size and in one language."""

    server: LiveServer
    context: Any
    size: str
    lang: str
    javascript: bool = True
    page: Any = None
    reached: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    _twin: Any = None

    def __post_init__(self) -> None:
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)

        def navigated(frame: Any) -> None:
            # Main-frame navigations, including htmx's boosted ones (history.pushState).
            if frame == self.page.main_frame and frame.url.startswith(self.server.url):
                self.reached.add(_path(frame.url))

        self.page.on("framenavigated", navigated)

    def _(self, message: str, **values: object) -> str:
        """The app's translation of `message` in this journey's language."""
        text = _catalog(self.lang).gettext(message)
        return text % values if values else text

    def start(self, path: str, who: Therapist | Client | None = None, *, name: str | None = None) -> Any:
        """Sign `who` in (if given), load `path` once, switch to the journey's language with
        the footer's form when needed, and check the page (screenshot `name`). Returns the page."""
        if who is not None:
            self.server.sign_in(self.context, who)
        self.page.goto(path)
        self.settle()
        if _lang_of(self.page) != self.lang:
            self.switch_language(self.lang)
        self.arrive(name)
        return self.page

    def switch_language(self, lang: str) -> None:
        """Choose a language in the footer's form and press its button, as a person would."""
        page = self.page
        page.locator("#locale-select").select_option(lang)
        page.locator("form[action='/language'] button[type=submit]").click()
        if self.javascript:
            wait_until(page, "lang => document.documentElement.lang === lang", lang)
        else:
            page.wait_for_load_state("load")
        self.settle()
        assert _lang_of(page) == lang, f"the language form did not switch to {lang}"

    def settle(self) -> None:
        """Wait until the page has loaded and htmx has no request in flight."""
        self.page.wait_for_load_state("load")
        if self.javascript:
            wait_until(
                self.page,
                "document.readyState === 'complete' && !document.querySelector('.htmx-request, .htmx-swapping,"
                " .htmx-settling')",
            )

    def arrive(self, name: str | None) -> None:
        """A page was reached: wait for it, assert zero axe violations, take screenshot `name`."""
        self.settle()
        if self.javascript:
            axe(self.page)
        else:
            self._axe_without_javascript()
        path = _path(self.page.url)
        self.reached.add(path)
        self.checked.add(path)
        if name is not None:
            shoot(self.page, name)

    def _axe_without_javascript(self) -> None:
        # axe-core needs timers, which never fire where scripts are off: check the same
        # document, with the same styles and size, in a twin page whose own scripts are
        # blocked (so it looks as it does without JavaScript).
        if self._twin is None:
            twin_context = self.context.browser.new_context(**SIZES[self.size], base_url=self.server.url)
            twin_context.route("**/*.js", lambda route: route.abort())
            self._twin = twin_context.new_page()
        html = self.page.content().replace("<head>", f'<head><base href="{self.page.url}">', 1)
        self._twin.set_content(html, wait_until="load")
        axe(self._twin)

    def close(self) -> None:
        if self._twin is not None:
            self._twin.context.close()
        self.context.close()

    def unchecked(self) -> list[str]:
        """Paths this journey reached where `arrive` was never called."""
        return sorted(self.reached - self.checked)
