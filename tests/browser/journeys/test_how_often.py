"""How often, walked: a therapist assigns a thought record "when it happens", a mood log twice a
day with reminders at 09:00 and 20:00, and a free note on chosen weekdays (not today), all by
clicking; the client writes the note today, on a day it was not set for, and their calendar
shows it as done extra; after two moods today, a reminder stays quiet and the client's
reminder page says why, as the therapist's delivery health counts it.

Both people's browsers are on UTC, like the client's time zone, so nothing asks about zones.
The reminder that stays quiet is worked out by the app's own dispatcher, one round at the
instant today's 09:00 reminder falls due (as in tests/browser/test_reminders_push.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlmodel import select

from app.core import i18n
from app.core.days import local_day
from app.models import Assignment, OccurrenceStatus
from app.models.types import utcnow
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import Journey
from tests.browser.live import LiveServer
from tests.browser.steps import reminder_due_at
from tests.factories import make_client, make_therapist

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _assign(desk: Journey, record: str, how: str, *, first: bool = False) -> Any:
    """Open "Assign a record" (open already for the first), pick the record and how often."""
    page = desk.page
    if not first:
        page.locator("details.assign-form > summary").click()
    form = page.locator("details.assign-form")
    form.get_by_label(desk._("Record type"), exact=True).select_option(label=desk._(record))
    form.get_by_label(desk._(how), exact=True).check()
    return page


def _submit_assign(desk: Journey, record: str, name: str) -> None:
    """Press Assign; the client's page comes back with the record in the list."""
    page = desk.page
    page.get_by_role("button", name=desk._("Assign"), exact=True).click()
    page.locator("#assigned-heading ~ ul > li", has_text=desk._(record)).wait_for()
    desk.arrive(name)


def _row(page: Any, record: str) -> str:
    """The visible words of one assigned record on the therapist's client page."""
    return str(page.locator("#assigned-heading ~ ul > li", has_text=record).first.inner_text())


def _menu(page: Any, path: str) -> None:
    """Tap an item of the app's menu (its words change with the language and the menu's layout)."""
    page.locator(f"nav[aria-label] a[href='{path}']").first.tap()


def _n(journey: Journey, singular: str, plural: str, n: int) -> str:
    """The app's plural translation in the journey's language."""
    return i18n.translations(journey.lang).ngettext(singular, plural, n) % {"num": n}


def _log_mood(phone: Journey, mood: int, name: str) -> None:
    page = phone.page
    page.get_by_role("link", name=phone._("Mood log")).first.tap()
    page.wait_for_url("**/c/record/**")
    phone.arrive(None)
    page.locator(f'label.pill:has(input[name="a.mood"][value="{mood}"])').tap()
    page.get_by_role("button", name=phone._("Save"), exact=True).tap()
    page.wait_for_url("**/c?saved=1")
    phone.arrive(name)


@pytest.mark.parametrize(("desk_lang", "phone_lang"), [("en", "es"), ("es", "en")])
def test_how_often_as_the_therapist_sets_it_and_the_client_lives_it(
    open_journey: OpenJourney, live_server: LiveServer, desk_lang: str, phone_lang: str
) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=f"Sam {desk_lang}", timezone="UTC")
    today = local_day(utcnow(), timezone="UTC", boundary=client.day_boundary)

    # The therapist, on a laptop: the client's page, then three records assigned by clicking.
    desk = open_journey("desktop", desk_lang, zone="UTC")
    page = desk.start("/t", who=therapist, name="how-often-caseload")
    page.get_by_role("link", name=client.display_name).first.click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("how-often-client")
    usual = page.locator("input[name=frequency][value='']")
    assert usual.is_checked()
    assert desk._("When it happens") in page.locator(".frequency-choices").inner_text()

    _assign(desk, "Thought record", "When it happens", first=True)
    _submit_assign(desk, "Thought record", "how-often-thoughts-assigned")
    thoughts = _row(page, desk._("Thought record"))
    assert desk._("when it happens") in thoughts
    assert desk._(
        "Reminders for %(record)s are gentle check-ins: if something was already written that day, they stay quiet.",
        record=desk._("Thought record"),
    ) in " ".join(thoughts.split())

    _assign(desk, "Mood log", "Several times a day")
    page.get_by_label(desk._("Entries a day (for “several times a day”)")).fill("2")
    page.get_by_label(desk._("Suggested reminder times, agreed together (e.g. 08:30, 21:00)")).fill("09:00, 20:00")
    _submit_assign(desk, "Mood log", "how-often-mood-assigned")
    mood_row = " ".join(_row(page, desk._("Mood log")).split())
    rule = (
        "Each reminder asks for one entry: %(num)s a day. Once %(num)s is done that day, the rest stay quiet.",
        "Each reminder asks for one entry: %(num)s a day. Once %(num)s are done that day, the rest stay quiet.",
    )
    assert _n(desk, *rule, 2) in mood_row

    # The free note on every weekday but today's.
    _assign(desk, "Free note", "On chosen weekdays")
    page.locator(".assign-form .weekdays").get_by_label(desk._(WEEKDAYS[today.isoweekday() - 1]), exact=True).uncheck()
    _submit_assign(desk, "Free note", "how-often-note-assigned")

    with live_server.session() as session:
        made = {
            item.frequency.value: item
            for item in session.exec(select(Assignment).where(Assignment.client_id == client.id)).all()
        }
    assert set(made) == {"as_it_happens", "times_per_day", "weekdays"}
    assert made["times_per_day"].times_per_day == 2 and made["times_per_day"].proposed_times == ["09:00", "20:00"]
    assert today.isoweekday() not in made["weekdays"].weekdays

    # The client, on the phone: the note today, on a day it was not set for.
    phone = open_journey("phone", phone_lang, zone="UTC")
    mobile = phone.start("/c", who=client, name="how-often-today")
    tasks = mobile.locator("ul.tasks").inner_text()
    assert phone._("Whenever something happens") in tasks
    assert phone._("Not planned today: add one anytime") in tasks
    mobile.get_by_role("link", name=phone._("Free note")).tap()
    mobile.wait_for_url("**/c/record/**")
    phone.arrive("how-often-note")
    mobile.get_by_role("textbox", name=phone._("What's on your mind?")).fill("Slept better after the walk")
    mobile.get_by_role("button", name=phone._("Save"), exact=True).tap()
    mobile.wait_for_url("**/c?saved=1")
    phone.arrive("how-often-note-saved")

    # Their calendar shows today as done extra: a done day with a "+", and its name in words.
    _menu(mobile, "/c/progress")
    mobile.wait_for_url("**/c/progress")
    phone.arrive("how-often-progress")
    note_card = mobile.locator("main section", has=mobile.get_by_role("heading", name=phone._("Free note")))
    extra = note_card.locator("td.state-extra")
    assert extra.count() == 1
    assert f"{today.isoformat()}: {phone._('Done extra')}" in extra.inner_text()
    assert extra.evaluate("cell => getComputedStyle(cell.querySelector('.day-number'), '::after').content") == '"+"'
    done_colour = mobile.locator(".heatmap-key .swatch.state-done").evaluate("s => getComputedStyle(s).backgroundColor")
    assert extra.evaluate("cell => getComputedStyle(cell).backgroundColor") == done_colour
    assert phone._("Done extra") in note_card.inner_text()
    assert phone._("Done extra") in mobile.locator(".heatmap-key").first.inner_text()
    missed_or_open = note_card.locator("td.state-missed, td.state-partial")
    assert missed_or_open.count() == 0
    thought_card = mobile.locator("main section", has=mobile.get_by_role("heading", name=phone._("Thought record")))
    assert phone._("Current run") not in thought_card.inner_text()  # no streak for a record kept as it happens

    # Two moods today: the day's two entries are done.
    _menu(mobile, "/c")
    mobile.wait_for_url("**/c")
    phone.arrive(None)
    _log_mood(phone, 6, "how-often-mood-1")
    _log_mood(phone, 7, "how-often-mood-2")
    assert phone._("Done for today ✓") in mobile.locator("ul.tasks").inner_text()

    # The mood log's 09:00 reminder of today, as the app's dispatcher works it out when it falls due:
    # the day's two entries are there, so it stays quiet.
    due = datetime.combine(today, time(9, 0), tzinfo=UTC)
    quiet = reminder_due_at(live_server, made["times_per_day"].id, due)
    assert quiet.status is OccurrenceStatus.suppressed

    # The reminder page says what each reminder does once the record is done, and why one stayed quiet.
    _menu(mobile, "/c/reminders")
    mobile.wait_for_url("**/c/reminders")
    phone.arrive("how-often-reminders")
    mood_card = mobile.locator("section.reminder-record", has=mobile.get_by_role("heading", name=phone._("Mood log")))
    assert _n(phone, *rule, 2) in " ".join(mood_card.locator("[data-reminder-rule]").inner_text().split())
    quiet_list = mobile.locator("[data-quiet-reminders]")
    assert quiet_list.is_visible()
    said = " ".join(quiet_list.inner_text().split())
    why = phone._("Stayed quiet at %(time)s: today's record was already done.", time=due.strftime("%H:%M"))
    assert f"{phone._('Mood log')} · {why}" in said

    # The therapist's delivery health counts it apart from failures.
    page.get_by_role("link", name=desk._("Clients"), exact=True).click()
    page.wait_for_url("**/t")
    desk.arrive(None)
    page.get_by_role("link", name=client.display_name).first.click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("how-often-delivery-health")
    health = " ".join(page.locator("#delivery-health").inner_text().split())
    quiet_words = "%(num)s stayed quiet (already done)"
    assert _n(desk, quiet_words, quiet_words, 1) in health
    assert desk._("Recently not delivered") not in health
