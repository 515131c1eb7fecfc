"""Records that change, walked: the therapist changes a mood log to twice a day from the client
page (a wrong time first, said next to its field), the client's phone tells them what changed in
warm words until they tap "Got it"; "Stop" asks first and can be undone, reminders and all.

Both people's browsers are on UTC, like the client's time zone, so nothing asks about zones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from babel.lists import format_list
from sqlmodel import select

from app.core import i18n
from app.models import Assignment, Reminder
from tests.browser.journeys.journey import BROWSER_LOCALE, SIZES, Journey
from tests.browser.live import LiveServer
from tests.factories import library_template, make_assignment, make_client, make_therapist

Open = Callable[..., Journey]
TIMES_LABEL = "Suggested reminder times, agreed together (e.g. 08:30, 21:00)"


@pytest.fixture
def open_on_utc(browser: Any, live_server: LiveServer) -> Iterator[Open]:
    """`open_on_utc(size, lang, javascript=True)`: a journey whose browser clock is on UTC."""
    opened: list[Journey] = []

    def open_(size: str, lang: str, *, javascript: bool = True) -> Journey:
        context = browser.new_context(
            **SIZES[size],
            base_url=live_server.url,
            locale=BROWSER_LOCALE[lang],
            timezone_id="UTC",
            java_script_enabled=javascript,
        )
        journey = Journey(server=live_server, context=context, size=size, lang=lang, javascript=javascript)
        opened.append(journey)
        return journey

    yield open_
    unchecked = [f"{j.size}/{j.lang}: {path}" for j in opened for path in j.unchecked()]
    for journey in opened:
        journey.context.close()
    assert not unchecked, "pages reached without journey.arrive(): " + ", ".join(unchecked)


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


def _people(server: LiveServer, name: str) -> tuple[Any, Any, Assignment]:
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        mood = make_assignment(
            session, client=client, template=library_template(session, "mood_log"), proposed_times=["08:30"]
        )
    return therapist, client, mood


def _open_client_page(desk: Journey, client: Any, name: str) -> Any:
    page = desk.page
    page.get_by_role("link", name=client.display_name).first.click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive(name)
    return page


@pytest.mark.parametrize(("desk_lang", "phone_lang"), [("en", "es"), ("es", "en")])
def test_the_therapist_changes_a_record_and_the_client_is_told(
    open_on_utc: Open, live_server: LiveServer, desk_lang: str, phone_lang: str
) -> None:
    therapist, client, mood = _people(live_server, f"Robin {desk_lang}")

    # The therapist, on a laptop: the caseload, the client, "Change" on the mood log.
    desk = open_on_utc("desktop", desk_lang)
    page = desk.start("/t", who=therapist, name="assignments-caseload")
    _open_client_page(desk, client, "assignments-client")
    row = page.locator(f"#assignment-{mood.id}")
    assert desk._("every day") in _words(row)
    row.get_by_role("link", name=f"{desk._('Change')} {desk._('Mood log')}").click()
    page.wait_for_url(f"**/t/assignments/{mood.id}/edit")
    desk.arrive("assignments-edit")
    assert page.get_by_label(desk._("Every day"), exact=True).is_checked()

    # Twice a day, with a time typed the way people say it: the form says what is wrong, where.
    page.get_by_label(desk._("Several times a day"), exact=True).check()
    page.get_by_label(desk._("Entries a day (for “several times a day”)")).fill("2")
    times = page.get_by_label(desk._(TIMES_LABEL))
    times.fill("08:30, 7pm")
    with page.expect_navigation():  # the form posts as a page, so its 422 answer shows
        page.get_by_role("button", name=desk._("Save changes")).click()
    desk.arrive("assignments-edit-error")
    times = page.get_by_label(desk._(TIMES_LABEL))
    assert times.get_attribute("aria-invalid") == "true"
    error = page.locator("#edit-proposed_times-error")
    assert error.is_visible()
    assert _words(error) == desk._("“%(value)s” is not a time of day like 08:30.", value="7pm")
    assert "edit-proposed_times-error" in (times.get_attribute("aria-describedby") or "")
    assert desk._("Please check the fields marked below.") in _words(page.get_by_role("alert"))
    # What was typed and chosen is still there.
    assert page.get_by_label(desk._("Several times a day"), exact=True).is_checked()
    assert times.input_value() == "08:30, 7pm"

    times.fill("08:30, 20:00")
    page.get_by_role("button", name=desk._("Save changes")).click()
    page.wait_for_url(f"**/t/clients/{client.id}?changed=*")
    desk.arrive("assignments-changed")
    assert _words(page.locator(".notice[role=status]")) == desk._(
        "Saved. %(name)s will see what changed on their Today page.", name=client.display_name
    )
    row = page.locator(f"#assignment-{mood.id}")
    said = _words(row)
    two_a_day = i18n.translations(desk_lang).ngettext("%(num)s time a day", "%(num)s times a day", 2) % {"num": 2}
    assert two_a_day in said
    assert desk._("Reminders: %(times)s, as you suggested.", times="08:30, 20:00") in said
    with live_server.session() as session:
        reminder = session.exec(select(Reminder).where(Reminder.assignment_id == mood.id)).one()
        assert reminder.times == ["08:30", "20:00"]

    # The client, on the phone: Today says what changed, in warm words, and so does the record.
    phone = open_on_utc("phone", phone_lang)
    mobile = phone.start("/c", who=client, name="assignments-today-notice")
    notice = mobile.locator("[data-change-notice]")
    assert notice.count() == 1 and notice.is_visible()
    twice = i18n.translations(phone_lang).ngettext("%(num)s time a day", "%(num)s times a day", 2) % {"num": 2}
    told = _words(notice)
    assert phone._("Your therapist changed: %(title)s now %(how)s.", title=phone._("Mood log"), how=twice) in told
    both = format_list(["08:30", "20:00"], locale=phone_lang)
    assert phone._("Reminders for %(title)s now come at %(times)s.", title=phone._("Mood log"), times=both) in told
    assert notice.evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    mobile.get_by_role("link", name=phone._("Mood log")).first.tap()
    mobile.wait_for_url(f"**/c/record/{mood.id}")
    phone.arrive("assignments-record-notice")
    assert phone._("Your therapist changed: %(title)s now %(how)s.", title=phone._("Mood log"), how=twice) in _words(
        mobile.locator("[data-change-notice]")
    )
    mobile.get_by_role("button", name=phone._("Got it")).tap()
    mobile.locator("[data-change-notice]").first.wait_for(state="detached")
    phone.arrive(None)
    assert mobile.locator("[data-change-notice]").count() == 0
    mobile.get_by_role("link", name=phone._("Today"), exact=True).tap()
    mobile.wait_for_url("**/c")
    phone.arrive(None)
    assert mobile.locator("[data-change-notice]").count() == 0
    tasks = _words(mobile.locator("ul.tasks"))
    assert phone._("%(done)s of %(expected)s today", done=0, expected=2) in tasks


def test_stop_asks_first_and_undo_brings_it_back(open_on_utc: Open, live_server: LiveServer) -> None:
    therapist, client, mood = _people(live_server, "Kim")
    desk = open_on_utc("desktop", "en")
    page = desk.start("/t", who=therapist, name=None)
    _open_client_page(desk, client, None)
    page.locator(f"#assignment-{mood.id}").get_by_role("link", name="Stop Mood log").click()
    page.wait_for_url(f"**/t/assignments/{mood.id}/end")
    desk.arrive("assignments-stop-confirm")
    assert _words(page.locator("h1")) == "Stop Mood log for Kim?"
    # "Keep it" goes back and changes nothing.
    page.get_by_role("link", name="Keep it").click()
    page.wait_for_url(f"**/t/clients/{client.id}*")
    desk.arrive(None)
    assert page.locator(f"#assignment-{mood.id}").count() == 1
    page.locator(f"#assignment-{mood.id}").get_by_role("link", name="Stop Mood log").click()
    page.wait_for_url(f"**/t/assignments/{mood.id}/end")
    desk.arrive(None)
    page.get_by_role("button", name="Stop it").click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("assignments-stopped")
    stopped = page.locator(".stopped-notice")
    assert _words(stopped).startswith("Stopped: Mood log.")
    assert page.locator("#assigned-heading ~ ul li.assignment").count() == 0
    stopped.get_by_role("button", name="Undo (Mood log)").click()
    page.wait_for_url(f"**/t/clients/{client.id}?restarted=*")
    desk.arrive("assignments-undone")
    assert "Started again, with its reminders." in _words(page.locator(".notice[role=status]"))
    assert page.locator(f"li#assignment-{mood.id}").count() == 1
    assert "08:30" in _words(page.locator(f"li#assignment-{mood.id}"))
    with live_server.session() as session:
        reminder = session.exec(select(Reminder).where(Reminder.assignment_id == mood.id)).one()
        assert reminder.times == ["08:30"] and reminder.next_due_at is not None


def test_stop_and_change_work_without_javascript(open_on_utc: Open, live_server: LiveServer) -> None:
    therapist, client, mood = _people(live_server, "Noa")
    desk = open_on_utc("phone", "es", javascript=False)
    page = desk.start("/t", who=therapist, name=None)
    _open_client_page(desk, client, None)
    row = page.locator(f"#assignment-{mood.id}")
    row.get_by_role("link", name=f"{desk._('Change')} {desk._('Mood log')}").click()
    page.wait_for_url(f"**/t/assignments/{mood.id}/edit")
    desk.arrive("assignments-edit-nojs")
    page.get_by_label(desk._("Once a week"), exact=True).check()
    page.get_by_label(desk._("Day of the week (for “once a week”)")).select_option("7")
    page.get_by_role("button", name=desk._("Save changes")).click()
    page.wait_for_url(f"**/t/clients/{client.id}?changed=*")
    desk.arrive(None)
    with live_server.session() as session:
        changed = session.get(Assignment, mood.id)
        assert changed is not None and changed.frequency.value == "weekly" and changed.weekdays == [7]
    page.locator(f"#assignment-{mood.id}").get_by_role("link", name=f"{desk._('Stop')} {desk._('Mood log')}").click()
    page.wait_for_url(f"**/t/assignments/{mood.id}/end")
    desk.arrive(None)
    page.get_by_role("button", name=desk._("Stop it")).click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("assignments-stopped-nojs")
    assert desk._("Stopped: %(title)s.", title=desk._("Mood log")) in _words(page.locator(".stopped-notice"))
