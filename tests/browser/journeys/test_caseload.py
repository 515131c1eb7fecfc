"""The whole caseload at a glance, walked: a therapist opens the caseload, switches to the
table, sorts it by next session, types an alias in the search box and opens a client's
brief from today's sessions. At 1280×800 and 360×780, in English and Spanish, and once
with JavaScript off (the same through the search form and the headers' buttons).

From a card on, the smaller breaks around it: a weekly series listed once on the sessions
page (a date moved from its own disclosure), delivery health, and the exports.

Today's sessions are on the therapist's clock: the browser's time zone, which differs
from the one the sessions were agreed in (the clients' zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from app.core import i18n
from app.models import (
    Appointment,
    Client,
    OccurrenceStatus,
    PushSubscription,
    Reminder,
    ReminderOccurrence,
    Repeat,
    Therapist,
)
from app.models.types import utcnow
from app.services import appointments
from tests.browser.journeys.journey import ALL_FOUR, Journey, axe, shoot
from tests.browser.live import LiveServer
from tests.browser.steps import wait_until
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, daily_entries, past_session
from tests.services.adherence.quality_fixture import thought_records

# Where the clients live and their sessions were agreed: never the browser's zone here.
CLIENT_ZONE = "Pacific/Kiritimati"


@dataclass
class Caseload:
    therapist: Therapist
    clients: dict[str, Client]
    today: Appointment  # Bruno's, later today on the therapist's clock
    next_order: list[str]  # names by next session, soonest first


def _schedule(session: Any, therapist: Therapist, client: Client, starts_at: datetime) -> Appointment:
    [created] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=starts_at,
        timezone=CLIENT_ZONE,
        now=min(starts_at, utcnow()) - timedelta(minutes=1),
    )
    session.commit()
    return created


def _today_slot(zone: str) -> datetime:
    """An instant on today's date in `zone` (the browser's) for a session that is still the
    next one: an hour ahead, or, when the day is nearly over, twenty minutes ago (a session
    under way is the next one until it ends; one over already would be the last)."""
    now = utcnow()
    local = now.astimezone(ZoneInfo(zone))
    later = local + timedelta(hours=1)
    chosen = later if later.date() == local.date() else local - timedelta(minutes=20)
    return chosen.replace(second=0, microsecond=0).astimezone(ZoneInfo("UTC"))


def _caseload(server: LiveServer, zone: str) -> Caseload:
    names = ["Alba Ruiz", "Bruno Díaz", "Carmen Sol", "Darío Vega", "Elena Mar"]
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Journey")
        clients = {}
        for n, name in enumerate(names):
            client = make_client(session, therapist=therapist, name=name, timezone=CLIENT_ZONE)
            record = assign_since(session, client, days=20)
            daily_entries(session, client, record, days=list(range(1, 2 + 3 * n, 2)))
            past_session(session, therapist, client, days_ago=8 + n)
            clients[name] = client
        today = _schedule(session, therapist, clients["Bruno Díaz"], _today_slot(zone))
        # The others: days ahead, in an order that differs from the names'.
        for name, days in (("Elena Mar", 2), ("Alba Ruiz", 3), ("Darío Vega", 5)):
            _schedule(session, therapist, clients[name], utcnow() + timedelta(days=days))
    # Carmen has no session coming: last whichever way the table is sorted.
    return Caseload(therapist, clients, today, ["Bruno Díaz", "Elena Mar", "Alba Ruiz", "Darío Vega", "Carmen Sol"])


def _press(journey: Journey, target: Any) -> None:
    """A tap on a phone, a click on a laptop."""
    if journey.size == "phone":
        target.tap()
    else:
        target.click()


def _visible_rows(page: Any) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll("[data-caseload-table] tbody tr"))
             .filter(row => row.offsetParent !== null)
             .map(row => row.querySelector("th").innerText.trim())"""
    )


def _header(page: Any, journey: Journey, msgid: str) -> Any:
    return page.locator("[data-caseload-table] thead th").filter(
        has=page.get_by_role("button", name=journey._(msgid), exact=True)
    )


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_caseload_table_sort_search_and_todays_brief(journey: Journey, live_server: LiveServer) -> None:
    zone = journey.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone != CLIENT_ZONE
    world = _caseload(live_server, zone)
    _ = journey._

    page = journey.start("/t", who=world.therapist)
    # The page learns the therapist's zone from the browser and draws itself again in it.
    wait_until(page, "zone => !!document.querySelector(`[data-today-zone='${zone}']`)", zone)
    journey.settle()
    today = page.locator("#today-sessions")
    expected = world.today.starts_at.astimezone(ZoneInfo(zone))
    assert today.locator(".today-time").all_inner_texts() == [f"{expected.hour:02d}:{expected.minute:02d}"]
    assert "Bruno Díaz" in today.inner_text()
    assert _("Times in your time zone (%(zone)s).", zone=zone) in today.inner_text()
    shoot(page, "caseload-cards")

    # Cards | Table: the table.
    _press(journey, page.get_by_role("link", name=_("Table"), exact=True))
    page.wait_for_url("**/t?view=table*")
    journey.arrive("caseload-table")
    assert page.get_by_role("link", name=_("Table"), exact=True).get_attribute("aria-current") == "true"
    assert _visible_rows(page) == world.next_order  # by next session until told otherwise

    # Sort by name, then by next session: rows move, the header says how it is sorted.
    _press(journey, page.get_by_role("button", name=_("Client"), exact=True))
    wait_until(page, "() => document.querySelector('[data-caseload-table] th[aria-sort]') !== null")
    assert _visible_rows(page) == sorted(world.next_order, key=lambda name: name.casefold())
    assert _header(page, journey, "Client").get_attribute("aria-sort") == "ascending"
    _press(journey, page.get_by_role("button", name=_("Next session"), exact=True))
    assert _header(page, journey, "Next session").get_attribute("aria-sort") == "ascending"
    assert _header(page, journey, "Client").get_attribute("aria-sort") is None
    assert _visible_rows(page) == world.next_order
    _press(journey, page.get_by_role("button", name=_("Next session"), exact=True))
    assert _header(page, journey, "Next session").get_attribute("aria-sort") == "descending"
    # Carmen (no session) stays last either way.
    assert _visible_rows(page) == [*reversed(world.next_order[:-1]), "Carmen Sol"]
    assert "sort=-next" in page.url
    axe(page)
    shoot(page, "caseload-table-sorted")

    # Search as you type: accents aside, the count said in words.
    search = page.get_by_label(_("Find a client by name or alias"))
    _press(journey, search)
    search.press_sequentially("dar")
    wait_until(page, "() => document.querySelectorAll('[data-caseload-table] tbody tr:not([hidden])').length === 1")
    assert _visible_rows(page) == ["Darío Vega"]
    plural = i18n.translations(journey.lang).ngettext(
        "Showing %(shown)s of %(num)s client", "Showing %(shown)s of %(num)s clients", 5
    )
    shown = plural % {"shown": 1, "num": 5}
    assert page.locator("[data-caseload-count]").inner_text() == shown
    assert "q=dar" in page.url
    axe(page)
    shoot(page, "caseload-table-search")
    search.fill("")
    search.dispatch_event("input")
    wait_until(page, "() => document.querySelectorAll('[data-caseload-table] tbody tr:not([hidden])').length === 5")

    # The table scrolls sideways on a phone, inside a region that shows its focus.
    region = page.get_by_role("region", name=_("Your clients"))
    if journey.size == "phone":
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    search.focus()
    page.keyboard.press("Tab")  # the Search button
    page.keyboard.press("Tab")  # the table's region
    assert region.evaluate("el => el === document.activeElement")
    outline = region.evaluate("el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]")
    assert outline == ["solid", "3px"]

    # Today's sessions: straight to Bruno's brief for that session.
    _press(journey, today.get_by_role("link", name=f"{_('Brief')} · Bruno Díaz"))
    page.wait_for_url(f"**/t/clients/{world.clients['Bruno Díaz'].id}/brief?session={world.today.id}")
    journey.arrive("caseload-brief-from-today")
    assert "Bruno Díaz" in page.locator("h1").inner_text()


def test_caseload_table_without_javascript(open_journey: Any, live_server: LiveServer) -> None:
    """The same through plain forms: the header buttons and the search submit GET /t."""
    journey: Journey = open_journey("desktop", "en", javascript=False)
    world = _caseload(live_server, "UTC")
    page = journey.start("/t?view=table", who=world.therapist)
    assert _visible_rows(page) == world.next_order

    page.get_by_role("button", name="Client", exact=True).click()
    page.wait_for_url("**sort=name*")
    journey.arrive(None)
    assert _visible_rows(page) == sorted(world.next_order, key=lambda name: name.casefold())
    page.get_by_role("button", name="Client", exact=True).click()
    page.wait_for_url("**sort=-name*")
    journey.arrive(None)
    assert _header(page, journey, "Client").get_attribute("aria-sort") == "descending"

    page.get_by_label("Find a client by name or alias").fill("elena")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**q=elena*")
    journey.arrive("caseload-table-no-js")
    assert _visible_rows(page) == ["Elena Mar"]
    assert page.locator("[data-caseload-count]").inner_text() == "Showing 1 of 5 clients"
    # The sort chosen survives the search.
    assert "sort=-name" in page.url


def _series_and_reminders(server: LiveServer) -> tuple[Therapist, Client, list[Appointment], datetime]:
    """A client with a weekly series, a reminder delivered nine days ago and a phone, and one shared entry."""
    with server.session() as session:
        therapist = make_therapist(session, name="Dr. Series")
        client = make_client(session, therapist=therapist, name="Bruno Díaz", timezone="America/New_York")
        record = assign_since(session, client, days=20)
        daily_entries(session, client, record, days=[1, 2, 3])
        start = utcnow().astimezone(ZoneInfo("America/New_York")).date() + timedelta(days=2)
        series = appointments.schedule(
            session,
            therapist=therapist,
            client_id=client.id,
            starts_at=appointments.local_start(start, clock_time(17, 0), timezone="America/New_York"),
            timezone="America/New_York",
            repeat=Repeat.weekly,
        )
        reminder = Reminder(client_id=client.id, assignment_id=record.id, times=["09:00"])
        session.add(reminder)
        session.flush()
        sent = utcnow() - timedelta(days=9, hours=3)
        session.add(
            ReminderOccurrence(
                reminder_id=reminder.id, client_id=client.id, due_at=sent, sent_at=sent, status=OccurrenceStatus.sent
            )
        )
        session.add(
            PushSubscription(
                client_id=client.id,
                endpoint=f"https://push.example.org/{client.id}",
                p256dh="B" + "x" * 86,
                auth="a" * 22,
                user_agent="Chrome on Android",
                last_success_at=sent,
            )
        )
        session.commit()
    return therapist, client, series, sent


def test_sessions_delivery_health_and_exports_from_the_caseload(journey: Journey, live_server: LiveServer) -> None:
    """From a card to the client's sessions (a weekly series once; one date moved from its own
    disclosure), then delivery health and the exports, on the client's clock."""
    therapist, client, series, sent = _series_and_reminders(live_server)
    _ = journey._
    page = journey.start("/t?view=cards", who=therapist)

    _press(journey, page.get_by_role("link", name=_("Sessions"), exact=True))
    page.wait_for_url(f"**/t/clients/{client.id}/sessions")
    journey.arrive("caseload-sessions")
    coming = page.locator("section[aria-labelledby=upcoming-heading]")
    assert coming.locator(".series-title").count() == 1
    weekday = format_datetime(series[0].starts_at.astimezone(ZoneInfo("America/New_York")), "EEEE", locale=journey.lang)
    assert coming.locator(".series-title").inner_text() == _(
        "Every week, %(weekday)s at %(time)s", weekday=weekday, time="17:00"
    )
    # Four dates in view, their forms closed; the rest behind one summary.
    dates = coming.locator(".session-group.series > .occurrences > .occurrence")
    assert dates.count() == 4
    assert coming.locator("form.move-form:visible").count() == 0
    assert coming.locator("details.more-dates > summary").is_visible()

    second = dates.nth(1)
    _press(journey, second.locator("summary"))
    form = second.locator("form.move-form")
    assert form.is_visible()
    new_day = series[1].starts_at.astimezone(ZoneInfo("America/New_York")).date() + timedelta(days=1)
    form.get_by_label(_("New date")).fill(new_day.isoformat())
    form.get_by_label(_("New time")).fill("18:30")
    shoot(page, "caseload-sessions-move")
    _press(journey, form.get_by_role("button", name=_("Move"), exact=True))
    wait_until(page, "() => !document.querySelector('details.change[open]')")
    journey.arrive(None)
    moved = format_datetime(datetime.combine(new_day, clock_time(18, 30)), "EEE d MMM, HH:mm", locale=journey.lang)
    assert moved in coming.inner_text()
    assert coming.locator(".series-title").count() == 1

    # Delivery health: the reminder nine days ago, beside a week with none, on New York's clock.
    _press(journey, page.get_by_role("link", name=_("Client page"), exact=True))
    page.wait_for_url(f"**/t/clients/{client.id}")
    journey.arrive("caseload-delivery-health")
    health = page.locator("[data-delivery-health]")
    local = format_datetime(sent.astimezone(ZoneInfo("America/New_York")), "EEE d MMM, HH:mm", locale=journey.lang)
    last = health.locator("[data-last-delivered]").inner_text()
    assert local in last and ("9 days ago" in last or "hace 9 días" in last)
    assert _("Times in %(zone)s, the client's time zone.", zone="America/New_York") in health.inner_text()

    # The CSV is filed under the client's alias; the report is on their clock.
    _press(journey, page.get_by_role("link", name=_("Export"), exact=True))
    page.wait_for_url(f"**/t/clients/{client.id}/export")
    journey.arrive("caseload-export")
    with page.expect_download() as download:
        _press(journey, page.get_by_role("link", name=_("Download CSV"), exact=True))
    today = utcnow().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    assert download.value.suggested_filename == f"between-bruno-diaz-shared-records-{today}.csv"
    _press(journey, page.get_by_role("link", name=_("Open report"), exact=True))
    page.wait_for_url(f"**/t/clients/{client.id}/report")
    journey.arrive("caseload-report")
    note = _(
        "Only entries the client shared or marked to discuss are included; entries they keep private are not. "
        "Times are the client's local time (%(zone)s). Confidential health information.",
        zone="America/New_York",
    )
    assert note in page.locator("main").inner_text()


@pytest.mark.parametrize("journey", ALL_FOUR, indirect=True)
def test_the_caseload_shows_how_entries_were_written(journey: Journey, live_server: LiveServer) -> None:
    """Compactly, per record, on the card and in the table: the hand count of quality_fixture.py."""
    with live_server.session() as session:
        therapist, client, _record = thought_records(session, name=f"Quinn {journey.size} {journey.lang}")
    _ = journey._
    line = (
        f"{_('Thought record')}: {_('%(done)s of %(expected)s in the moment', done=4, expected=6)}"
        f" · {_('%(done)s of %(expected)s complete', done=3, expected=6)}"
    )
    page = journey.start("/t?view=cards", who=therapist)
    card = page.locator("li.caseload-row", has=page.get_by_role("link", name=client.display_name, exact=True))
    quality = card.locator("[data-quality]")
    assert " ".join(quality.locator("dt").inner_text().split()) == _("How entries were written")
    assert " ".join(quality.locator("dd").inner_text().split()) == line
    _press(journey, page.get_by_role("link", name=_("Table"), exact=True))
    page.wait_for_url("**/t?view=table*")
    journey.arrive("caseload-quality-table")
    cell = page.locator("[data-caseload-table] tbody tr", has_text=client.display_name).locator("td[data-quality]")
    assert " ".join(cell.inner_text().split()) == line
    assert page.locator("[data-caseload-table] thead th.quality-heading").inner_text().strip() == _(
        "How entries were written"
    )
