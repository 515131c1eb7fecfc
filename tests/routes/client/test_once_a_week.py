"""A weekly record on the client's Today: one entry a week, done early in the week it stays
done until the next one, in the badge and the API too; and its reminder says so."""

from __future__ import annotations

import re
from datetime import timedelta

from babel.dates import get_day_names

from app.core.days import local_day
from app.models.types import utcnow
from app.services.adherence.rules import week_of
from tests.factories import make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, entry_at
from tests.routes.insights_helpers import phq9 as phq9_answers


def _weekly(session, *, ends_in: int):  # type: ignore[no-untyped-def]
    """A client with a PHQ-9 once a week, whose week ends `ends_in` days from today."""
    client = make_client(session, therapist=make_therapist(session), timezone="UTC")
    today = local_day(utcnow(), timezone="UTC")
    due = (today + timedelta(days=ends_in)).isoweekday()
    phq9 = assign_since(session, client, days=20, slug="phq9", frequency="weekly", weekdays=[due])
    return client, phq9, today


def _badge(html: str) -> int:
    found = re.search(r'data-app-badge="(\d+)"', html)
    assert found is not None
    return int(found.group(1))


def test_done_early_in_its_week_a_weekly_record_stays_done_until_the_next_week(web, session) -> None:
    client, phq9, today = _weekly(session, ends_in=3)
    phone = signed_in(web, session, client)
    page = phone.get("/c").text
    sunday_like = get_day_names("wide", locale="en")[(today + timedelta(days=3)).weekday()]
    assert f"Once this week, by {sunday_like}" in page
    assert _badge(page) == 1

    # Written two days ago: in this week (which began three days ago).
    entry_at(session, client, phq9, utcnow() - timedelta(days=2), answers=phq9_answers())
    page = phone.get("/c").text
    assert "Done for this week ✓" in page and "Once this week" not in page
    assert _badge(page) == 0
    [task] = phone.get("/api/v1/today").json()
    assert task["complete"] is True and task["done_today"] == 0 and task["done_this_week"] == 1
    assert task["week_ends_on"] == (today + timedelta(days=3)).isoformat()
    assert (
        week_of(today, first_day=today - timedelta(days=20), due_weekday=phq9.weekdays[0])[1].isoformat()
        == (task["week_ends_on"])
    )


def test_last_weeks_entry_does_not_count_for_this_week(web, session) -> None:
    client, phq9, _today = _weekly(session, ends_in=0)  # this week: the last six days and today
    entry_at(session, client, phq9, utcnow() - timedelta(days=8), answers=phq9_answers())
    phone = signed_in(web, session, client)
    page = phone.get("/c").text
    assert "Once this week, by today" in page and _badge(page) == 1
    [task] = phone.get("/api/v1/today").json()
    assert task["complete"] is False and task["done_this_week"] == 0

    phone.cookies.set("between_lang", "es")
    assert "Una vez esta semana, hasta hoy" in phone.get("/c").text


def test_a_daily_record_has_no_week(web, session) -> None:
    client = make_client(session, therapist=make_therapist(session), timezone="UTC")
    assign_since(session, client, days=3)
    [task] = signed_in(web, session, client).get("/api/v1/today").json()
    assert task["done_this_week"] is None and task["week_ends_on"] is None
