"""The form builder service: rows to field definitions, keys, examples and versions."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select
from starlette.datastructures import FormData

from app.core.errors import Invalid, NotFound
from app.models import RecordTemplate, TemplateVersion
from app.models.fields import KEY
from app.services import form_builder, record_types
from app.services.form_builder import Draft, Row
from tests.factories import make_template, make_therapist


def _draft(*rows: Row, title: str = "A form") -> Draft:
    return Draft(title=title, rows=list(rows))


def _versions(session: Session, template: RecordTemplate) -> list[TemplateVersion]:
    session.expire_all()
    return list(session.exec(select(TemplateVersion).where(TemplateVersion.template_id == template.id)))


# --- Pure: no database ------------------------------------------------------------


def test_read_draft_keeps_row_order_and_ignores_forged_or_repeated_rows() -> None:
    form = FormData(
        [
            ("title", "Sleep"),
            ("row", "r00b2"),
            ("row", "not-a-row"),
            ("row", "r00a1"),
            ("row", "r00b2"),
            ("r00a1.label", "Second"),
            ("r00a1.required", "1"),
            ("r00b2.label", "First"),
            ("r00b2.type", "long_text"),
            ("r00b2.options", "a\r\nb"),
            ("template_id", "garbage"),
        ]
    )
    draft = form_builder.read_draft(form=form)
    assert [row.rid for row in draft.rows] == ["r00b2", "r00a1"]
    assert [row.label for row in draft.rows] == ["First", "Second"]
    assert draft.rows[0].type == "long_text" and draft.rows[0].required is False
    assert draft.rows[1].type == "short_text" and draft.rows[1].required is True
    assert draft.rows[0].options == "a\nb"
    assert draft.template_id is None


@pytest.mark.parametrize(
    ("labels", "keys"),
    [
        (["Mood", "mood!", "MOOD"], ["mood", "mood_2", "mood_3"]),
        (["¿Cómo dormiste anoche?"], ["como_dormiste_anoche"]),
        (["3 good things"], ["field_3_good_things"]),
        (["睡眠の質"], ["field"]),
        (["A very long question about how the whole of today went, really"], None),
    ],
)
def test_keys_are_ascii_unique_and_valid(labels: list[str], keys: list[str] | None) -> None:
    rows = [Row(rid=f"r{i:04x}", label=label) for i, label in enumerate(labels, start=1)]
    built = form_builder.build(draft=_draft(*rows))
    assert built.errors == {}
    derived = [spec["key"] for spec in built.fields]
    assert all(KEY.match(key) for key in derived)
    assert len(set(derived)) == len(derived)
    if keys is not None:
        assert derived == keys


def test_an_existing_fields_key_survives_a_new_label_and_old_keys_are_not_reused() -> None:
    draft = _draft(
        Row(rid="r0001", key="mood", label="How do you feel?", type="scale"),
        Row(rid="r0002", label="Sleep"),
        Row(rid="r0003", label="How do you feel?"),
    )
    built = form_builder.build(draft=draft, reserved={"mood", "sleep"})
    assert [spec["key"] for spec in built.fields] == ["mood", "sleep_2", "how_do_you_feel"]


def test_a_forged_or_duplicated_hidden_key_is_replaced() -> None:
    draft = _draft(
        Row(rid="r0001", key="Bad Key!", label="One"),
        Row(rid="r0002", key="two", label="Two"),
        Row(rid="r0003", key="two", label="Three"),
    )
    assert [spec["key"] for spec in form_builder.build(draft=draft).fields] == ["one", "two", "three"]


def test_blank_rows_are_skipped_but_a_form_needs_one_field() -> None:
    built = form_builder.build(draft=_draft(Row(rid="r0001"), Row(rid="r0002", label="  ", type="scale")))
    assert "Add at least one field" in built.errors["fields"]
    built = form_builder.build(draft=_draft(Row(rid="r0001"), Row(rid="r0002", label="Note")))
    assert built.errors == {}
    assert len(built.fields) == 1


def test_choice_options_become_values_and_bad_options_are_named() -> None:
    draft = _draft(Row(rid="r0001", label="Where", type="single_choice", options=" At home \n\nAt work\nÀ l'école\n"))
    built = form_builder.build(draft=draft)
    assert built.fields[0]["options"] == [
        {"value": "at_home", "label": "At home"},
        {"value": "at_work", "label": "At work"},
        {"value": "a_l_ecole", "label": "À l'école"},
    ]
    cases = {
        "Only one": "at least two options",
        "Yes\nyes": "listed twice",
        "Sad!\nSad?": None,  # different words, same slug: values made unique
        "\n".join(f"o{i}" for i in range(12)): "12",
    }
    for options, message in cases.items():
        row = Row(rid="r0001", label="Pick", type="likert", options=options)
        built = form_builder.build(draft=_draft(row))
        if message is None:
            assert built.errors == {}
            assert [o["value"] for o in built.fields[0]["options"]] == ["sad", "sad_2"]
        elif message == "12":
            assert "11 options or fewer" in built.errors["r0001.options"]
        else:
            assert message in built.errors["r0001.options"]
    long_option = Row(rid="r0001", label="Pick", type="multi_choice", options="ok\n" + "x" * 121)
    assert "120 characters" in form_builder.build(draft=_draft(long_option)).errors["r0001.options"]


def test_scale_and_number_ranges() -> None:
    def problems(**row: str) -> dict[str, str]:
        return form_builder.build(draft=_draft(Row(rid="r0001", label="Q", **row))).errors  # type: ignore[arg-type]

    built = form_builder.build(draft=_draft(Row(rid="r0001", label="Q", type="scale")))
    assert (built.fields[0]["min"], built.fields[0]["max"]) == (0, 10)
    assert "above the lowest" in problems(type="scale", min="7", max="7")["r0001.max"]
    assert "above the lowest" in problems(type="scale", min="8", max="2")["r0001.max"]
    assert "whole number" in problems(type="scale", min="1.5")["r0001.min"]
    assert "at the most" in problems(type="scale", max="101")["r0001.max"]
    assert "at the least" in problems(type="scale", min="-101")["r0001.min"]
    assert problems(type="number") == {}
    assert problems(type="number", min="0,5", max="7.5") == {}
    assert "above the lowest" in problems(type="number", min="3", max="3")["r0001.max"]
    assert "Use a number" in problems(type="number", max="lots")["r0001.max"]
    assert "Use a number" in problems(type="number", min="inf")["r0001.min"]


def test_text_lengths_and_oversized_text() -> None:
    def problems(**row: str) -> dict[str, str]:
        return form_builder.build(draft=_draft(Row(rid="r0001", **row))).errors  # type: ignore[arg-type]

    built = form_builder.build(draft=_draft(Row(rid="r0001", label="Q", type="long_text", max_length="800")))
    assert built.fields[0]["max_length"] == 800
    assert "from 1 to 500" in problems(label="Q", type="short_text", max_length="501")["r0001.max_length"]
    assert "from 1 to 20 000" in problems(label="Q", type="long_text", max_length="0")["r0001.max_length"]
    assert "300" in problems(label="x" * 301)["r0001.label"]
    assert "1000" in problems(label="Q", help="x" * 1001)["r0001.help"]
    assert "Write the question" in problems(help="only help")["r0001.label"]
    assert "Choose a kind" in problems(label="Q", type="hologram")["r0001.type"]
    rows = [Row(rid="r0001", label="Q")]
    built = form_builder.build(draft=Draft(title="t" * 121, instructions="i" * 4001, rows=rows))
    assert "120" in built.errors["title"] and "4000" in built.errors["instructions"]
    assert "Give the form a title" in form_builder.build(draft=Draft(rows=rows)).errors["title"]


def test_examples_typed_as_words_are_stored_as_answers() -> None:
    draft = _draft(
        Row(rid="r0001", label="Mood", type="scale", example="6"),
        Row(rid="r0002", label="Place", type="single_choice", options="Home\nWork", example="work"),
        Row(rid="r0003", label="Helped", type="multi_choice", options="Walk\nTea\nMusic", example="Walk, music"),
        Row(rid="r0004", label="Felt", type="emotion", options="Sad\nCalm", example="Sad 70, Calm"),
        Row(rid="r0005", label="Slept well", type="yes_no", example="Yes"),
        Row(rid="r0006", label="Bed time", type="time_of_day", example="23:30"),
        Row(rid="r0007", label="Note", example="Went for a walk."),
        Row(rid="r0008", label="Say it", type="voice", example="ignored"),
    )
    built = form_builder.build(draft=draft)
    assert built.errors == {}
    assert built.example == {
        "mood": 6,
        "place": "work",
        "helped": ["walk", "music"],
        "felt": {"sad": 70, "calm": 50},
        "slept_well": True,
        "bed_time": "23:30",
        "note": "Went for a walk.",
    }
    bad = _draft(
        Row(rid="r0001", label="Mood", type="scale", example="11"),
        Row(rid="r0002", label="Place", type="single_choice", options="Home\nWork", example="School"),
        Row(rid="r0003", label="Bed", type="time_of_day", example="late"),
    )
    errors = form_builder.build(draft=bad).errors
    assert "from 0 to 10" in errors["r0001.example"]
    assert "“School” is not one of the options" in errors["r0002.example"]
    assert "23:30" in errors["r0003.example"]


def test_settings_the_builder_does_not_show_are_kept_on_edit() -> None:
    previous = [
        {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "min_label": "Low", "max_label": "High"},
        {"key": "cups", "type": "number", "label": "Cups", "unit": "cups", "integer": True},
    ]
    draft = _draft(
        Row(rid="r0001", key="mood", label="Mood now", type="scale", min="0", max="10"),
        Row(rid="r0002", key="cups", label="Cups of coffee", type="short_text"),
    )
    built = form_builder.build(draft=draft, previous=previous)
    assert built.fields[0]["min_label"] == "Low" and built.fields[0]["max_label"] == "High"
    assert "unit" not in built.fields[1]  # the type changed: nothing carries over


def test_remove_and_move_rows() -> None:
    draft = _draft(Row(rid="r0001"), Row(rid="r0002"), Row(rid="r0003"))
    change = form_builder.apply(draft=draft, op="down:r0001")
    assert change and change.focus_rid == "r0001" and change.focus_part == "down"
    assert [row.rid for row in draft.rows] == ["r0002", "r0001", "r0003"]
    change = form_builder.apply(draft=draft, op="up:r0002")
    assert change and "already first" in change.status
    change = form_builder.apply(draft=draft, op="remove:r0003")
    assert change and change.focus_rid == "r0001" and change.focus_part == "label"
    assert form_builder.apply(draft=draft, op="remove:nope") is None
    assert form_builder.apply(draft=draft, op="explode:r0001") is None
    form_builder.apply(draft=draft, op="remove:r0001")
    change = form_builder.apply(draft=draft, op="remove:r0002")
    assert change and change.focus_rid is None and draft.rows == []


# --- With the database --------------------------------------------------------------


def test_save_creates_a_form_and_an_edit_makes_version_2(session) -> None:
    therapist = make_therapist(session)
    draft = _draft(
        Row(rid="r0001", label="Mood", type="scale", required=True, example="5"),
        Row(rid="r0002", label="Where", type="single_choice", options="Home\nWork", example="Home"),
        title="Daily",
    )
    template = form_builder.save(session, therapist=therapist, draft=draft)
    session.commit()
    [v1] = _versions(session, template)
    assert v1.example == {"mood": 5, "where": "home"}

    again = form_builder.draft_from_version(version=v1)
    assert [(row.key, row.label, row.example) for row in again.rows] == [
        ("mood", "Mood", "5"),
        ("where", "Where", "Home"),
    ]
    assert again.rows[1].options == "Home\nWork"
    form_builder.save(session, therapist=therapist, draft=again, template_id=template.id)
    session.commit()
    assert len(_versions(session, template)) == 1  # nothing changed, no new version

    again.rows[0].label = "Mood tonight"
    again.rows.append(Row(rid="r0009", label="Mood"))
    form_builder.save(session, therapist=therapist, draft=again, template_id=template.id)
    session.commit()
    versions = sorted(_versions(session, template), key=lambda v: v.number)
    assert [v.number for v in versions] == [1, 2]
    assert [f["key"] for f in versions[1].fields] == ["mood", "where", "mood_2"]
    assert versions[0].fields[0]["label"] == "Mood"
    assert [v.number for v in form_builder.history(session, template=template)] == [2, 1]
    assert form_builder.version_of(session, template=template, number=1).id == versions[0].id
    with pytest.raises(NotFound):
        form_builder.version_of(session, template=template, number=3)


def test_save_refuses_bad_input_and_stores_nothing(session) -> None:
    therapist = make_therapist(session)
    bad = _draft(Row(rid="r0001", label="Pick", type="likert", options="One"))
    with pytest.raises(Invalid) as caught:
        form_builder.save(session, therapist=therapist, draft=bad)
    assert "r0001.options" in caught.value.errors
    session.rollback()
    assert session.exec(select(RecordTemplate).where(RecordTemplate.therapist_id == therapist.id)).all() == []

    template = make_template(session, therapist=therapist)
    with pytest.raises(Invalid):
        form_builder.save(session, therapist=therapist, draft=bad, template_id=template.id)
    session.rollback()
    assert len(_versions(session, template)) == 1


def test_another_therapists_form_cannot_be_edited_or_used_as_a_builder_base(session) -> None:
    owner = make_therapist(session)
    other = make_therapist(session)
    template = make_template(session, therapist=owner)
    draft = _draft(Row(rid="r0001", label="Mine"))
    with pytest.raises(NotFound):
        form_builder.save(session, therapist=other, draft=draft, template_id=template.id)
    with pytest.raises(NotFound):
        form_builder.editing(session, therapist=other, draft=Draft(template_id=template.id))
    with pytest.raises(NotFound):
        form_builder.editing(session, therapist=other, draft=Draft(template_id=uuid.uuid4()))
    assert form_builder.editing(session, therapist=owner, draft=Draft(template_id=template.id)) == template
    assert record_types.current_version(session, template=template).number == 1
