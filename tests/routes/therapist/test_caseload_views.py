"""The caseload as a table beside the cards: the view remembered, sorting and search without
JavaScript (GET parameters), today's sessions in the therapist's zone, bounded queries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from app.core.db import counting_statements
from app.models import Client, Therapist
from app.models.types import utcnow
from app.services import appointments
from app.web.presenters.caseload import Sort, SortKey, fold
from tests.factories import browser, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, daily_entries, future_session, past_session, phq9

ROW_NAMES = re.compile(r'<tr class="standing-[a-z]+"[^>]*><th scope="row"><a href="[^"]+">([^<]+)</a>')


def _noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now: sessions a few hours either side fall today."""
    offset = 12 - now.hour  # -11 … 12
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "UTC"


def _session_at(session, therapist: Therapist, client: Client, starts_at: datetime, zone: str):  # type: ignore[no-untyped-def]
    [created] = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=starts_at,
        timezone=zone,
        now=min(starts_at, utcnow()) - timedelta(minutes=1),
    )
    session.commit()
    return created


def _caseload(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    people = {}
    for name, days, streak_days in (
        ("Diligent Dana", 3, list(range(1, 15))),
        ("Patchy Pat", 1, [1, 3, 5, 7, 9, 11, 13]),
        ("José Quiet", 2, [20, 21, 22]),
    ):
        client = make_client(session, therapist=therapist, name=name)
        assignment = assign_since(session, client, days=30)
        daily_entries(session, client, assignment, days=streak_days)
        past_session(session, therapist, client, days_ago=14.2)
        future_session(session, therapist, client, days=days)
        people[name] = client
    # A new client: no session, nothing expected, no entry.
    people["Newcomer Nia"] = make_client(session, therapist=therapist, name="Newcomer Nia")
    flagged = people["Patchy Pat"]
    questionnaire = assign_since(session, flagged, days=10, slug="phq9", frequency="weekly")
    daily_entries(session, flagged, questionnaire, days=[2], answers=phq9(item9=2))
    return therapist, people


def _names(html: str) -> list[str]:
    return [name.replace("&#39;", "'") for name in ROW_NAMES.findall(html)]


def test_the_table_is_remembered_until_the_cards_are_chosen_again(web, session) -> None:
    therapist, _people = _caseload(session)
    desk = signed_in(web, session, therapist)
    assert 'class="caseload-row' in desk.get("/t").text  # cards by default

    table = desk.get("/t?view=table")
    assert table.status_code == 200
    assert "data-caseload-table" in table.text and 'class="caseload-row' not in table.text
    assert 'aria-current="true">Table<' in table.text
    assert "between_caseload_view=table" in table.headers["set-cookie"]

    again = desk.get("/t")
    assert "data-caseload-table" in again.text and "set-cookie" not in again.headers

    cards = desk.get("/t?view=cards")
    assert 'class="caseload-row' in cards.text and "data-caseload-table" not in cards.text
    assert 'class="caseload-row' in desk.get("/t").text


def test_each_column_sorts_both_ways_without_javascript(web, session) -> None:
    therapist, _people = _caseload(session)
    desk = signed_in(web, session, therapist)

    def names(sort: str) -> list[str]:
        response = desk.get("/t", params={"view": "table", "sort": sort})
        assert response.status_code == 200
        return _names(response.text)

    by_next = ["Patchy Pat", "José Quiet", "Diligent Dana", "Newcomer Nia"]
    assert names("") == by_next  # by next session when nothing is chosen
    assert names("next") == by_next
    # Rows with nothing to sort by (Nia: no session) stay last either way.
    assert names("-next") == ["Diligent Dana", "José Quiet", "Patchy Pat", "Newcomer Nia"]
    assert names("name") == ["Diligent Dana", "José Quiet", "Newcomer Nia", "Patchy Pat"]
    assert names("-name") == ["Patchy Pat", "Newcomer Nia", "José Quiet", "Diligent Dana"]
    assert names("completion")[0] == "José Quiet" and names("completion")[-1] == "Newcomer Nia"
    assert names("-completion")[0] == "Diligent Dana" and names("-completion")[-1] == "Newcomer Nia"
    assert names("-streak")[0] == "Diligent Dana"
    assert names("-risk")[0] == "Patchy Pat"
    assert names("last")[-1] == "Newcomer Nia"


def test_the_sorted_column_says_so_and_its_button_turns_the_order_round(web, session) -> None:
    therapist, _people = _caseload(session)
    html = signed_in(web, session, therapist).get("/t?view=table&sort=name").text
    headers = re.findall(
        r'<th scope="col"( aria-sort="[a-z]+")?>\s*<button type="submit" form="caseload-find"'
        r' class="sort-button" name="sort" value="([^"]+)" data-sort="([a-z]+)"',
        html,
    )
    assert [(aria, value, key) for aria, value, key in headers] == [
        (' aria-sort="ascending"', "-name", "name"),
        ("", "next", "next"),
        ("", "completion", "completion"),
        ("", "-streak", "streak"),  # streaks and risk answers: most first
        ("", "last", "last"),
        ("", "-risk", "risk"),
    ]
    # The search keeps the order chosen.
    assert re.search(r'<button type="submit" class="button secondary" name="sort" value="name">Search</button>', html)
    descending = signed_in(web, session, therapist).get("/t?view=table&sort=-name").text
    assert 'aria-sort="descending"' in descending


def test_search_by_alias_without_javascript(web, session) -> None:
    therapist, _people = _caseload(session)
    desk = signed_in(web, session, therapist)
    found = desk.get("/t", params={"view": "table", "q": "jose"})  # accents aside
    assert _names(found.text) == ["José Quiet"]
    assert "Showing 1 of 4 clients" in found.text
    cards = desk.get("/t", params={"view": "cards", "q": "  PAT "})
    assert re.findall(r'class="caseload-name" href="[^"]+">([^<]+)<', cards.text) == ["Patchy Pat"]
    nothing = desk.get("/t", params={"view": "table", "q": "zebra"})
    assert _names(nothing.text) == [] and "No client matches this search." in nothing.text
    assert ">No client matches this search.</p>" in nothing.text


def test_search_folds_like_the_browser() -> None:
    assert fold("  José ") == "jose"
    assert fold("STRAßE") == "strasse"
    assert fold("Ñandú") == "nandu"


def test_odd_view_or_sort_is_a_clear_422_that_changes_nothing(web, session) -> None:
    therapist, _people = _caseload(session)
    desk = signed_in(web, session, therapist)
    for params, message in (
        ({"view": "grid"}, "Choose cards or a table."),
        ({"view": "table", "sort": "shoe-size"}, "Choose one of the table's columns to sort by."),
        ({"view": "table", "sort": "--name"}, "Choose one of the table's columns to sort by."),
    ):
        response = desk.get("/t", params=params)
        assert response.status_code == 422
        assert message.replace("'", "&#39;") in response.text
        assert "set-cookie" not in response.headers or "caseload_view" not in response.headers["set-cookie"]
    too_long = desk.get("/t", params={"q": "x" * 500})
    assert too_long.status_code == 422
    desk.cookies.set("between_lang", "es")
    spanish = desk.get("/t", params={"view": "grid"})
    assert spanish.status_code == 422 and "Elige tarjetas o tabla." in spanish.text


def test_sort_toggles() -> None:
    assert Sort(SortKey.next).toggled(SortKey.next).param == "-next"
    assert Sort(SortKey.next, True).toggled(SortKey.next).param == "next"
    assert Sort(SortKey.next).toggled(SortKey.streak).param == "-streak"
    assert Sort(SortKey.streak, True).toggled(SortKey.name).param == "name"


def test_todays_sessions_in_the_therapists_zone_link_to_each_brief(web, session) -> None:
    now = utcnow()
    zone = _noon_zone(now)
    therapist = make_therapist(session)
    # The clients live elsewhere: their sessions were agreed in their zone.
    earlier = make_client(session, therapist=therapist, name="Earlier Eve", timezone="Pacific/Kiritimati")
    later = make_client(session, therapist=therapist, name="Later Leo", timezone="Pacific/Kiritimati")
    tomorrow = make_client(session, therapist=therapist, name="Tomorrow Tom", timezone="Pacific/Kiritimati")
    done = _session_at(session, therapist, earlier, now - timedelta(hours=3), "Pacific/Kiritimati")
    coming = _session_at(session, therapist, later, now + timedelta(hours=2), "Pacific/Kiritimati")
    _session_at(session, therapist, tomorrow, now + timedelta(hours=14), "Pacific/Kiritimati")

    desk = signed_in(web, session, therapist)
    desk.cookies.set("between_tz", zone)
    html = desk.get("/t").text
    today = html[html.index('id="today-sessions"') : html.index("caseload-tools")]
    assert f'data-today-zone="{zone}"' in today
    assert re.findall(r'<a href="/t/clients/[^"]+">([^<]+)</a>', today) == ["Earlier Eve", "Later Leo"]
    assert f'href="/t/clients/{earlier.id}/brief?session={done.id}"' in today
    assert f'href="/t/clients/{later.id}/brief?session={coming.id}"' in today
    local = (now + timedelta(hours=2)).astimezone(__import__("zoneinfo").ZoneInfo(zone))
    assert f'<span class="today-time">{local.hour:02d}:{local.minute:02d}</span>' in today
    assert f"Times in your time zone ({zone})." in today
    # The cards tell the next session in the same zone.
    assert f"{local.hour:02d}:{local.minute:02d}" in html[html.index("caseload-tools") :]


def test_without_the_therapists_zone_each_session_is_told_in_its_own(web, session) -> None:
    now = utcnow()
    zone = _noon_zone(now)
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Zoned Zoe", timezone=zone)
    _session_at(session, therapist, client, now + timedelta(hours=1), zone)
    desk = signed_in(web, session, therapist)
    for cookie in (None, "Mars/Olympus_Mons"):  # none yet, or one the server does not know
        if cookie:
            desk.cookies.set("between_tz", cookie)
        html = desk.get("/t").text
        today = html[html.index('id="today-sessions"') : html.index("caseload-tools")]
        assert 'data-today-zone=""' in today
        assert "Zoned Zoe" in today and f"({zone})" in today


def test_no_sessions_today_says_so(web, session) -> None:
    therapist, _people = _caseload(session)
    html = signed_in(web, session, therapist).get("/t").text
    assert "No sessions today." in html


def _queries(web, session, engine, count: int, path: str) -> int:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    now = utcnow()
    for n in range(count):
        client = make_client(session, therapist=therapist, name=f"Client {n:02d}")
        mood = assign_since(session, client, days=40)
        daily_entries(session, client, mood, days=[1, 2, 4, 30])
        past_session(session, therapist, client, days_ago=7 + n % 3)
        _session_at(session, therapist, client, now + timedelta(minutes=70 * n + 5), "UTC")
    page = signed_in(web, session, therapist)
    page.cookies.set("between_tz", "Europe/Madrid")
    page.get(path)
    with counting_statements(engine) as statements:
        response = page.get(path)
    assert response.status_code == 200
    assert len(ROW_NAMES.findall(response.text)) == count or 'class="caseload-row' in response.text
    return len(statements)


def test_the_table_search_and_today_add_no_query(app, session, engine) -> None:
    counts = {}
    for path in ("/t?view=cards", "/t?view=table&sort=-completion", "/t?view=table&q=client"):
        with browser(app) as small, browser(app) as large:
            counts[path] = (_queries(small, session, engine, 2, path), _queries(large, session, engine, 10, path))
    assert len(set(counts.values())) == 1, counts
    assert all(small == large for small, large in counts.values()), counts
