"""A DBT diary card or an urge log that says the client hurt themselves is a risk answer:
first in the brief, in its API and on the caseload, in both languages, and never from an
entry the client kept private."""

from __future__ import annotations

from typing import Any

from app.services import caseload
from tests.factories import make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, daily_entries

HURT = "they wrote that they hurt themselves"


def _diary(*, self_harmed: bool) -> dict[str, Any]:
    return {"urge_self_harm": 4, "urge_use": 1, "self_harmed": self_harmed}


def _urge(*, acted_on: bool) -> dict[str, Any]:
    return {"urge_type": "self_harm", "intensity": 8, "acted_on": acted_on}


def _world(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Sol")
    diary = assign_since(session, client, days=20, slug="dbt_diary_card")
    urges = assign_since(session, client, days=20, slug="urge_log", frequency="as_it_happens")
    daily_entries(session, client, diary, days=[2], answers=_diary(self_harmed=True))
    daily_entries(session, client, diary, days=[3, 4], answers=_diary(self_harmed=False))
    daily_entries(session, client, urges, days=[5], answers=_urge(acted_on=True))
    daily_entries(session, client, urges, days=[6], answers=_urge(acted_on=False))

    # Another client wrote the same, but kept both entries to themselves.
    private = make_client(session, therapist=therapist, name="Mar")
    kept = assign_since(session, private, days=20, slug="dbt_diary_card")
    kept_urges = assign_since(session, private, days=20, slug="urge_log", frequency="as_it_happens")
    daily_entries(session, private, kept, days=[2], answers=_diary(self_harmed=True), visibility="private")
    daily_entries(session, private, kept_urges, days=[3], answers=_urge(acted_on=True), visibility="private")
    return therapist, client, private


def test_a_shared_self_harm_answer_opens_the_brief_with_a_safety_check_in(web, session) -> None:
    therapist, client, _private = _world(session)
    desk = signed_in(web, session, therapist)
    html = desk.get(f"/t/clients/{client.id}/brief").text
    assert "Please check in about safety" in html
    assert html.count(HURT) == 2  # the diary's yes and the urge acted on; not the urge ridden out
    assert "“DBT diary card” on" in html and "“Urge log” on" in html

    api = desk.get(f"/api/v1/therapist/clients/{client.id}/brief").json()
    assert [risk["kind"] for risk in api["risks"]] == ["self_harm", "self_harm"]

    desk.cookies.set("between_lang", "es")
    spanish = desk.get(f"/t/clients/{client.id}/brief").text
    assert spanish.count("escribió que se hizo daño") == 2
    assert "«Tarjeta diaria DBT» del" in spanish and "«Registro de impulsos» del" in spanish
    assert HURT not in spanish


def test_a_private_self_harm_answer_raises_nothing_anywhere(web, session) -> None:
    therapist, _client, private = _world(session)
    desk = signed_in(web, session, therapist)
    html = desk.get(f"/t/clients/{private.id}/brief").text
    assert "Please check in about safety" not in html and HURT not in html
    assert desk.get(f"/api/v1/therapist/clients/{private.id}/brief").json()["risks"] == []

    rows = {row.client.display_name: row.risk for row in caseload.build(session, therapist=therapist)}
    assert rows == {"Sol": True, "Mar": False}
    listed = desk.get("/api/v1/therapist/caseload").json()
    assert {row["display_name"]: row["risk"] for row in listed} == {"Sol": True, "Mar": False}
