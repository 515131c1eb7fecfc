"""Once a week, walked: a client with a weekly PHQ-9 (its week ends in three days) and a reminder
every evening sees on Today by when it is asked for, fills it in by tapping, and Today says it is
done for the week; the next reminder stays quiet, and the reminder page says why. The therapist's
delivery health counts it as already done, never as a failure.

Browsers on UTC like the client; the reminder is worked out by the app's own dispatcher at the
instant it falls due (as in test_how_often.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from app.core import i18n
from app.core.days import local_day
from app.models import OccurrenceStatus
from app.models.types import utcnow
from app.services import frequency, reminders
from app.services.frequency import QUIET_WEEK_DONE
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.browser.steps import reminder_due_at
from tests.factories import library_template, make_assignment, make_client, make_therapist
from tests.routes.insights_helpers import backdate


def _weekly(server: LiveServer, name: str) -> tuple[Any, Any, Any, Any]:
    """A PHQ-9 once a week, set three weeks ago, its week ending three days from today, and the
    client's reminder at 19:00 every day."""
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Ana Gil")
        client = make_client(session, therapist=therapist, name=name, timezone="UTC")
        today = local_day(utcnow(), timezone="UTC")
        ends = today + timedelta(days=3)
        phq9 = backdate(
            session,
            make_assignment(
                session,
                client=client,
                template=library_template(session, "phq9"),
                frequency="weekly",
                weekdays=[ends.isoweekday()],
            ),
            21,
        )
        reminders.save(
            session,
            client=client,
            assignment_id=phq9.id,
            data=reminders.ReminderInput(times=("19:00",), weekdays=(1, 2, 3, 4, 5, 6, 7)),
        )
        session.commit()
    return therapist, client, phq9, ends


@pytest.mark.parametrize(("phone_lang", "desk_lang"), [("es", "en"), ("en", "es")])
def test_a_weekly_record_done_early_is_done_for_the_week_and_its_reminder_stays_quiet(
    open_journey: OpenJourney, live_server: LiveServer, phone_lang: str, desk_lang: str
) -> None:
    therapist, client, phq9, ends = _weekly(live_server, f"Noa {phone_lang}")
    today = local_day(utcnow(), timezone="UTC")
    phone = open_journey("phone", phone_lang, zone="UTC")
    _ = phone._
    with i18n.using_locale(phone_lang):
        by_then = frequency.this_week(ends, today=today)

    # Today says by when, and the badge counts it.
    page = phone.start("/c", who=client, name="once-a-week-today")
    task = page.locator("ul.tasks li", has=page.get_by_role("link", name=_("PHQ-9 mood questionnaire")))
    assert by_then in " ".join(task.inner_text().split())
    assert page.locator("[data-app-badge]").get_attribute("data-app-badge") == "1"

    # Filled in by tapping: "Not at all" nine times.
    task.get_by_role("link").tap()
    page.wait_for_url("**/c/record/**")
    phone.arrive("once-a-week-form")
    for item in range(1, 10):
        answer = page.locator(f'label.choice:has(input[name="a.item{item}"][value="0"])')
        box = answer.bounding_box()
        assert box is not None and box["height"] >= 44
        answer.tap()
    page.get_by_role("button", name=_("Save"), exact=True).tap()
    page.wait_for_url("**/c?saved=1")
    phone.arrive("once-a-week-done")
    task = page.locator("ul.tasks li", has=page.get_by_role("link", name=_("PHQ-9 mood questionnaire")))
    assert _("Done for this week ✓") in task.inner_text()
    assert page.locator("[data-app-badge]").get_attribute("data-app-badge") == "0"

    # Tomorrow's 19:00 is in the same week: the dispatcher keeps it quiet, and says why.
    due = datetime.combine(today + timedelta(days=1), time(19, 0), tzinfo=UTC)
    quiet = reminder_due_at(live_server, phq9.id, due)
    assert (quiet.status, quiet.last_error) == (OccurrenceStatus.suppressed, QUIET_WEEK_DONE)

    # The reminder page: what the reminder does once the week's is done, and why it stayed quiet.
    page.locator("nav[aria-label] a[href='/c/reminders']").first.tap()
    page.wait_for_url("**/c/reminders")
    phone.arrive("once-a-week-reminders")
    card = page.locator("section.reminder-record", has=page.get_by_role("heading", name=_("PHQ-9 mood questionnaire")))
    with i18n.using_locale(phone_lang):
        rule = frequency.reminder_rule(phq9, title=_("PHQ-9 mood questionnaire"))
    assert " ".join(card.locator("[data-reminder-rule]").inner_text().split()) == rule
    said = " ".join(page.locator("[data-quiet-reminders]").inner_text().split())
    short_day = _(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[due.weekday()])
    with i18n.using_locale(phone_lang):
        why = frequency.quiet_sentence(QUIET_WEEK_DONE, time="19:00", day=f"{short_day} {due.day}", today=False)
    assert f"{_('PHQ-9 mood questionnaire')} · {why}" in said

    # The therapist: already done, not a failure.
    desk = open_journey("desktop", desk_lang, zone="UTC")
    page = desk.start("/t", who=therapist, name=None)
    page.get_by_role("link", name=client.display_name).first.click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive("once-a-week-delivery-health")
    health = " ".join(page.locator("#delivery-health").inner_text().split())
    quiet_words = "%(num)s stayed quiet (already done)"
    assert i18n.translations(desk_lang).ngettext(quiet_words, quiet_words, 1) % {"num": 1} in health
    assert desk._("Recently not delivered") not in health
