"""Barrier check-ins through the pages and the JSON API: one tap, idempotent, and private stays private."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.core import i18n
from app.models import BarrierCheckin, Frequency
from app.models.types import utcnow
from tests.factories import browser, make_assignment, make_client, make_entry, make_therapist, signed_in


def _setup(web, session, **options):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin Vale")
    assignment = make_assignment(session, client=client, **options)
    assignment.created_at = utcnow() - timedelta(days=6)
    session.add(assignment)
    session.commit()
    return signed_in(web, session, client), therapist, client, assignment


def _day(days_ago: int) -> str:
    return (utcnow().date() - timedelta(days=days_ago)).isoformat()


def _count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(BarrierCheckin)).one())


def test_the_api_is_idempotent_on_the_client_uuid(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    body = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "day": _day(1), "reason": "too_long"}
    first = phone.post("/api/v1/barriers", json=body)
    assert first.status_code == 201, first.text
    again = phone.post("/api/v1/barriers", json=body)
    assert again.status_code == 200 and again.json() == first.json()
    clash = phone.post("/api/v1/barriers", json={**body, "reason": "forgot"})
    assert clash.status_code == 409 and clash.json()["detail"]
    listed = phone.get("/api/v1/barriers").json()
    assert [item["reason"] for item in listed] == ["too_long"]
    assert listed[0]["visibility"] == "shared" and listed[0]["did_it_unrecorded"] is False
    assert _count(session) == 1


def test_the_api_refuses_bad_check_ins_clearly(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    base = {"assignment_id": str(assignment.id), "day": _day(1), "reason": "forgot"}
    cases = [
        ({"reason": "the dog ate it"}, 422),
        ({"assignment_id": str(uuid.uuid4())}, 404),
        ({"day": _day(-1)}, 422),
        ({"note": "x" * 10000}, 422),
        ({"reason": None}, 422),
    ]
    for change, status in cases:
        response = phone.post("/api/v1/barriers", json={**base, "id": str(uuid.uuid4()), **change})
        assert response.status_code == status, (change, response.text)
        assert response.json()["detail"]
    # Another client's record is not found, whoever asks.
    stranger = signed_in(browser(web.app), session, make_client(session))
    response = stranger.post("/api/v1/barriers", json={**base, "id": str(uuid.uuid4())})
    assert response.status_code == 404
    stranger.close()
    assert _count(session) == 0


def test_openapi_lists_the_barriers_tag(web) -> None:
    spec = web.get("/openapi.json").json()
    assert spec["paths"]["/api/v1/barriers"]["post"]["tags"] == ["barriers"]
    assert spec["paths"]["/api/v1/barriers"]["get"]["tags"] == ["barriers"]


def test_today_asks_one_tap_saves_and_thanks(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    today = phone.get("/c")
    assert "wasn&#39;t written yesterday" in today.text or "wasn't written yesterday" in today.text
    link = f"/c/barriers/new?assignment={assignment.id}&amp;day={_day(1)}"
    assert link in today.text
    page = phone.get(link.replace("&amp;", "&"))
    assert page.status_code == 200 and "It was too upsetting to write about" in page.text
    import re

    checkin_id = re.search(r'name="id" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {"id": checkin_id, "assignment": str(assignment.id), "day": _day(1), "note": "", "visibility": "shared"}
    saved = phone.post("/c/barriers", data={**form, "reason": "too_upsetting"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/c?told=1"
    thanks = phone.get("/c?told=1")
    assert "Thank you for telling us. That helps your therapist help you." in thanks.text
    assert "data-barrier-prompt" not in phone.get("/c").text
    stored = session.exec(select(BarrierCheckin)).one()
    assert stored.reason == "too_upsetting" and stored.visibility == "shared"


def test_a_long_note_is_shown_again_with_a_clear_message(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    form = {
        "id": str(uuid.uuid4()),
        "assignment": str(assignment.id),
        "day": _day(1),
        "note": "x" * 2500,
        "visibility": "private",
        "reason": "no_time",
    }
    response = phone.post("/c/barriers", data=form)
    assert response.status_code == 422
    assert "The note is too long: 2000 characters at most." in response.text
    assert 'value="private" checked' in response.text
    assert _count(session) == 0


def test_not_now_puts_the_question_away_for_the_day(web, session) -> None:
    phone, _therapist, _client, _assignment = _setup(web, session)
    assert "data-barrier-prompt" in phone.get("/c").text
    response = phone.post("/c/barriers/not-now", follow_redirects=False)
    assert response.status_code == 303
    assert "data-barrier-prompt" not in phone.get("/c").text


def test_the_record_form_offers_not_today_only_where_a_day_can_be_missed(web, session) -> None:
    phone, _therapist, client, assignment = _setup(web, session)
    assert "Not today, because…" in phone.get(f"/c/record/{assignment.id}").text
    events = make_assignment(session, client=client, frequency=Frequency.as_it_happens)
    assert "Not today, because…" not in phone.get(f"/c/record/{events.id}").text
    refused = phone.get(f"/c/barriers/new?assignment={events.id}")
    assert refused.status_code == 422 and "kept as it happens" in refused.text
    # Done today: nothing to explain, so the form does not offer it.
    make_entry(session, client=client, assignment=assignment)
    assert "Not today, because…" not in phone.get(f"/c/record/{assignment.id}").text


def test_the_brief_shows_shared_reasons_with_questions_and_never_a_private_one(web, session) -> None:
    phone, therapist, _client, assignment = _setup(web, session)
    for days_ago, reason, visibility, note in (
        (1, "too_upsetting", "shared", ""),
        (2, "too_upsetting", "discuss", "otter words"),
        (3, "not_sure_how", "shared", ""),
        (4, "no_point", "private", "zebra secret"),
    ):
        body = {
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "day": _day(days_ago),
            "reason": reason,
            "visibility": visibility,
            "note": note,
        }
        assert phone.post("/api/v1/barriers", json=body).status_code == 201
    desk = signed_in(browser(web.app), session, therapist)
    page = desk.get(f"/t/clients/{assignment.client_id}/brief").text
    desk.close()
    section = page[page.index('id="barriers"') :]
    section = section[: section.index("</section>")]
    assert "“It was too upsetting to write about”: 2 times" in section
    assert "What would make it safer to write about?" in section
    assert "“I wasn&#39;t sure how”: 1 time" in section or "“I wasn't sure how”: 1 time" in section
    assert "otter words" in section
    assert "zebra secret" not in page and "I didn&#39;t see the point" not in page and "see the point" not in page


def test_the_therapist_api_brief_has_the_same_reasons_and_never_a_private_one(web, session) -> None:
    phone, therapist, _client, assignment = _setup(web, session)
    for days_ago, reason, visibility, note, did_it in (
        (1, "too_upsetting", "shared", "", False),
        (2, "too_upsetting", "discuss", "otter words", False),
        (3, "too_long", "shared", "", False),
        (4, "no_point", "private", "zebra secret", False),
        (5, None, "shared", "", True),
    ):
        body = {
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "day": _day(days_ago),
            "visibility": visibility,
            "note": note,
        }
        body.update({"did_it_unrecorded": True} if did_it else {"reason": reason})
        assert phone.post("/api/v1/barriers", json=body).status_code == 201, body
    api = signed_in(browser(web.app), session, therapist)
    answer = api.get(f"/api/v1/therapist/clients/{assignment.client_id}/brief")
    api.close()
    assert answer.status_code == 200
    found = answer.json()["barriers"]
    assert found["total"] == 4
    assert [(r["reason"], r["count"]) for r in found["about_them"]] == [("too_upsetting", 2)]
    assert found["about_them"][0]["question"] == "What would make it safer to write about?"
    assert [(r["reason"], r["count"]) for r in found["about_the_task"]] == [("too_long", 1)]
    assert found["done_not_recorded"] == 1
    assert [(n["note"], n["discuss"], n["assignment_id"]) for n in found["notes"]] == [
        ("otter words", True, str(assignment.id))
    ]
    assert "zebra secret" not in answer.text and "no_point" not in answer.text
    assert answer.json()["agreements"] == []


def test_the_clients_download_holds_every_check_in_private_ones_too(web, session) -> None:
    import io
    import json
    import zipfile

    phone, _therapist, _client, assignment = _setup(web, session)
    for days_ago, visibility in ((1, "private"), (2, "shared")):
        body = {
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "day": _day(days_ago),
            "reason": "no_time",
            "visibility": visibility,
            "note": f"{visibility} words",
        }
        assert phone.post("/api/v1/barriers", json=body).status_code == 201
    archive = zipfile.ZipFile(io.BytesIO(phone.get("/c/export.zip").content))
    rows = json.loads(archive.read("barrier_checkins.json"))
    assert [row["note"] for row in rows] == ["shared words", "private words"]
    assert all("client_id" not in row and "device_id" not in row for row in rows)


def test_without_a_record_named_the_page_offers_the_recently_missed_ones(web, session) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    page = phone.get("/c/barriers/new")
    assert page.status_code == 200
    assert f"/c/barriers/new?assignment={assignment.id}&amp;day={_day(1)}" in page.text
    # Nothing missed: said warmly.
    calm = signed_in(browser(web.app), session, make_client(session))
    assert "Nothing left undone in the last few days. Thank you." in calm.get("/c/barriers/new").text
    calm.close()


def _form_on_today(page: str) -> dict[str, str]:
    """The hidden fields of Today's one-tap check-in form, as the phone would send them."""
    import re

    start = page.index("data-barrier-form")
    form = page[start : page.index("</form>", start)]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields.pop("csrf_token", None)
    return fields


@pytest.mark.parametrize("language", ["en", "es"])
def test_todays_one_tap_check_in_is_idempotent_on_its_client_uuid(web, session, language: str) -> None:
    phone, _therapist, _client, assignment = _setup(web, session)
    phone.headers["Accept-Language"] = language
    _ = i18n.translations(language).gettext
    today = phone.get("/c").text
    fields = _form_on_today(today)
    assert fields["assignment"] == str(assignment.id) and fields["day"] == _day(1)
    uuid.UUID(fields["id"])  # a check-in id, which the phone replaces with its own
    assert _("It was too upsetting to write about") in today

    # Sent twice (the answer was lost on the way back): one check-in, the same thanks.
    for _attempt in range(2):
        saved = phone.post("/c/barriers", data={**fields, "reason": "no_time"}, follow_redirects=False)
        assert saved.status_code == 303 and saved.headers["location"] == "/c?told=1"
    # The outbox's replay of the very same check-in through the API is answered, not doubled.
    body = {"id": fields["id"], "assignment_id": fields["assignment"], "day": fields["day"], "reason": "no_time"}
    replay = phone.post("/api/v1/barriers", json=body)
    assert replay.status_code == 200 and replay.json()["reason"] == "no_time"
    assert _count(session) == 1

    # Other words under the same id: a clear 409 in the client's language, nothing changes.
    clash = _("A check-in with this id already exists with different content.")
    page = phone.post("/c/barriers", data={**fields, "reason": "forgot"})
    assert page.status_code == 409 and html.escape(clash, quote=True) in page.text
    api = phone.post("/api/v1/barriers", json={**body, "did_it_unrecorded": True, "reason": None})
    assert api.status_code == 409 and api.json()["detail"] == clash
    session.expire_all()
    assert [row.reason for row in session.exec(select(BarrierCheckin))] == ["no_time"]


def test_a_private_check_in_sent_again_stays_one_and_private(web, session) -> None:
    phone, therapist, _client, assignment = _setup(web, session)
    fields = _form_on_today(phone.get("/c").text)
    form = {**fields, "did_it": "1", "visibility": "private", "note": "walrus words"}
    for _attempt in range(2):
        assert phone.post("/c/barriers", data=form, follow_redirects=False).status_code == 303
    stored = session.exec(select(BarrierCheckin)).one()
    assert stored.did_it_unrecorded and stored.visibility == "private" and stored.id == uuid.UUID(fields["id"])
    desk = signed_in(browser(web.app), session, therapist)
    brief = desk.get(f"/t/clients/{assignment.client_id}/brief").text
    desk.close()
    assert "walrus words" not in brief and "not recorded" not in brief
