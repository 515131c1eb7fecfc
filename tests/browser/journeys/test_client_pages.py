"""The client's pages as a person sees them, on a 360×780 phone and a 1280×800 laptop, in
English and Spanish: the menu in one row, the offline "Saved on this phone" not hidden by the
pinned Save row, "Nothing to report today" away from Save, sliders that show their number,
charts with round ticks and readable dates, a calendar key whose states differ by more than
colour, dates written the person's way, and "Turn on reminders" that never hangs.

Each journey loads its first page once and then only taps, clicks, types and submits.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.core import i18n
from app.models import Assignment, Entry
from app.models.types import utcnow
from tests.browser.journeys.journey import ALL_FOUR, BROWSER_LOCALE, PHONE_BOTH, Journey, combos
from tests.browser.live import PHONE, LiveServer
from tests.browser.people import Person, client_with_records
from tests.browser.steps import wait_outbox_empty, wait_until
from tests.factories import make_entry

# What a box on screen is: {x, y, width, height} in CSS pixels of the viewport.
Box = dict[str, float]

MENU = ("Today", "Entries", "Progress", "Patterns", "Reminders", "Settings")  # the menu's labels (msgctxt "menu")


def _overlap(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def _box(locator: Any) -> Box:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not on the page"
    return box  # type: ignore[no-any-return]


def _menu(page: Any) -> Any:
    return page.get_by_role("navigation", name=re.compile("^(Main|Principal)$"))


def _menu_link(journey: Journey, label: str) -> Any:
    """A link of the client's menu by its visible label: short words ("Avisos" for Reminders)."""
    name = i18n.translations(journey.lang).pgettext("menu", label)
    if label in ("Entries", "Progress", "Patterns"):
        name = journey._(f"My {label.lower()}")  # their names say it whole ("My progress")
    return _menu(journey.page).get_by_role("link", name=name, exact=True)


def _tap(journey: Journey, locator: Any) -> None:
    if journey.size == "phone":
        locator.tap()
    else:
        locator.click()


def _assert_menu_in_one_row(journey: Journey) -> None:
    page = journey.page
    links = _menu(page).get_by_role("link")
    assert links.count() == len(MENU)
    boxes = [_box(links.nth(index)) for index in range(links.count())]
    tops = {round(box["y"]) for box in boxes}
    assert max(tops) - min(tops) <= 1, f"the menu wraps: link tops at {sorted(tops)}"
    for index, box in enumerate(boxes):
        assert box["height"] >= 44 and box["width"] >= 44, f"menu link {index} is {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], f"link {index} is off screen"
    for a, b in itertools.pairwise(boxes):
        assert not _overlap(a, b), "two menu links overlap"
    # Each label is on one line and whole inside its link (no text spilling out).
    spill = page.evaluate(
        """() => Array.from(document.querySelectorAll("nav.client-nav a > span")).filter(span => {
             const link = span.parentElement.getBoundingClientRect(), text = span.getBoundingClientRect();
             const lines = Math.round(text.height / parseFloat(getComputedStyle(span).lineHeight));
             return lines > 1 || text.left < link.left - 0.5 || text.right > link.right + 0.5;
           }).map(span => span.textContent)"""
    )
    assert spill == [], f"menu labels that do not fit: {spill}"
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_the_menu_is_one_row_on_every_client_page(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    page = journey.start("/c", who=person.client, name="client-pages-today")
    _assert_menu_in_one_row(journey)
    current = _menu(page).locator("[aria-current=page]")
    assert current.inner_text().strip() == journey._("Today")

    for label, path, name in (
        ("Entries", "/c/entries", "entries"),
        ("Progress", "/c/progress", "progress"),
        ("Patterns", "/c/patterns", "patterns"),
        ("Reminders", "/c/reminders", "reminders"),
        ("Settings", "/c/settings", "settings"),
    ):
        link = _menu_link(journey, label)
        assert link.inner_text().strip() == i18n.translations(journey.lang).pgettext("menu", label)
        _tap(journey, link)
        page.wait_for_url(f"**{path}")
        journey.arrive(f"client-pages-{name}")
        _assert_menu_in_one_row(journey)
        marked = _menu(page).locator("[aria-current=page]")
        assert marked.count() == 1 and marked.get_attribute("href") == path
        # The current page is marked by more than a colour: a bar under it.
        assert "inset" in marked.evaluate("link => getComputedStyle(link).boxShadow")

    # With text twice as large the menu may take two rows, but the page never scrolls sideways.
    # (Against the screen's width: a phone widens its layout viewport to fit what is too wide.)
    wider = page.evaluate(
        """width => { document.documentElement.style.fontSize = '200%';
                      const extra = document.documentElement.scrollWidth - width;
                      document.documentElement.style.fontSize = ''; return extra; }""",
        page.viewport_size["width"],
    )
    assert wider <= 0, f"{wider}px too wide at 200 % text"


# -- the record form ---------------------------------------------------------------------------


def _open_mood_log(journey: Journey, person: Person, *, name: str) -> Any:
    page = journey.start("/c", who=person.client, name=f"client-pages-{name}-today")
    _tap(journey, page.get_by_role("link", name=re.compile(re.escape(journey._("Mood log")))).first)
    page.wait_for_url("**/c/record/**")
    journey.arrive(f"client-pages-{name}-form")
    return page


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_nothing_to_report_is_far_from_save_and_enter_still_saves(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    page = _open_mood_log(journey, person, name="nothing")
    form = page.locator("form[data-record-form]")
    save = form.get_by_role("button", name=journey._("Save"), exact=True)
    nothing = page.get_by_role("button", name=journey._("Nothing to report today"))
    assert nothing.count() == 1 and save.count() == 1
    # Measured on the page (not the viewport): the pinned row follows the thumb, the button does not.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page_box = """element => { const r = element.getBoundingClientRect();
                    return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height}; }"""
    save_box, nothing_box = save.evaluate(page_box), nothing.evaluate(page_box)
    assert nothing_box["y"] + nothing_box["height"] + 200 < save_box["y"], (nothing_box, save_box)
    # A quieter look than Save's: outlined, not filled.
    styles = "button => getComputedStyle(button).backgroundColor"
    assert nothing.evaluate(styles) != save.evaluate(styles)
    # It is in a form of its own: Enter in a field of the record saves the answers.
    assert nothing.evaluate("button => button.form.hasAttribute('data-record-form')") is False
    assert form.evaluate("form => form.querySelector('button[type=submit]').classList.contains('big')")

    page.locator('label.pill:has(input[name="a.mood"][value="7"])').click()
    page.locator("#f-note").fill("walked by the river")
    before = journey.server.entry_count(person.client)
    page.locator("#f-note").press("Enter")
    page.wait_for_url("**/c?saved=1")
    journey.arrive("client-pages-nothing-saved")
    wait_until(page, "BetweenOutbox.list().then(items => items.length === 0)")
    assert journey.server.entry_count(person.client) == before + 1
    with journey.server.session() as session:
        entry = session.exec(select(Entry).where(Entry.client_id == person.client.id)).one()
        assert entry.nothing_to_report is False and entry.answers.get("mood") == 7

    # And the button itself records "nothing to report", from the top of the form.
    _tap(journey, page.get_by_role("link", name=re.compile(re.escape(journey._("Mood log")))).first)
    page.wait_for_url("**/c/record/**")
    journey.arrive("client-pages-nothing-again")
    _tap(journey, page.get_by_role("button", name=journey._("Nothing to report today")))
    page.wait_for_url("**/c?saved=1")
    journey.arrive("client-pages-nothing-done")
    wait_until(page, "BetweenOutbox.list().then(items => items.length === 0)")
    assert journey.server.entry_count(person.client) == before + 2


@pytest.mark.parametrize("journey", combos(sizes=["phone", "desktop"]), indirect=True)
def test_saved_on_this_phone_is_said_where_the_save_row_never_covers_it(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    page = _open_mood_log(journey, person, name="offline")
    page.locator('label.pill:has(input[name="a.mood"][value="4"])').click()
    # The form is longer than a phone's screen: Save is pinned at the bottom, over the form.
    save = page.locator("form[data-record-form] button.big")
    journey.context.set_offline(True)
    try:
        _tap(journey, save)
        status = page.locator("form[data-record-form] [data-outbox-status][data-kind=waiting]")
        status.wait_for(state="visible")
        journey.arrive("client-pages-offline-saved")
        assert status.inner_text().strip() == journey._("Saved on this phone. It will be sent when you are online.")
        assert status.get_attribute("role") == "status"  # said by screen readers too
        shown, button = _box(status), _box(save)
        viewport = page.viewport_size
        assert shown["y"] >= 0 and shown["y"] + shown["height"] <= viewport["height"], f"off screen: {shown}"
        assert not _overlap(shown, button), (shown, button)
        # Nothing is drawn over it: the middle of each of its lines is the message itself.
        covered = status.evaluate(
            """status => {
                 const r = status.getBoundingClientRect();
                 return [0.25, 0.5, 0.75]
                   .map(f => document.elementFromPoint(r.left + r.width / 2, r.top + r.height * f))
                   .filter(hit => !(hit === status || status.contains(hit)))
                   .map(hit => hit.outerHTML.slice(0, 80));
               }"""
        )
        assert covered == [], covered
        if journey.size == "phone":
            # The page was scrolled up under the pinned row: it really is pinned, and the message with it.
            assert page.evaluate("document.documentElement.scrollHeight") > viewport["height"]
    finally:
        journey.context.set_offline(False)
    wait_outbox_empty(page)
    assert journey.server.entry_count(person.client) == 1


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_an_emotion_slider_shows_its_number_as_it_moves(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    page = _open_mood_log(journey, person, name="slider")
    sad = journey._("Sad")
    _tap(journey, page.locator("label.chip", has_text=re.compile(f"^\\s*{sad}\\s*$")))
    slider = page.get_by_role("slider", name=re.compile(re.escape(journey._("How strong (0–100)"))))
    slider.first.wait_for(state="visible")
    slider = slider.first
    shown = slider.locator("xpath=following-sibling::output")
    assert shown.inner_text().strip() == "50"
    assert slider.get_attribute("aria-valuetext") == journey._("%(value)s of %(most)s", value=50, most=100)
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    assert shown.inner_text().strip() == "60"
    assert slider.get_attribute("aria-valuetext") == journey._("%(value)s of %(most)s", value=60, most=100)
    slider.press("End")
    assert shown.inner_text().strip() == "100"
    # Beside the slider, on its row, and readable.
    number, track = _box(shown), _box(slider)
    assert number["x"] >= track["x"] + track["width"] - 1
    assert number["y"] < track["y"] + track["height"] and track["y"] < number["y"] + number["height"]
    assert float(shown.evaluate("node => parseFloat(getComputedStyle(node).fontSize)")) >= 16
    journey.arrive("client-pages-slider")


# -- progress: charts and the calendar key ----------------------------------------------------


def _a_fortnight_of_moods(server: LiveServer) -> Person:
    """Three moods a day for twelve days (a low among them), two PHQ-9 and two GAD-7."""
    person = client_with_records(server, "mood_log", "phq9", "gad7")
    now = utcnow()
    rng = random.Random(7)
    with server.session() as session:
        for assignment in person.assignments.values():
            row = session.get(Assignment, assignment.id)
            assert row is not None
            row.created_at = now - timedelta(days=30)
            session.add(row)
        session.commit()
        mood = person.assignments["mood_log"]
        for day in range(1, 13):
            for hour, value in zip(
                (2, 8, 14), (rng.randint(4, 8), 1 if day == 6 else rng.randint(3, 9), 6), strict=True
            ):
                make_entry(
                    session,
                    client=person.client,
                    assignment=mood,
                    answers={"mood": value},
                    occurred_at=now - timedelta(days=day, hours=hour),
                )
        for slug, items, day, level in (
            ("phq9", 9, 10, "2"),
            ("phq9", 9, 3, "1"),
            ("gad7", 7, 10, "1"),
            ("gad7", 7, 3, "2"),
        ):
            answers = {f"item{n}": level for n in range(1, items + 1)}
            make_entry(
                session,
                client=person.client,
                assignment=person.assignments[slug],
                answers=answers,
                occurred_at=now - timedelta(days=day),
            )
    return person


TICKS = """svg => {
  const box = svg.getBoundingClientRect();
  const texts = selector => Array.from(svg.querySelectorAll(selector)).map(text => {
    const r = text.getBoundingClientRect();
    return {label: text.textContent.trim(), x: r.x, y: r.y, width: r.width, height: r.height};
  });
  return {title: svg.querySelector("title").textContent,
          box: {x: box.x, y: box.y, width: box.width, height: box.height},
          x: texts("[data-tick=x]"), y: texts("[data-tick=y]"), ranges: svg.querySelectorAll(".trend-range").length};
}"""

SHORT_DATE = {"en": re.compile(r"^\d{1,2} [A-Z][a-z]{2}$"), "es": re.compile(r"^\d{1,2} [a-z]{3,4}\.?$")}


def _inside(inner: Box, outer: Box) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_progress_charts_have_round_ticks_whole_dates_and_the_days_range(journey: Journey) -> None:
    person = _a_fortnight_of_moods(journey.server)
    page = journey.start("/c", who=person.client, name="client-pages-charts-today")
    _tap(journey, _menu_link(journey, "Progress"))
    page.wait_for_url("**/c/progress")
    journey.arrive("client-pages-charts")

    charts = page.locator("svg[data-chart]")
    assert charts.count() == 3
    seen = {}
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        found = chart.evaluate(TICKS)
        seen[found["title"]] = found
        labels = found["x"] + found["y"]
        for label in labels:
            assert _inside(label, found["box"]), f"{found['title']}: {label['label']!r} is cut off"
            if journey.size == "phone":
                assert label["height"] >= 9, f"{found['title']}: {label['label']!r} is too small to read"
        for group in (found["x"], found["y"]):
            for a, b in itertools.pairwise(group):
                assert not _overlap(a, b), f"{found['title']}: {a['label']!r} touches {b['label']!r}"
        days = [label["label"] for label in found["x"]]
        assert len(days) == len(set(days)) >= 2, days
        assert all(SHORT_DATE[journey.lang].match(day) for day in days), days

    by_key = {
        "mood": seen[journey._("Mood")],
        "phq9": seen[journey._("PHQ-9 (depression)")],
        "gad7": seen[journey._("GAD-7 (anxiety)")],
    }
    assert [t["label"] for t in by_key["mood"]["y"]] == ["0", "2", "4", "6", "8", "10"]
    assert [t["label"] for t in by_key["phq9"]["y"]] == ["0", "5", "10", "15", "20", "27"]
    assert [t["label"] for t in by_key["gad7"]["y"]] == ["0", "5", "10", "15", "21"]
    # Each day's lowest to highest behind its mean: the low of 1 shows, and is explained.
    assert by_key["mood"]["ranges"] > 0
    key = page.get_by_text(
        journey._("A dot is the day's average; its line runs from the day's lowest entry to its highest.")
    )
    assert key.is_visible()
    # The data table behind the chart says the same to a screen reader.
    spread = re.escape(journey._("%(low)s to %(high)s", low="LOW", high="HIGH"))
    spread = spread.replace("LOW", "1").replace("HIGH", r"\d+")
    cells = page.locator("figure.chart table td").all_text_contents()
    assert any(re.fullmatch(spread, cell.strip()) for cell in cells), cells


CONTRAST = """([a, b]) => {
  const rgb = text => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [la, lb] = [lum(rgb(a)), lum(rgb(b))].sort((x, y) => y - x);
  return (la + 0.05) / (lb + 0.05);
}"""


@pytest.mark.parametrize("journey", combos(sizes=["phone", "desktop"], langs=["en", "es"]), indirect=True)
def test_the_calendar_key_tells_not_logged_still_open_and_not_expected_apart(journey: Journey) -> None:
    person = _a_fortnight_of_moods(journey.server)
    page = journey.start("/c", who=person.client, name="client-pages-key-today")
    _tap(journey, _menu_link(journey, "Progress"))
    page.wait_for_url("**/c/progress")
    journey.arrive("client-pages-key")
    key = page.locator(".heatmap-key").first
    key.scroll_into_view_if_needed()
    looks = {}
    for state, label in (("missed", "Not logged"), ("expected", "Still open today"), ("not_expected", "Not expected")):
        item = key.locator("li", has_text=journey._(label))
        assert item.is_visible()
        looks[state] = item.locator(".swatch").evaluate(
            """swatch => { const s = getComputedStyle(swatch), card = getComputedStyle(swatch.closest(".card"));
                 return {style: s.borderTopStyle, width: s.borderTopWidth, color: s.borderTopColor,
                         background: s.backgroundColor, card: card.backgroundColor}; }"""
        )
    # Told apart without colour: a different border style or thickness for each.
    shapes = {(look["style"], look["width"]) for look in looks.values()}
    assert len(shapes) == 3, looks
    assert looks["missed"]["style"] == "dashed" and looks["expected"]["style"] == "solid"
    for state, look in looks.items():
        red, green, blue = (float(v) for v in re.findall(r"[\d.]+", look["color"])[:3])
        assert not (red > green + 60 and red > blue + 60), f"{state} is drawn in red: {look}"
        # A border a person can see against the card (WCAG 1.4.11: 3:1).
        assert page.evaluate(CONTRAST, [look["color"], look["card"]]) >= 3, (state, look)
    # And the days themselves look like their key.
    missed_day = page.locator(".heatmap .day.state-missed").first
    if missed_day.count():
        assert missed_day.evaluate("day => getComputedStyle(day).borderTopStyle") == "dashed"


# -- dates the person's way --------------------------------------------------------------------

LONG_DATE = {
    "en": re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$"),  # en-GB: 6 Dec 2026, 14:30
    "es": re.compile(r"^\d{1,2} [a-z]{3,4}\.? \d{4}, \d{1,2}:\d{2}$"),  # es-ES: 6 dic 2026, 14:30
}
DAY = {
    "en": re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b"),
    "es": re.compile(r"\b\d{1,2} [a-z]{3,4}\.? \d{4}\b"),
}


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_dates_are_written_the_way_the_persons_phone_writes_them(journey: Journey) -> None:
    assert BROWSER_LOCALE[journey.lang] in ("en-GB", "es-ES")
    person = client_with_records(journey.server, "mood_log")
    with journey.server.session() as session:
        make_entry(session, client=person.client, assignment=person.assignments["mood_log"], answers={"mood": 5})
    page = journey.start("/c", who=person.client)
    _tap(journey, _menu_link(journey, "Entries"))
    page.wait_for_url("**/c/entries")
    journey.arrive("client-pages-dates-entries")
    when = page.locator("main time[data-local-time]").first.inner_text().strip()
    assert LONG_DATE[journey.lang].match(when), when
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page.locator("main").inner_text())

    # Written by the server (Babel, the browser's region): the devices signed in.
    _tap(journey, _menu_link(journey, "Settings"))
    page.wait_for_url("**/c/settings")
    journey.arrive("client-pages-dates-settings")
    devices = page.locator("main [data-device]").first.inner_text()
    assert DAY[journey.lang].search(devices), devices
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page.locator("main").inner_text())


# -- turning reminders on ------------------------------------------------------------------------

# A push service that never answers (as when the browser cannot reach it): the promise from
# PushManager.subscribe never settles. The real one cannot be made to hang on demand.
NEVER_ANSWERS = "PushManager.prototype.subscribe = function () { return new Promise(() => {}); };"
REFUSES = """PushManager.prototype.subscribe = function () {
  return Promise.reject(new DOMException("Registration failed - permission denied", "NotAllowedError"));
};"""


def _reminders_page(journey: Journey, person: Person) -> Any:
    journey.context.grant_permissions(["notifications"], origin=journey.server.url)
    page = journey.start("/c", who=person.client)
    wait_until(page, "navigator.serviceWorker.controller !== null")
    _tap(journey, _menu_link(journey, "Reminders"))
    page.wait_for_url("**/c/reminders")
    journey.arrive("client-pages-reminders")
    return page


@pytest.mark.parametrize("journey", PHONE_BOTH, indirect=True)
def test_turning_on_reminders_that_never_answer_stops_and_says_what_to_do(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    journey.context.add_init_script(script=NEVER_ANSWERS)
    journey.page.clock.install()
    page = _reminders_page(journey, person)
    button = page.get_by_role("button", name=journey._("Turn on reminders on this phone"))
    status = page.locator("[data-push-status]")
    button.tap()
    wait_until(
        page,
        "text => document.querySelector('[data-push-status]').textContent === text",
        journey._("Turning on reminders…"),
    )
    assert button.is_disabled()
    page.clock.run_for("00:21")  # the 20 seconds Between waits, and one more
    expected = journey._(
        "Turning on reminders is taking too long, so Between stopped waiting. Check that this phone is online, "
        "then tap the button again. If it keeps happening, close Between, open it again and try once more."
    )
    wait_until(page, "text => document.querySelector('[data-push-status]').textContent === text", expected)
    assert status.get_attribute("role") == "status"
    assert button.is_enabled()  # and it can be tried again
    journey.arrive("client-pages-reminders-timeout")


@pytest.mark.parametrize("journey", PHONE_BOTH, indirect=True)
def test_turning_on_reminders_refused_or_offline_says_what_to_do(journey: Journey) -> None:
    person = client_with_records(journey.server, "mood_log")
    journey.context.add_init_script(script=REFUSES)
    page = _reminders_page(journey, person)
    button = page.get_by_role("button", name=journey._("Turn on reminders on this phone"))
    status = "text => document.querySelector('[data-push-status]').textContent === text"
    button.tap()
    wait_until(
        page,
        status,
        journey._(
            "Notifications are blocked for Between on this phone. You can allow them in the browser or phone "
            "settings, then try again."
        ),
    )
    journey.context.set_offline(True)
    try:
        button.tap()
        wait_until(
            page,
            status,
            journey._("This phone seems to be offline. Connect to the internet, then tap the button again."),
        )
        journey.arrive("client-pages-reminders-offline")
    finally:
        journey.context.set_offline(False)


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_on_an_iphone_outside_the_home_screen_it_says_to_add_between_first(
    browser: Any, live_server: LiveServer, lang: str
) -> None:
    """Safari on an iPhone has Web Push only for apps on the Home Screen: in a tab there is no
    PushManager at all. The page says so, and shows where the Share button is."""
    context = browser.new_context(
        **{**PHONE, "user_agent": IPHONE}, base_url=live_server.url, locale=BROWSER_LOCALE[lang]
    )
    context.add_init_script(script="delete window.PushManager;")
    journey = Journey(server=live_server, context=context, size="phone", lang=lang)
    try:
        person = client_with_records(live_server, "mood_log")
        page = journey.start("/c", who=person.client)
        _menu_link(journey, "Reminders").tap()
        page.wait_for_url("**/c/reminders")
        journey.arrive("client-pages-reminders-iphone")
        said = journey._(
            "On an iPhone or iPad, add Between to your home screen first, then open it from there and turn "
            "reminders on."
        )
        assert page.locator("[data-push-status]").inner_text().strip() == said
        steps = page.get_by_role("heading", name=journey._("Put Between on your home screen"))
        assert steps.is_visible()
        # One tap from the message to the steps, which sit further down the page.
        page.get_by_role("link", name=journey._("Show me how to add Between to my home screen")).tap()
        page.wait_for_url("**#ios-install-heading")
        box = _box(steps)
        assert 0 <= box["y"] < page.viewport_size["height"]
        assert not page.get_by_role("button", name=journey._("Turn on reminders on this phone")).is_visible()
        assert journey.unchecked() == []
    finally:
        context.close()
