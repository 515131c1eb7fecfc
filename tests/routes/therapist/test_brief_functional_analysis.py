"""The brief's "What comes before and after": counts from shared ABC records and urge logs, each
opening its entries, on the page and in the therapist API; a private entry never shows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from app.core.db import counting_statements
from app.models import Assignment, Visibility
from app.models.types import utcnow
from tests.factories import library_template, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, entry_at, past_session

SECRET = "only-mine-abc-91c2"


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _section(html: str) -> str:
    found = re.search(
        r'<section class="card" id="functional-analysis".*?</section>\s*(?=<section class="card")', html, re.S
    )
    assert found is not None
    return found.group(0)


def _abc(event: str, place: str, people: list[str], **more: Any) -> dict[str, Any]:
    return {"activating_event": event, "beliefs": "They don't care", "place": place, "people": people, **more}


def _world(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin", timezone="UTC")
    abc = assign_since(session, client, days=30, slug="abc_record")
    urges = assign_since(session, client, days=30, slug="urge_log")
    past_session(session, therapist, client, days_ago=6)
    now = utcnow().replace(hour=20, minute=0, second=0, microsecond=0)
    entries = {
        "recent": entry_at(
            session, client, abc, now - timedelta(days=2), answers=_abc("Dinner cancelled", "home", ["alone"])
        ),
        "older": entry_at(
            session,
            client,
            abc,
            now - timedelta(days=12),
            answers=_abc("Quiet Sunday", "home", ["alone"], behaviour=["kept_to_myself"]),
        ),
        "urge": entry_at(
            session,
            client,
            urges,
            now - timedelta(days=3),
            answers={
                "urge_type": "smoking",
                "intensity": 7,
                "trigger": "Long day",
                "place": "home",
                "acted_on": True,
                "short_term": ["relief"],
                "long_term": ["guilt"],
            },
            visibility=Visibility.discuss,
        ),
    }
    # A private one, at a place nothing shared names: neither it nor its place may show.
    entry_at(
        session,
        client,
        abc,
        now - timedelta(days=1),
        answers=_abc(SECRET, "someone_elses", ["strangers"]),
        visibility=Visibility.private,
    )
    return therapist, client, entries


def test_the_brief_counts_what_comes_before_and_after_and_opens_the_entries(web, session) -> None:
    therapist, client, entries = _world(session)
    html = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/brief").text
    section = _section(html)
    text = _text(section)
    assert "What comes before and after" in text
    assert "2 entries since the last session · 3 in 28 days" in text
    # Home, three times in 28 days, twice since the last session; before the other places.
    assert "My home 2 since the last session · 3 in 28 days" in text
    assert "Acted on an urge: Smoking or vaping 1 since the last session · 1 in 28 days" in text
    assert "Relief" in text and "Guilt or shame" in text
    assert "Evening (18–24 h)" in text
    # Each count opens its entries: one written since the last session has its card on this page,
    # an older one opens the client page at that day, filtered to its record type.
    home = re.search(r'<li data-part="place" data-value="home">.*?</li>\s*</ul>', section, re.S)
    assert home is not None
    assert f'href="#entry-{entries["recent"].id}"' in home.group(0)
    older_day = entries["older"].occurred_at.date().isoformat()
    abc_id = library_template(session, "abc_record").id
    assert f'href="/t/clients/{client.id}?type={abc_id}&amp;from={older_day}&amp;to={older_day}#entries"' in home.group(
        0
    )
    assert "Dinner cancelled" in home.group(0) and "Quiet Sunday" in home.group(0)
    # Never the private entry, its words or its choices.
    assert SECRET not in html
    assert 'data-value="someone_elses"' not in section and 'data-value="strangers"' not in section
    assert "style=" not in section


def test_the_section_in_spanish(web, session) -> None:
    therapist, client, _entries = _world(session)
    desk = signed_in(web, session, therapist)
    desk.cookies.set("between_lang", "es")
    text = _text(_section(desk.get(f"/t/clients/{client.id}/brief").text))
    assert "Lo que viene antes y después" in text
    assert "Mi casa 2 desde la última sesión · 3 en 28 días" in text
    assert "Siguió el impulso: Fumar o vapear" in text


def test_with_nothing_to_count_the_section_says_so_kindly(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    html = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/brief").text
    assert "No ABC records or urge logs shared in the last 28 days." in _text(_section(html))


def test_the_api_brief_carries_the_counts_and_the_entries_behind_them(web, session) -> None:
    therapist, client, entries = _world(session)
    body = signed_in(web, session, therapist).get(f"/api/v1/therapist/clients/{client.id}/brief").json()
    found = body["functional_analysis"]
    assert (found["entries_since_last_session"], found["entries_last_28_days"]) == (2, 3)
    parts = {part["part"]: part for part in found["parts"]}
    assert set(parts) == {"situation", "place", "people", "time_of_day", "behaviour", "short_term", "long_term"}
    [home] = parts["place"]["counts"]
    assert (home["value"], home["label"], home["since_last_session"], home["last_28_days"]) == ("home", "My home", 2, 3)
    assert home["entry_ids"] == [str(entries["recent"].id), str(entries["urge"].id), str(entries["older"].id)]
    behaviour = {count["value"]: count for count in parts["behaviour"]["counts"]}
    assert set(behaviour) == {"urge.smoking.acted_on", "kept_to_myself"}
    assert SECRET not in str(body)


def test_more_entries_to_count_cost_no_more_queries(web, session, engine) -> None:
    therapist, client, _entries = _world(session)
    desk = signed_in(web, session, therapist)
    desk.get(f"/t/clients/{client.id}/brief")
    with counting_statements(engine) as few:
        desk.get(f"/t/clients/{client.id}/brief")
    abc = session.get(Assignment, _entries["recent"].assignment_id)
    for days in range(1, 20):
        entry_at(
            session, client, abc, utcnow() - timedelta(days=days, hours=1), answers=_abc("Again", "work", ["work"])
        )
    with counting_statements(engine) as many:
        desk.get(f"/t/clients/{client.id}/brief")
    assert len(few) == len(many)
