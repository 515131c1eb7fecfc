"""The caseload: sorted by next session, told apart at a glance, bounded queries, only one's own clients."""

from __future__ import annotations

import re

from app.core.db import counting_statements
from app.models import Visibility
from app.services import caseload
from tests.factories import browser, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import (
    assign_since,
    daily_entries,
    entry_at,
    future_session,
    past_session,
    phq9,
)


def _setup(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    diligent = make_client(session, therapist=therapist, name="Diligent Dana")
    patchy = make_client(session, therapist=therapist, name="Patchy Pat")
    stopped = make_client(session, therapist=therapist, name="Stopped Sam")
    for client, days in (
        (diligent, list(range(1, 15))),
        (patchy, [1, 3, 5, 7, 9, 11, 13]),
        (stopped, [20, 21, 22]),
    ):
        assignment = assign_since(session, client, days=30)
        daily_entries(session, client, assignment, days=days)
        past_session(session, therapist, client, days_ago=14.2)
    # Next sessions: Sam first, then Pat, then Dana.
    future_session(session, therapist, stopped, days=1)
    future_session(session, therapist, patchy, days=2)
    future_session(session, therapist, diligent, days=3)
    return therapist, diligent, patchy, stopped


def test_caseload_tells_the_diligent_the_patchy_and_the_stopped_apart(web, session) -> None:
    therapist, diligent, patchy, stopped = _setup(session)
    rows = caseload.build(session, therapist=therapist)
    assert [row.client.id for row in rows] == [stopped.id, patchy.id, diligent.id]
    by_name = {row.client.display_name: row for row in rows}
    assert by_name["Diligent Dana"].standing is caseload.Standing.steady
    assert by_name["Patchy Pat"].standing is caseload.Standing.patchy
    assert by_name["Stopped Sam"].standing is caseload.Standing.quiet
    assert by_name["Diligent Dana"].best_streak >= 13
    assert by_name["Stopped Sam"].best_streak == 0
    assert by_name["Stopped Sam"].last_entry_at is not None

    page = signed_in(web, session, therapist).get("/t")
    assert page.status_code == 200
    names = re.findall(r'class="caseload-name"[^>]*>([^<]+)<', page.text)
    assert names == ["Stopped Sam", "Patchy Pat", "Diligent Dana"]
    assert "standing-steady" in page.text and "standing-quiet" in page.text
    assert "No device set up for reminders" in page.text


def test_risk_flag_from_shared_phq9_only(web, session) -> None:
    therapist = make_therapist(session)
    flagged = make_client(session, therapist=therapist, name="Flagged")
    private = make_client(session, therapist=therapist, name="Private")
    for client, visibility in ((flagged, Visibility.shared), (private, Visibility.private)):
        assignment = assign_since(session, client, days=10, slug="phq9", frequency="weekly")
        daily_entries(session, client, assignment, days=[2], answers=phq9(item9=2), visibility=visibility)
    rows = {row.client.display_name: row for row in caseload.build(session, therapist=therapist)}
    assert rows["Flagged"].risk
    assert not rows["Private"].risk
    # The private questionnaire still counts as done.
    assert rows["Private"].records[0].adherence.done == rows["Flagged"].records[0].adherence.done == 1
    page = signed_in(web, session, therapist).get("/t")
    assert page.text.count("Risk answer: check in") == 1


def _queries_for_caseload(web, session, engine, count: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    for n in range(count):
        client = make_client(session, therapist=therapist, name=f"Client {n:02d}")
        mood = assign_since(session, client, days=40)
        weekly = assign_since(session, client, days=40, slug="phq9", frequency="weekly")
        daily_entries(session, client, mood, days=[1, 2, 4, 30])
        daily_entries(session, client, weekly, days=[3], answers=phq9(item9=n % 2))
        past_session(session, therapist, client, days_ago=7 + n % 3)
        future_session(session, therapist, client, days=1 + n / 10)
    page = signed_in(web, session, therapist)
    page.get("/t")  # warm up: the session lookup caches nothing, but the first request builds the app
    with counting_statements(engine) as statements:
        response = page.get("/t")
    assert response.status_code == 200
    assert response.text.count('class="caseload-row') == count
    with counting_statements(engine) as api_statements:
        api = page.get("/api/v1/therapist/caseload")
    assert api.status_code == 200 and len(api.json()) == count
    return len(statements), len(api_statements)


def test_the_caseload_issues_the_same_number_of_queries_for_2_and_10_clients(app, session, engine) -> None:
    with browser(app) as first:
        small = _queries_for_caseload(first, session, engine, 2)
    with browser(app) as second:
        large = _queries_for_caseload(second, session, engine, 10)
    assert small == large, (small, large)
    assert max(small) <= 15, small


def test_each_therapist_sees_only_their_own_caseload(app, web, session) -> None:
    _therapist, diligent, _patchy, _stopped = _setup(session)
    other = make_therapist(session)
    mine = make_client(session, therapist=other, name="Other's client")
    page = signed_in(web, session, other)
    html = page.get("/t").text
    assert "Other&#39;s client" in html or "Other's client" in html
    assert "Diligent Dana" not in html
    api = page.get("/api/v1/therapist/caseload").json()
    assert [row["client_id"] for row in api] == [str(mine.id)]
    with browser(app) as phone:
        signed_in(phone, session, diligent)
        assert phone.get("/t", follow_redirects=False).status_code in (303, 307)
        assert phone.get("/api/v1/therapist/caseload").status_code == 401
    with browser(app) as anonymous:
        assert anonymous.get("/api/v1/therapist/caseload").status_code == 401


def test_caseload_api_is_described_in_openapi(web) -> None:
    schema = web.get("/openapi.json").json()
    assert "/api/v1/therapist/caseload" in schema["paths"]
    assert "/api/v1/therapist/clients/{client_id}/adherence" in schema["paths"]
    assert "/api/v1/therapist/clients/{client_id}/brief" in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"CaseloadRowPublic", "AdherencePublic", "BriefPublic", "DayPublic"} <= set(components)
    assert "current_streak" in components["AdherencePublic"]["properties"]


def test_entry_logged_after_midnight_counts_for_the_evening_it_describes(web, session) -> None:
    from datetime import timedelta

    from app.core.days import local_day
    from app.models.types import utcnow

    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Berlin")
    assignment = assign_since(session, client, days=5)
    evening = (utcnow() - timedelta(days=2)).replace(hour=20, minute=30, second=0, microsecond=0)
    entry_at(session, client, assignment, evening, logged_after=timedelta(hours=5))
    body = signed_in(web, session, therapist).get(f"/api/v1/therapist/clients/{client.id}/adherence").json()
    [record] = body["records"]
    days = {day["day"]: day for day in record["days"]}
    described = local_day(evening, timezone="Europe/Berlin").isoformat()
    logged = local_day(evening + timedelta(hours=5), timezone="Europe/Berlin").isoformat()
    assert described != logged
    assert days[described]["state"] == "done"
    assert days[logged]["state"] != "done"
    assert record["backfilled"] == 0 and record["median_delay_minutes"] == 300


def test_the_pages_dates_read_as_babel_writes_them() -> None:
    """Days are formatted once each and times added to them: the same text as the whole pattern."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    from app.core import i18n
    from app.web.presenters.caseload import Dates

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for locale in ("en", "es"):
        with i18n.using_locale(locale):
            days = Dates()
            for step in range(0, 400 * 24, 7):
                local = (start + timedelta(hours=step, minutes=step % 60)).astimezone(ZoneInfo("America/Mexico_City"))
                assert days.day(local) == format_datetime(local, "EEE d MMM", locale=locale)
                assert days.day_and_time(local) == format_datetime(local, "EEE d MMM, HH:mm", locale=locale)
