"""The quality figures on the brief, the caseload (cards and table) and the therapist API, in
English and Spanish, against the hand count of tests/services/adherence/quality_fixture.py."""

from __future__ import annotations

import re

import pytest

from tests.factories import signed_in
from tests.services.adherence.quality_fixture import thought_records

WORDS = {
    "en": {
        "moment": "4 of 6 written within the hour",
        "complete": "3 of 6 with the key parts filled in",
        "compact": "Thought record: 4 of 6 in the moment · 3 of 6 complete",
    },
    "es": {
        "moment": "4 de 6 escritas en menos de una hora",
        "complete": "3 de 6 con las partes clave completadas",
        "compact": "Registro de pensamientos: 4 de 6 en el momento · 3 de 6 completas",
    },
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_brief_says_how_entries_were_written(web, session, lang) -> None:  # type: ignore[no-untyped-def]
    therapist, client, _record = thought_records(session)
    desk = signed_in(web, session, therapist)
    desk.cookies.set("between_lang", lang)
    page = desk.get(f"/t/clients/{client.id}/brief")
    assert page.status_code == 200
    quality = re.search(r"<dl class=\"stats\" data-quality>.*?</dl>", page.text, re.S)
    assert quality is not None
    text = _text(quality.group(0))
    assert WORDS[lang]["moment"] in text
    assert WORDS[lang]["complete"] in text
    assert "%" not in text  # counts in words, never a score


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("view", ["cards", "table"])
def test_the_caseload_shows_both_compactly(web, session, lang, view) -> None:  # type: ignore[no-untyped-def]
    therapist, _client, _record = thought_records(session)
    desk = signed_in(web, session, therapist)
    desk.cookies.set("between_lang", lang)
    page = desk.get(f"/t?view={view}")
    assert page.status_code == 200
    assert WORDS[lang]["compact"] in _text(page.text)


def test_the_api_gives_both_figures_on_brief_adherence_and_caseload(web, session) -> None:  # type: ignore[no-untyped-def]
    therapist, client, record = thought_records(session)
    api = signed_in(web, session, therapist)
    brief = api.get(f"/api/v1/therapist/clients/{client.id}/brief").json()
    (figures,) = [item for item in brief["records"] if item["assignment_id"] == str(record.id)]
    assert figures["in_the_moment"] == {"done": 4, "expected": 6, "value": pytest.approx(4 / 6)}
    assert figures["complete"] == {"done": 3, "expected": 6, "value": 0.5}
    (row,) = api.get("/api/v1/therapist/caseload").json()
    assert row["records"][0]["in_the_moment"]["done"] == 4 and row["records"][0]["complete"]["done"] == 3
    adherence = api.get(f"/api/v1/therapist/clients/{client.id}/adherence").json()
    assert adherence["records"][0]["in_the_moment"]["expected"] == 6
    assert adherence["records"][0]["complete"] == {"done": 3, "expected": 6, "value": 0.5}
    schema = api.get("/openapi.json").json()["components"]["schemas"]["AdherencePublic"]["properties"]
    assert {"in_the_moment", "complete"} <= set(schema)
