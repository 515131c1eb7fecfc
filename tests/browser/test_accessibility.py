"""WCAG 2.2 AA in a real browser: axe-core on every page, keyboard-only logging, thumb-sized
targets, 200 % text, reduced motion, dark mode, and the whole app in Spanish.

Every page comes from the application's routes (see tests/browser/a11y.py), filled in with
the demo world: six weeks of records, sessions, a risk flag, a voice note, a PIN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlmodel import select

from app.core.i18n import TRANSLATIONS_DIR
from app.models import Appointment, Assignment, Client, Entry, Therapist
from tests.browser import a11y
from tests.browser.a11y import ANONYMOUS, CLIENT, PIN_CLIENT, THERAPIST, Page, World
from tests.browser.live import DESKTOP, PHONE, LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS

SIZES: dict[str, dict[str, Any]] = {"phone": PHONE, "desktop": DESKTOP}
# Service workers are blocked where pages are only looked at: a cached page must never stand
# in for the one the server renders now (the offline tests cover the worker itself).
LOOK_ONLY = {"service_workers": "block"}


class Browsing:
    """One context that becomes whoever a page needs, by swapping the cookies of a sign-in."""

    def __init__(self, context: Any, server: LiveServer, world: World) -> None:
        self.context, self.server, self.world = context, server, world
        self.page = context.new_page()
        self._cookies: dict[str, list[dict[str, Any]]] = {}
        self._as: str | None = None

    def become(self, visitor: str) -> None:
        if visitor == self._as:
            return
        self.context.clear_cookies()
        if visitor in self._cookies:
            self.context.add_cookies(self._cookies[visitor])
        else:
            who = self.world.person(visitor)
            if who is not None:
                self.server.sign_in(self.context, who)
            self._cookies[visitor] = self.context.cookies()
        self._as = visitor

    def open(self, url: str, visitor: str) -> Any:
        self.become(visitor)
        response = self.page.goto(url)
        assert response is not None
        return response


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    return a11y.demo_world(live_server)


@pytest.fixture(scope="module")
def pages(browser: Any, live_server: LiveServer, world: World) -> list[Page]:
    """The routes that answer their visitor with a whole HTML page."""
    context = browser.new_context(base_url=live_server.url, **LOOK_ONLY)
    browsing = Browsing(context, live_server, world)
    found, not_reached = [], []
    for page in a11y.candidate_pages(live_server.app, world):
        browsing.become(page.visitor)
        response = context.request.get(page.url, max_redirects=0)
        if not a11y.is_html_page(response):
            continue
        if response.status != 200:
            not_reached.append(f"{page} as {page.visitor}: {response.status} {response.headers.get('location', '')}")
        found.append(page)
    context.close()
    assert not_reached == [], "pages the demo world does not reach:\n" + "\n".join(not_reached)
    routes = {page.route for page in found}
    # The heart of the app must be among them, or the enumeration is broken.
    for route in ("/c", "/c/record/{assignment_id}", "/c/progress", "/t", "/t/clients/{client_id}/brief", "/signin"):
        assert route in routes, route
    return found


@pytest.fixture(scope="module")
def phone(browser: Any, live_server: LiveServer, world: World) -> Iterator[Browsing]:
    context = browser.new_context(**PHONE, base_url=live_server.url, **LOOK_ONLY)
    yield Browsing(context, live_server, world)
    context.close()


def _for(pages: list[Page], *visitors: str) -> list[Page]:
    return [page for page in pages if page.visitor in visitors]


# --- axe-core ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_no_wcag_violation_on_any_page_light_or_dark(
    size: str, browser: Any, live_server: LiveServer, world: World, pages: list[Page]
) -> None:
    context = browser.new_context(**SIZES[size], base_url=live_server.url, color_scheme="light", **LOOK_ONLY)
    browsing = Browsing(context, live_server, world)
    problems: list[str] = []
    try:
        for page in pages:
            browsing.open(page.url, page.visitor)
            for scheme in ("light", "dark"):
                # Same page, other palette: contrast is checked in both without loading it twice.
                browsing.page.emulate_media(color_scheme=scheme)
                problems += a11y.describe(f"{size} {scheme} {page}", a11y.run_axe(browsing.page))
    finally:
        context.close()
    assert problems == [], f"{len(problems)} axe violations:\n" + "\n".join(problems)


def _submit_natively(page: Any, form: str, fills: dict[str, str]) -> None:
    """Post the form the way a browser without scripts would, skipping the browser's own checks,
    so the server's validation answers."""
    for selector, value in fills.items():
        page.locator(selector).fill(value)
    with page.expect_navigation(timeout=WAIT_MS):
        page.locator(form).evaluate("form => HTMLFormElement.prototype.submit.call(form)")


ERROR_STATES: list[tuple[str, str, str, dict[str, str]]] = [
    (ANONYMOUS, "/signin", 'form[action="/signin"]', {"#email": "nobody@example.org", "#password": "not the password"}),
    (ANONYMOUS, "/signup", 'form[action="/signup"]', {"#email": "not an address", "#password": "short"}),
    (ANONYMOUS, "/join", 'form[action="/join"]', {"#code": "ZZZZ-ZZZZ"}),
    (CLIENT, "/c/record/{assignment_id}", "form[data-record-form]", {}),
    (CLIENT, "/c/record/{thought_record_id}", "form[data-record-form]", {"#f-situation": "x" * 3000}),
    (CLIENT, "/c/pin", 'form[action="/c/pin"]', {"#pin": "12", "#confirm": "34"}),
    (CLIENT, "/c/delete-account", 'form[action="/c/delete-account"]', {}),
    (CLIENT, "/c/settings", 'form[action="/c/settings"]', {"#timezone": "Mars/Olympus_Mons"}),
    (PIN_CLIENT, "/c/unlock", 'form[action="/c/unlock"]', {"#pin": "0000"}),
    (THERAPIST, "/t/clients/new", 'form[action="/t/clients"]', {}),
    (THERAPIST, "/t/templates/new", "#builder-form", {"#title": ""}),
    (THERAPIST, "/t/clients/{client_id}/sessions", 'form[action$="/sessions"]', {"#session-zone": "Nowhere/Else"}),
    (THERAPIST, "/t/settings", 'form[action="/t/settings"]', {"#digest-hours": "9999"}),
]


def test_axe_finds_no_violation_on_pages_showing_form_errors(
    browser: Any, live_server: LiveServer, world: World
) -> None:
    """Error messages, invalid fields and alerts, on the size each person mostly uses, in both palettes."""
    ids = {**world.ids, "thought_record_id": a11y.assignment_for(live_server, world.client, "thought_record")}
    problems: list[str] = []
    for size, visitors in (("phone", (ANONYMOUS, CLIENT, PIN_CLIENT)), ("desktop", (THERAPIST,))):
        context = browser.new_context(**SIZES[size], base_url=live_server.url, **LOOK_ONLY)
        browsing = Browsing(context, live_server, world)
        try:
            for visitor, route, form, fills in ERROR_STATES:
                if visitor not in visitors:
                    continue
                browsing.open(a11y.fill(route, ids), visitor)
                _submit_natively(browsing.page, form, fills)
                where = f"{size} {route} with errors"
                shown = browsing.page.locator("[role=alert], .field-error, [aria-invalid=true]").count()
                assert shown > 0, f"{where}: no error is shown"
                for scheme in ("light", "dark"):
                    browsing.page.emulate_media(color_scheme=scheme)
                    problems += a11y.describe(f"{where} {scheme}", a11y.run_axe(browsing.page))
        finally:
            context.close()
    assert problems == [], f"{len(problems)} axe violations:\n" + "\n".join(problems)


# --- keyboard only ------------------------------------------------------------------------

# Where the focus is shown: the focused element's own outline, or, for a control drawn by
# its neighbour (the 0-10 pills hide the radio and outline the number next to it), that one's.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const drawn = parseFloat(getComputedStyle(el).opacity) === 0 && el.nextElementSibling ? el.nextElementSibling : el;
  const style = getComputedStyle(drawn);
  const box = drawn.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
  const hit = document.elementFromPoint(x, y);
  const label = el.labels && el.labels[0];
  return {
    tag: el.tagName.toLowerCase(), name: el.name || '', value: el.value || '', type: el.type || '',
    text: (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 60),
    outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
    inView: box.bottom > 0 && box.top < innerHeight,
    covered: !(hit && (el.contains(hit) || hit.contains(el) || drawn.contains(hit) || (label && label.contains(hit)))),
    hit: hit ? hit.outerHTML.slice(0, 80) : '',
  };
}"""


class Keyboard:
    """Tab, Shift+Tab, arrows, Space and Enter only; every stop must show where the focus is."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.stops: list[str] = []

    def focus(self) -> dict[str, Any]:
        state = self.page.evaluate(FOCUS_STATE)
        assert state is not None, f"focus got lost after {self.stops[-3:]}"
        where = f"{state['tag']} {state['name']} {state['value']} {state['text']!r}"
        assert state["outline"] != "none" and state["width"] >= 2, f"{where}: no visible focus outline"
        assert state["inView"] and not state["covered"], f"{where}: the focused element is hidden by {state['hit']}"
        return state

    def press(self, key: str) -> dict[str, Any]:
        self.page.keyboard.press(key)
        state = self.focus()
        self.stops.append(f"{key}->{state['tag']}:{state['name'] or state['text']}")
        return state

    def leave(self, key: str) -> None:
        """A key that opens another page: the focus goes with the page that is left."""
        self.page.keyboard.press(key)
        self.stops.append(f"{key}->(next page)")

    def tab_to(self, matches: Any, *, backwards: bool = False, limit: int = 60) -> dict[str, Any]:
        for _ in range(limit):
            state = self.press("Shift+Tab" if backwards else "Tab")
            if matches(state):
                return state
        raise AssertionError(f"never reached by keyboard; stops: {self.stops[-limit:]}")


def _keyboard_client(context: Any, server: LiveServer) -> tuple[Any, Any]:
    person = client_with_records(server, "mood_log", "thought_record")
    server.sign_in(context, person.client)
    page = context.new_page()
    page.goto("/c")
    return person, page


def _saved(page: Any) -> None:
    page.wait_for_url("**/c?saved=1", timeout=WAIT_MS)
    page.get_by_role("status").filter(has_text=re.compile("Saved")).wait_for(timeout=WAIT_MS)


def _entries(server: LiveServer, assignment: Any) -> list[Entry]:
    with server.session() as session:
        return list(session.exec(select(Entry).where(Entry.assignment_id == assignment.id)).all())


def test_a_mood_and_a_thought_record_are_logged_with_the_keyboard_alone(
    phone_context: Any, live_server: LiveServer
) -> None:
    person, page = _keyboard_client(phone_context, live_server)
    keys = Keyboard(page)

    # The skip link comes first and lands in the main content.
    first = keys.press("Tab")
    assert first["text"] == "Skip to content"
    keys.press("Enter")
    keys.tab_to(lambda s: s["tag"] == "a" and s["text"].startswith("Mood log"))
    keys.leave("Enter")
    page.wait_for_url("**/c/record/**")

    # Into the 0-10 scale: the arrows move the choice, as in any radio group.
    keys.tab_to(lambda s: s["name"] == "a.mood")
    for _ in range(7):
        state = keys.press("ArrowRight")
    assert state["value"] == "7" and page.locator('input[name="a.mood"]:checked').input_value() == "7"
    keys.tab_to(lambda s: s["tag"] == "button" and s["text"] == "Save")
    # Back one stop and forth again: Shift+Tab walks the same path the other way.
    keys.press("Shift+Tab")
    keys.tab_to(lambda s: s["tag"] == "button" and s["text"] == "Save")
    keys.leave("Enter")
    _saved(page)
    [mood] = _entries(live_server, person.assignments["mood_log"])
    assert mood.answers["mood"] == 7

    keys.tab_to(lambda s: s["tag"] == "a" and s["text"].startswith("Thought record"))
    keys.leave("Enter")
    page.wait_for_url("**/c/record/**")
    keys.tab_to(lambda s: s["name"] == "a.situation")
    page.keyboard.type("Bus was late before the interview.")
    keys.tab_to(lambda s: s["name"] == "a.automatic_thought")
    page.keyboard.type("I always ruin things.")
    # An emotion is a chip: Space picks it and opens its intensity slider, moved by arrows.
    keys.tab_to(lambda s: s["name"] == "a.emotions" and s["value"] == "anxious")
    keys.press("Space")
    keys.tab_to(lambda s: s["name"] == "a.emotions.anxious")
    for _ in range(4):
        keys.press("ArrowRight")
    # "When it happened, and who sees it" opens with Enter; arrows choose "discuss in session".
    keys.tab_to(lambda s: s["tag"] == "summary")
    keys.press("Enter")
    keys.tab_to(lambda s: s["name"] == "visibility")
    keys.press("ArrowDown")
    keys.tab_to(lambda s: s["tag"] == "button" and s["text"] == "Save")
    keys.leave("Enter")
    _saved(page)
    [record] = _entries(live_server, person.assignments["thought_record"])
    assert record.answers["situation"] == "Bus was late before the interview."
    assert record.answers["automatic_thought"] == "I always ruin things."
    assert record.answers["emotions"] == {"anxious": 70}
    assert record.visibility == "discuss"


# --- thumbs, text size, motion ------------------------------------------------------------

# Targets a thumb has to hit. Inline links in running text are exempt (WCAG 2.5.8), and so
# is what nobody can see (a visually hidden element is no target).
SMALL_TARGETS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const small = [];
  const candidates = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, label');
  for (const el of candidates) {
    if (el.tagName === 'LABEL' && !el.querySelector('input, select, textarea')) continue;
    if (el.closest('[hidden]') || !el.checkVisibility({visibilityProperty: true})) continue;
    // A control inside a label: the label is the target.
    if (el.matches('input') && el.closest('label')) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 && box.height <= 1) continue;
    const style = getComputedStyle(el);
    if (el.tagName === 'A' && style.display === 'inline') {
      const block = el.parentElement.closest('p, li, dd, td, span');
      if (block && block.textContent.trim() !== el.textContent.trim()) continue;
    }
    if (box.width < 44 - 0.5 || box.height < 44 - 0.5) {
      const name = (el.innerText || el.getAttribute('aria-label') || el.name || el.id || '').trim().slice(0, 40);
      small.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className.split(' ').join('.') : ''}`
        + ` "${name}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}"""


def test_every_target_on_the_phone_pages_is_thumb_sized(phone: Browsing, pages: list[Page]) -> None:
    problems = []
    for page in _for(pages, ANONYMOUS, CLIENT, PIN_CLIENT):
        phone.open(page.url, page.visitor)
        problems += [f"{page}: {small}" for small in phone.page.evaluate(SMALL_TARGETS)]
    assert problems == [], "targets smaller than 44×44 CSS px:\n" + "\n".join(problems)


OVERFLOW = """width => {
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && el.checkVisibility()) wide.push(el);
  }
  // The outermost culprits only: their children overflow with them.
  return wide.filter(el => !wide.includes(el.parentElement)).slice(0, 5)
    .map(el => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`);
}"""


@pytest.mark.parametrize("size", SIZES)
def test_pages_reflow_with_text_at_200_percent(
    size: str, browser: Any, live_server: LiveServer, world: World, pages: list[Page]
) -> None:
    """Text twice as large (the root size, which every rem in the stylesheet follows) and
    nothing needs scrolling sideways: phone pages on the phone, the therapist's on a desktop."""
    visitors = (ANONYMOUS, CLIENT, PIN_CLIENT) if size == "phone" else (THERAPIST,)
    width = SIZES[size]["viewport"]["width"]
    context = browser.new_context(**SIZES[size], base_url=live_server.url, **LOOK_ONLY)
    browsing = Browsing(context, live_server, world)
    problems = []
    try:
        for page in _for(pages, *visitors):
            browsing.open(page.url, page.visitor)
            # Against the screen's width: a phone browser widens its layout viewport (and
            # innerWidth) to fit content that is too wide, instead of scrolling sideways.
            overflow = browsing.page.evaluate(
                """width => { document.querySelectorAll('details').forEach(d => { d.open = true; });
                              document.documentElement.style.fontSize = '200%';
                              return document.documentElement.scrollWidth - width; }""",
                width,
            )
            if overflow > 1:
                problems.append(f"{page}: {overflow}px too wide, {browsing.page.evaluate(OVERFLOW, width)}")
    finally:
        context.close()
    assert problems == [], "horizontal scrolling at 200 % text:\n" + "\n".join(problems)


MOTION = """() => {
  // Whatever moves tomorrow (an htmx swap, a new transition) stops when asked: try one.
  const probe = document.createElement('div');
  probe.style.transition = 'opacity 2s';
  probe.style.animation = 'spin 2s infinite';
  document.body.append(probe);
  const moving = [];
  for (const el of document.querySelectorAll('*')) {
    for (const pseudo of [null, '::before', '::after']) {
      const style = getComputedStyle(el, pseudo);
      const durations = (style.transitionDuration + ',' + style.animationDuration).split(',').map(parseFloat);
      const moves = style.animationName !== 'none' || durations.some(d => d > 0);
      if (moves) moving.push(el === probe ? 'probe' : el.tagName);
    }
  }
  probe.remove();
  return {moving, scroll: getComputedStyle(document.documentElement).scrollBehavior};
}"""


def test_reduced_motion_stops_every_transition_and_animation(
    browser: Any, live_server: LiveServer, world: World, pages: list[Page]
) -> None:
    context = browser.new_context(**PHONE, base_url=live_server.url, reduced_motion="reduce", **LOOK_ONLY)
    browsing = Browsing(context, live_server, world)
    try:
        for route in ("/c", "/c/record/{assignment_id}", "/c/progress", "/t/clients/{client_id}/brief"):
            page = next(page for page in pages if page.route == route)
            browsing.open(page.url, page.visitor)
            motion = browsing.page.evaluate(MOTION)
            assert motion == {"moving": [], "scroll": "auto"}, page
        # And without the preference the probe does move: the check above can see motion.
        browsing.page.emulate_media(reduced_motion="no-preference")
        assert "probe" in browsing.page.evaluate(MOTION)["moving"]
    finally:
        context.close()


# --- Spanish ------------------------------------------------------------------------------


def _english_msgids() -> tuple[set[str], list[re.Pattern[str]]]:
    """English strings of the catalog whose Spanish differs: exact ones, and patterns for
    those with placeholders."""
    with (TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="es")
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in map(str, ids):
            if not any(strings) or english in strings:
                continue
            english = " ".join(english.split())
            if "%(" in english:
                pieces = re.split(r"%\(\w+\)[sdif]", english)
                # "%(n)s of %(total)s" would match any sentence with "of" in it: only strings
                # with words of their own can be recognised once filled in.
                if len(re.findall(r"[A-Za-z]{3,}", "".join(pieces))) >= 2:
                    patterns.append(re.compile(".+?".join(re.escape(piece) for piece in pieces)))
            else:
                exact.add(english)
    return exact, patterns


def _user_content(server: LiveServer) -> set[str]:
    """What people wrote themselves (answers, instructions, names, notes): never translated."""
    texts: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.add(" ".join(value.split()))
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    with server.session() as session:
        for entry in session.exec(select(Entry)):
            collect(entry.answers)
        for row in session.exec(select(Assignment.instructions)):
            collect(row)
        for row in session.exec(select(Client.display_name)):
            collect(row)
        for row in session.exec(select(Therapist.display_name)):
            collect(row)
        for row in session.exec(select(Appointment.notes)):
            collect(row)
    return texts


# Visible text, accessible names and hints, the title: everything a person reads or hears.
VISIBLE_TEXT = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text && node.parentElement.checkVisibility({visibilityProperty: true})
        && !node.parentElement.closest('script, style, [data-user-content]')) texts.push(text);
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      if (el.hasAttribute(name)) texts.push(el.getAttribute(name).trim());
    }
  }
  return {lang: document.documentElement.lang, texts};
}"""


def test_a_spanish_browser_gets_every_page_in_spanish(
    browser: Any, live_server: LiveServer, world: World, pages: list[Page]
) -> None:
    exact, patterns = _english_msgids()
    theirs = _user_content(live_server)
    context = browser.new_context(**PHONE, base_url=live_server.url, locale="es-ES", **LOOK_ONLY)
    browsing = Browsing(context, live_server, world)
    problems = []
    try:
        for page in pages:
            browsing.open(page.url, page.visitor)
            seen = browsing.page.evaluate(VISIBLE_TEXT)
            if seen["lang"] != "es":
                problems.append(f"{page}: <html lang={seen['lang']!r}>")
            for text in seen["texts"]:
                if text in theirs:
                    continue
                if text in exact or any(pattern.fullmatch(text) for pattern in patterns):
                    problems.append(f"{page}: {text!r}")
    finally:
        context.close()
    assert problems == [], "English left on Spanish pages:\n" + "\n".join(problems)
