"""The therapist's record types pages and the form builder, through real HTTP."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import RecordTemplate, TemplateVersion, Therapist
from tests.factories import (
    browser,
    library_template,
    make_assignment,
    make_client,
    make_entry,
    make_template,
    make_therapist,
    signed_in,
)

HX = {"HX-Request": "true"}


def _row(rid: str, label: str, kind: str = "short_text", **extra: str) -> dict[str, str]:
    return {"rid": rid, "label": label, "type": kind, **extra}


def _form(title: str, rows: list[dict[str, str]], **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {"title": title, "instructions": extra.pop("instructions", ""), "row": []}
    data.update(extra)
    for row in rows:
        rid = row["rid"]
        data["row"].append(rid)
        for part, value in row.items():
            if part != "rid":
                data[f"{rid}.{part}"] = value
    return data


MOOD_FORM = _form(
    "Evening check-in",
    [
        _row("r0001", "Mood today", "scale", required="1", min="0", max="10", example="7"),
        _row("r0002", "What helped?", "multi_choice", options="A walk\nA friend\nSleep", example="A walk, Sleep"),
    ],
    instructions="Fill this in before bed.",
)


def _own_templates(session: Session, therapist: Therapist) -> list[RecordTemplate]:
    session.expire_all()
    return list(session.exec(select(RecordTemplate).where(RecordTemplate.therapist_id == therapist.id)))


def _versions(session: Session, template_id: Any) -> list[TemplateVersion]:
    session.expire_all()
    statement = (
        select(TemplateVersion).where(TemplateVersion.template_id == template_id).order_by(col(TemplateVersion.number))
    )
    return list(session.exec(statement))


def _create(desk: Any, data: dict[str, Any] | None = None) -> str:
    response = desk.post("/t/templates", data=data or MOOD_FORM, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/t/templates/([0-9a-f-]{36})\?saved=1", response.headers["location"])
    assert match
    return match.group(1)


def test_library_page_lists_the_library_and_own_forms(web, session) -> None:
    therapist = make_therapist(session)
    own = make_template(session, therapist=therapist, title="Panic diary")
    desk = signed_in(web, session, therapist)
    page = desk.get("/t/templates")
    assert page.status_code == 200
    library = session.exec(select(RecordTemplate).where(col(RecordTemplate.therapist_id).is_(None))).all()
    assert library, "the library is synced into the database"
    for template in library:
        assert f'href="/t/templates/{template.id}"' in page.text
    assert "Mood log" in page.text
    assert "Panic diary" in page.text
    assert f'href="/t/templates/{own.id}/edit"' in page.text
    assert 'href="/t/templates/new"' in page.text


def test_library_template_preview_uses_the_client_form_disabled(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    mood_log = library_template(session, "mood_log")
    page = desk.get(f"/t/templates/{mood_log.id}")
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.text
    assert 'name="a.mood"' in page.text  # rendered by the same macro the client sees
    assert "How to fill this in" in page.text
    assert "An example" in page.text
    assert "/edit" not in page.text  # the library is read-only
    assert "Versions" not in page.text


def test_create_a_form_through_the_builder(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    page = desk.get("/t/templates/new")
    assert page.status_code == 200
    assert 'action="/t/templates"' in page.text
    assert 'hx-post="/t/templates/builder/row"' in page.text
    assert 'hx-trigger="change delay:500ms"' in page.text

    template_id = _create(desk)
    [template] = _own_templates(session, therapist)
    assert str(template.id) == template_id
    [version] = _versions(session, template.id)
    assert version.title == "Evening check-in"
    assert version.instructions == "Fill this in before bed."
    assert [(f["key"], f["type"], f["label"]) for f in version.fields] == [
        ("mood_today", "scale", "Mood today"),
        ("what_helped", "multi_choice", "What helped?"),
    ]
    assert version.fields[0]["required"] is True
    assert [o["value"] for o in version.fields[1]["options"]] == ["a_walk", "a_friend", "sleep"]
    assert version.example == {"mood_today": 7, "what_helped": ["a_walk", "sleep"]}

    shown = desk.get(f"/t/templates/{template_id}?saved=1")
    assert "Saved." in shown.text
    assert "<fieldset disabled>" in shown.text
    assert 'name="a.mood_today"' in shown.text
    assert "Version 1" in shown.text


def test_edit_makes_a_new_version_and_old_entries_keep_their_labels(web, session, app) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    desk = signed_in(web, session, therapist)
    template_id = _create(desk)
    template = session.get(RecordTemplate, uuid.UUID(template_id))
    assert template is not None
    assignment = make_assignment(session, client=client, template=template)
    make_entry(session, client=client, assignment=assignment, answers={"mood_today": 4})

    form = desk.get(f"/t/templates/{template_id}/edit")
    assert form.status_code == 200
    assert "You're editing version 1" in form.text
    rids = re.findall(r'name="row" value="(r[0-9a-f]+)"', form.text)
    assert len(rids) == 2
    assert f'name="{rids[0]}.key" value="mood_today"' in form.text

    edited = _form(
        "Evening check-in",
        [
            _row(rids[0], "How was your day overall?", "scale", key="mood_today", min="1", max="5"),
            _row("r0003", "One good thing", "long_text"),
        ],
    )
    response = desk.post(f"/t/templates/{template_id}", data=edited, follow_redirects=False)
    assert response.status_code == 303, response.text
    versions = _versions(session, template.id)
    assert [v.number for v in versions] == [1, 2]
    assert [f["key"] for f in versions[1].fields] == ["mood_today", "one_good_thing"]
    assert versions[1].fields[0]["label"] == "How was your day overall?"
    assert versions[0].fields[0]["label"] == "Mood today"  # version 1 is untouched

    client_page = desk.get(f"/t/clients/{client.id}")
    assert "Mood today" in client_page.text
    assert "4 / 10" in client_page.text
    assert "How was your day overall?" not in client_page.text

    with browser(app) as phone:
        signed_in(phone, session, client)
        entries = phone.get("/c/entries")
        assert entries.status_code == 200
        assert "Mood today" in entries.text
        assert "How was your day overall?" not in entries.text
        new_form = phone.get(f"/c/record/{assignment.id}")
        assert "How was your day overall?" in new_form.text

    history = desk.get(f"/t/templates/{template_id}")
    assert "Version 1" in history.text and "Version 2" in history.text
    old = desk.get(f"/t/templates/{template_id}?version=1")
    assert "Mood today" in old.text
    assert desk.get(f"/t/templates/{template_id}?version=9").status_code == 404


def test_saving_an_unchanged_form_adds_no_version(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    template_id = _create(desk)
    same = {**MOOD_FORM, "r0001.key": "mood_today", "r0002.key": "what_helped"}
    response = desk.post(f"/t/templates/{template_id}", data=same, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert len(_versions(session, uuid.UUID(template_id))) == 1


def test_add_row_returns_a_fragment_for_htmx_and_the_page_otherwise(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    data = _form("Draft", [_row("r0001", "First question")])
    fragment = desk.post("/t/templates/builder/row", data=data, headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<li class="builder-row"')
    assert "<html" not in fragment.text
    assert "Field 2" in fragment.text
    assert "autofocus" in fragment.text
    assert 'name="r0001.label"' not in fragment.text

    page = desk.post("/t/templates/builder/row", data=data)
    assert page.status_code == 200
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert len(re.findall(r'name="row" value="', page.text)) == 2
    assert 'value="First question"' in page.text


def test_preview_returns_a_fragment_for_htmx_and_the_page_otherwise(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    rows = [_row("r0001", "Sleep quality", "scale"), _row("r0002", "Feeling", "single_choice", options="One")]
    data = _form("Draft", rows)
    fragment = desk.post("/t/templates/builder/preview", data=data, headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="builder-preview"')
    assert "<fieldset disabled>" in fragment.text
    assert 'name="a.sleep_quality"' in fragment.text
    assert "left out of the preview" in fragment.text  # the choice with one option
    assert "<html" not in fragment.text

    page = desk.post("/t/templates/builder/preview", data=data)
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert 'name="a.sleep_quality"' in page.text
    assert _own_templates(session, therapist) == []  # previewing stores nothing


def test_move_and_remove_rows(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    rows = [_row("r0001", "First"), _row("r0002", "Second"), _row("r0003", "Third")]

    moved = desk.post("/t/templates/builder/rows", data={**_form("Draft", rows), "op": "up:r0002"}, headers=HX)
    assert moved.status_code == 200
    assert moved.text.lstrip().startswith('<ol id="builder-rows"')
    order = re.findall(r'name="row" value="(r\d+)"', moved.text)
    assert order == ["r0002", "r0001", "r0003"]
    assert 'hx-swap-oob="true"' in moved.text  # the preview follows
    assert "Field moved to position 1 of 3." in moved.text

    removed = desk.post("/t/templates/builder/rows", data={**_form("Draft", rows), "op": "remove:r0001"}, headers=HX)
    assert re.findall(r'name="row" value="(r\d+)"', removed.text) == ["r0002", "r0003"]
    assert "Field removed." in removed.text

    # Without JavaScript the same buttons submit the whole form and get the whole page back.
    page = desk.post("/t/templates/builder/rows", data={**_form("Draft", rows), "op": "down:r0001"})
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert re.findall(r'name="row" value="(r\d+)"', page.text) == ["r0002", "r0001", "r0003"]
    assert re.search(r'id="b-r0001-down"[^>]*autofocus', page.text)


BAD_INPUT = [
    (_form("No fields", []), "Add at least one field"),
    (_form("Blank rows only", [_row("r0001", "  ")]), "Add at least one field"),
    (_form("One option", [_row("r0001", "Pick", "single_choice", options="Only")]), "at least two options"),
    (_form("Range", [_row("r0001", "Scale", "scale", min="5", max="5")]), "above the lowest"),
    (_form("Range", [_row("r0001", "Number", "number", min="10", max="2")]), "above the lowest"),
    (_form("Type", [_row("r0001", "Mystery", "hologram")]), "Choose a kind of answer"),
    (_form("Dupes", [_row("r0001", "Feel", "emotion", options="Sad\nAngry\nsad")]), "listed twice"),
    (_form("Long", [_row("r0001", "x" * 301)]), "under 300 characters"),
    (_form("y" * 121, [_row("r0001", "Fine")]), "under 120 characters"),
    (_form("Length", [_row("r0001", "Note", "short_text", max_length="9000")]), "from 1 to 500"),
    (_form("Example", [_row("r0001", "Mood", "scale", example="42")]), "from 0 to 10"),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUT)
def test_bad_builder_input_is_422_with_a_message_and_stores_nothing(web, session, data, message) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    response = desk.post("/t/templates", data=data, follow_redirects=False)
    assert response.status_code == 422
    assert message in response.text
    assert 'role="alert"' in response.text
    assert _own_templates(session, therapist) == []


def test_row_messages_are_tied_to_their_inputs(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    data = _form("Ties", [_row("r0001", "Fine"), _row("r0002", "Pick", "likert", options="Agree")])
    response = desk.post("/t/templates", data=data)
    assert response.status_code == 422
    assert re.search(r'aria-describedby="b-r0002-options-hint b-r0002-options-error"', response.text)
    assert 'id="b-r0002-options-error"' in response.text
    assert 'href="#b-r0002-options"' in response.text  # the summary links to the input
    assert "Field 2: Give at least two options" in response.text
    assert 'value="Fine"' in response.text  # what was typed is kept


def test_bad_edit_is_422_and_keeps_the_stored_version(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    template_id = _create(desk)
    response = desk.post(f"/t/templates/{template_id}", data=_form("", [_row("r0001", "Mood", "scale", max="500")]))
    assert response.status_code == 422
    assert "Give the form a title" in response.text
    assert "at the most" in response.text
    versions = _versions(session, uuid.UUID(template_id))
    assert len(versions) == 1
    assert versions[0].title == "Evening check-in"


def test_another_therapist_gets_404_for_an_own_form(web, session, app) -> None:
    owner = make_therapist(session)
    template = make_template(session, therapist=owner, title="Private form of A")
    with browser(app) as other_web:
        other = signed_in(other_web, session, make_therapist(session))
        assert other.get(f"/t/templates/{template.id}").status_code == 404
        assert other.get(f"/t/templates/{template.id}/edit").status_code == 404
        post = other.post(f"/t/templates/{template.id}", data=_form("Taken over", [_row("r0001", "Mine now")]))
        assert post.status_code == 404
        for endpoint in ("row", "rows", "preview"):
            data = _form("Peek", [_row("r0001", "Q")], template_id=str(template.id))
            assert other.post(f"/t/templates/builder/{endpoint}", data=data).status_code == 404
        listing = other.get("/t/templates")
        assert "Private form of A" not in listing.text
    assert len(_versions(session, template.id)) == 1
    assert _versions(session, template.id)[0].title == "Private form of A"


def test_a_client_session_cannot_reach_the_record_types_pages(web, session) -> None:
    therapist = make_therapist(session)
    template = make_template(session, therapist=therapist)
    phone = signed_in(web, session, make_client(session, therapist=therapist))
    for path in ("/t/templates", "/t/templates/new", f"/t/templates/{template.id}", f"/t/templates/{template.id}/edit"):
        response = phone.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/signin"
    for path in (
        "/t/templates",
        f"/t/templates/{template.id}",
        "/t/templates/builder/row",
        "/t/templates/builder/rows",
        "/t/templates/builder/preview",
    ):
        response = phone.post(path, data=MOOD_FORM, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/signin"
    assert len(_own_templates(session, therapist)) == 1
    assert web.get("/t/templates", headers={"Accept": "application/json"}).status_code == 401


def test_missing_csrf_token_is_403_and_stores_nothing(web, session) -> None:
    therapist = make_therapist(session)
    template = make_template(session, therapist=therapist)
    desk = signed_in(web, session, therapist)
    del desk.headers["X-CSRF-Token"]
    assert desk.post("/t/templates", data=MOOD_FORM).status_code == 403
    assert desk.post(f"/t/templates/{template.id}", data=MOOD_FORM).status_code == 403
    assert desk.post("/t/templates/builder/row", data=MOOD_FORM, headers=HX).status_code == 403
    assert desk.post("/t/templates/builder/rows", data={**MOOD_FORM, "op": "up:r0002"}).status_code == 403
    assert len(_own_templates(session, therapist)) == 1
    assert len(_versions(session, template.id)) == 1
