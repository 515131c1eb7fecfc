"""What the client's pages say before any script runs: dates in the person's language and
region, "Nothing to report today" in a form of its own, sliders with their number, the day's
range on a chart, the words for every way turning reminders on can fail, the short menu."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import i18n
from app.models import Entry
from app.models.types import utcnow
from app.web.presenters import localdates
from tests.factories import library_template, make_assignment, make_client, make_entry, signed_in
from tests.routes.insights_helpers import assign_since, entry_at

# A device signed in on 6 December 2026, 14:30 UTC.
SIGNED_IN = datetime(2026, 12, 6, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "accept", "expected"),
    [
        ("en", "en-GB,en;q=0.9", "en_GB"),
        ("en", "en-US,en;q=0.9", "en_US"),
        ("en", "en", ""),
        ("es", "es-ES,es;q=0.9,en;q=0.5", "es_ES"),
        ("es", "es-419", "es_419"),
        # A tag in the page's language decides; otherwise the browser's first region.
        ("en", "de-DE,en-GB;q=0.8", "en_GB"),
        ("en", "de-DE,en;q=0.8", "en_DE"),
        ("es", "en-GB", ""),  # Babel has no es_GB: Spanish as it is
        ("en", "en-XX", ""),
        ("en", "", ""),
        ("en", None, ""),
        ("en", "en-GB;q=0,en-US", "en_US"),
        ("en", "zh-Hant-TW,en-AU;q=0.5", "en_AU"),
        ("en", ",,;q=,en-gb", "en_GB"),
        ("en", "en-GB;q=abc", ""),  # a quality that is not a number counts as "not wanted"
    ],
)
def test_the_region_comes_from_the_browser(language: str, accept: str | None, expected: str) -> None:
    assert i18n.pick_regional_locale(language, accept) == expected


@pytest.mark.parametrize(
    ("language", "regional", "day", "moment"),
    [
        ("en", "en_GB", "6 Dec 2026", "6 Dec 2026, 09:30"),
        ("en", "en_US", "Dec 6, 2026", "Dec 6, 2026, 9:30\u202fAM"),
        ("en", "", "Dec 6, 2026", "Dec 6, 2026, 9:30\u202fAM"),
        ("es", "es_ES", "6 dic 2026", "6 dic 2026, 9:30"),
        ("es", "en_GB", "6 dic 2026", "6 dic 2026, 9:30"),  # another language's region is ignored
    ],
)
def test_local_dates_follow_language_region_and_zone(language: str, regional: str, day: str, moment: str) -> None:
    with i18n.using_locale(language):
        i18n.set_regional_locale(regional)
        try:
            assert localdates.local_date(SIGNED_IN, "America/New_York") == day
            assert localdates.local_date(date(2026, 12, 6)) == day
            # Newer CLDR data puts a narrow no-break space before AM/PM.
            written = localdates.local_date_time(SIGNED_IN, "America/New_York")
            assert written in (moment, moment.replace("\u202f", " "))
        finally:
            i18n.set_regional_locale("")


@pytest.mark.parametrize(
    ("accept", "cookie", "expected", "unexpected"),
    [
        ("en-GB,en;q=0.9", None, r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b"),
        ("en-US,en;q=0.9", None, r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b", r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b"),
        ("en-GB,en;q=0.9", "es", r"\b\d{1,2} [a-z]{3,4}\.? \d{4}\b", r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b"),
    ],
)
def test_pages_write_dates_the_persons_way(web, session, accept, cookie, expected, unexpected) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session, timezone="Europe/London")
    assignment = make_assignment(session, client=client)
    make_entry(session, client=client, assignment=assignment, answers={"mood": 4})
    phone = signed_in(web, session, client)
    if cookie:
        phone.cookies.set("between_lang", cookie)
    for path in ("/c/settings", "/c/entries", "/c/privacy"):
        html = phone.get(path, headers={"Accept-Language": accept}).text
        main = html[html.index("<main") : html.index("</main>")]
        assert not re.search(r"\d{4}-\d{2}-\d{2}", re.sub(r'(datetime|value|min|max)="[^"]*"', "", main)), path
        assert re.search(expected, main), (path, main[:2000])
        assert not re.search(unexpected, main), path


def test_nothing_to_report_is_a_form_of_its_own_at_the_top(web, session) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    assignment = make_assignment(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(web, session, client)
    html = phone.get(f"/c/record/{assignment.id}").text
    nothing = html.index("Nothing to report today")
    record_form = html.index("data-record-form")
    assert nothing < record_form  # above the record form, far from Save
    form = html[record_form : html.index("</form>", record_form)]
    assert "nothing_to_report" not in form  # the record form's only submit button is Save
    assert form.count('type="submit"') == 1 and "button big" in form
    # Without JavaScript the small form records "nothing to report" on its own.
    small = html[html.rindex("<form", 0, nothing) : html.index("</form>", nothing)]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', small))
    assert set(fields) >= {"csrf_token", "entry_id", "assignment_id", "template_version_id", "nothing_to_report"}
    saved = phone.post(f"/c/record/{assignment.id}", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    entry = session.exec(select(Entry)).one()
    assert entry.nothing_to_report is True and entry.answers == {}


@pytest.mark.parametrize(("lang", "valuetext"), [("en", "50 of 100"), ("es", "50 de 100")])
def test_an_emotion_slider_carries_its_number(web, session, lang: str, valuetext: str) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    assignment = make_assignment(session, client=client, template=library_template(session, "mood_log"))
    phone = signed_in(web, session, client)
    phone.cookies.set("between_lang", lang)
    html = phone.get(f"/c/record/{assignment.id}").text
    slider = re.search(r'<input id="(f-emotions-sad)" type="range"[^>]*>', html)
    assert slider is not None
    assert f'aria-valuetext="{valuetext}"' in slider.group(0)
    assert re.search(r'<output class="slider-value" for="f-emotions-sad" aria-hidden="true">50</output>', html)


def test_a_mood_chart_shows_each_days_range_and_round_ticks(web, session) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    mood = assign_since(session, client, days=20, slug="mood_log")
    day = (utcnow() - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    for hours, value in ((0, 2), (2, 8), (4, 5)):
        entry_at(session, client, mood, day + timedelta(hours=hours), answers={"mood": value})
    html = signed_in(web, session, client).get("/c/progress").text
    assert 'class="trend-range"' in html
    assert "A dot is the day&#39;s average" in html or "A dot is the day's average" in html
    assert ">2 to 8</td>" in html  # the data table says the range too
    ticks = re.findall(r'data-tick="y">([^<]+)<', html)
    assert ticks == ["0", "2", "4", "6", "8", "10"]
    assert "2.5" not in ticks and "7.5" not in ticks


def test_the_reminder_button_has_words_for_every_way_it_can_fail(web, session) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    phone = signed_in(web, session, client)
    for lang in ("en", "es"):
        phone.cookies.set("between_lang", lang)
        html = phone.get("/c/reminders").text
        setup = html[html.index("data-push-setup") : html.index("data-push-status")]
        for name in ("timeout", "offline", "service", "signin", "denied", "ios", "unsupported", "failed"):
            said = re.search(rf'data-msg-{name}="([^"]+)"', setup)
            assert said and len(said.group(1)) > 20, name


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("en", ["Today", "Entries", "Progress", "Patterns", "Reminders", "Settings"]),
        ("es", ["Hoy", "Anotaciones", "Progreso", "Patrones", "Avisos", "Ajustes"]),
    ],
)
def test_the_menu_has_short_labels_whose_names_hold_them(web, session, lang: str, labels: list[str]) -> None:  # type: ignore[no-untyped-def]
    client = make_client(session)
    phone = signed_in(web, session, client)
    phone.cookies.set("between_lang", lang)
    html = phone.get("/c").text
    nav = html[html.index('class="main-nav client-nav"') : html.index("</nav>")]
    links = re.findall(r'<a href="([^"]+)"(?: aria-label="([^"]+)")?[^>]*>.*?<span>([^<]+)</span></a>', nav)
    assert [label for _href, _name, label in links] == labels
    for _href, name, label in links:
        # A name that differs from what is shown holds it (voice control finds the link by its label).
        assert not name or label.lower() in name.lower(), (name, label)
