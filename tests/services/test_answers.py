"""Server-side validation of answers, one field type at a time."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import Session

from app.core.errors import Invalid
from app.models import EntryCreate
from app.models.fields import FieldDef, parse_fields
from app.services import entries
from app.services.answers import AnswerError, validate_answers
from tests.factories import make_assignment, make_client, make_template, make_therapist


def options(*values: str) -> list[dict[str, str]]:
    return [{"value": value, "label": value.title()} for value in values]


FORM_SPEC: list[dict[str, Any]] = [
    {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "required": True},
    {"key": "agree", "type": "likert", "label": "Agree?", "options": options("1", "2", "3")},
    {
        "key": "place",
        "type": "single_choice",
        "label": "Where?",
        "options": options("home", "work"),
    },
    {"key": "skills", "type": "multi_choice", "label": "Skills", "options": options("a", "b", "c")},
    {"key": "feelings", "type": "emotion", "label": "Feelings", "options": options("sad", "calm")},
    {"key": "ate", "type": "yes_no", "label": "Did you eat?"},
    {"key": "glasses", "type": "number", "label": "Water", "min": 0, "max": 20, "integer": True},
    {"key": "weight", "type": "number", "label": "Weight", "min": 0.5, "max": 300},
    {"key": "anything", "type": "number", "label": "Any number"},
    {"key": "bedtime", "type": "time_of_day", "label": "Bedtime"},
    {"key": "slept", "type": "duration", "label": "Slept", "max_minutes": 720},
    {"key": "title", "type": "short_text", "label": "Title", "max_length": 20},
    {"key": "story", "type": "long_text", "label": "Story", "max_length": 100},
    {"key": "memo", "type": "voice", "label": "Voice note"},
]
FORM: list[FieldDef] = parse_fields(FORM_SPEC)
# Fixed, so parametrized test ids are the same in every xdist worker.
VOICE_ID = "600e92a7-e4a5-4505-a554-af2a2c6b4564"


def check(key: str, value: Any) -> Any:
    """Validate one answer next to a valid required mood; return its cleaned value."""
    answers = {"mood": value} if key == "mood" else {"mood": 5, key: value}
    return validate_answers(FORM, answers).get(key)


def problems(answers: dict[str, Any], **options: Any) -> dict[str, str]:
    with pytest.raises(AnswerError) as raised:
        validate_answers(FORM, answers, **options)
    return raised.value.errors


def test_the_test_form_has_every_field_type() -> None:
    from app.models.fields import FIELD_TYPES

    assert {field.type for field in FORM} == set(FIELD_TYPES)


@pytest.mark.parametrize(
    ("key", "value", "cleaned"),
    [
        ("mood", 0, 0),
        ("mood", 10, 10),
        ("mood", "7", 7),
        ("mood", " 7 ", 7),
        ("mood", 7.0, 7),
        ("agree", "2", "2"),
        ("agree", 2, "2"),
        ("place", "work", "work"),
        ("skills", ["c", "a"], ["a", "c"]),
        ("skills", ["b", "b"], ["b"]),
        ("skills", "b", ["b"]),
        ("feelings", {"sad": 80, "calm": "0"}, {"sad": 80, "calm": 0}),
        ("feelings", {"calm": 100}, {"calm": 100}),
        ("ate", True, True),
        ("ate", False, False),
        ("ate", "yes", True),
        ("ate", "no", False),
        ("ate", "true", True),
        ("ate", "0", False),
        ("ate", 1, True),
        ("ate", 0, False),
        ("glasses", 0, 0),
        ("glasses", 20, 20),
        ("glasses", "4", 4),
        ("glasses", 3.0, 3),
        ("weight", 0.5, 0.5),
        ("weight", "72,5", 72.5),
        ("weight", " 300 ", 300),
        ("anything", -1e6, -1000000),
        ("bedtime", "23:30", "23:30"),
        ("bedtime", "00:00", "00:00"),
        ("bedtime", " 07:05 ", "07:05"),
        ("slept", 0, 0),
        ("slept", 720, 720),
        ("slept", "90", 90),
        ("title", "  Hello  ", "Hello"),
        ("title", "x" * 20, "x" * 20),
        ("title", "  " + "x" * 20 + "  ", "x" * 20),
        ("title", "Café ☕ ünïcödé", "Café ☕ ünïcödé"),
        ("story", "x" * 100, "x" * 100),
        ("story", "line one\nline two", "line one\nline two"),
        ("memo", VOICE_ID, VOICE_ID),
    ],
)
def test_valid_answers_are_cleaned(key: str, value: Any, cleaned: Any) -> None:
    result = check(key, value)
    assert result == cleaned
    assert type(result) is type(cleaned)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # wrong types
        ("mood", "five"),
        ("mood", True),
        ("mood", [5]),
        ("mood", {"value": 5}),
        ("mood", 5.5),
        ("agree", True),
        ("agree", 2.0),
        ("agree", ["2"]),
        ("place", ["work"]),
        ("skills", [1]),
        ("skills", {"a": True}),
        ("feelings", ["sad"]),
        ("feelings", "sad"),
        ("feelings", {"sad": "a lot"}),
        ("feelings", {"sad": True}),
        ("ate", [True]),
        ("glasses", "abc"),
        ("glasses", True),
        ("glasses", [1]),
        ("glasses", 2.5),
        ("anything", "nan"),
        ("anything", "inf"),
        pytest.param("anything", 10**400, id="anything-huge-int"),
        ("bedtime", 2330),
        ("slept", "1h"),
        ("slept", 1.5),
        ("title", 5),
        ("title", ["a"]),
        ("story", {"text": "hi"}),
        ("memo", 5),
        # out of range
        ("mood", -1),
        ("mood", 11),
        ("glasses", -1),
        ("glasses", 21),
        ("weight", 0.4),
        ("weight", "300.1"),
        ("feelings", {"sad": 101}),
        ("feelings", {"sad": -1}),
        ("bedtime", "24:00"),
        ("bedtime", "23:60"),
        ("bedtime", "7:30"),
        ("bedtime", "11pm"),
        ("slept", -1),
        ("slept", 721),
        # unknown option
        ("agree", "4"),
        ("agree", 0),
        ("place", "beach"),
        ("skills", ["a", "d"]),
        ("skills", "d"),
        ("feelings", {"angry": 50}),
        ("ate", "maybe"),
        ("ate", 2),
        # oversized text
        ("title", "x" * 21),
        ("story", "x" * 101),
        ("memo", "x" * 65),
    ],
)
def test_invalid_answers_are_refused_and_the_error_names_the_field(key: str, value: Any) -> None:
    answers = {"mood": value} if key == "mood" else {"mood": 5, key: value}
    errors = problems(answers)
    assert list(errors) == [key]
    assert errors[key].strip()


def test_the_error_says_what_would_be_right() -> None:
    assert "0" in problems({"mood": 11})["mood"] and "10" in problems({"mood": 11})["mood"]
    assert "20" in problems({"mood": 1, "title": "x" * 21})["title"]
    assert "720" in problems({"mood": 1, "slept": 721})["slept"]


def test_an_unknown_field_key_is_named() -> None:
    errors = problems({"mood": 5, "colour": "red"})
    assert list(errors) == ["colour"]
    assert "colour" in errors["colour"]


def test_an_unknown_field_key_is_shortened_in_the_error() -> None:
    errors = problems({"mood": 5, "x" * 500: 1})
    assert list(errors) == ["x" * 40]


def test_a_required_field_must_be_answered() -> None:
    for empty in ({}, {"mood": None}, {"mood": ""}, {"mood": "   "}):
        assert list(problems(empty)) == ["mood"], empty


def test_whitespace_does_not_answer_a_required_text_field() -> None:
    fields = parse_fields([{"key": "note", "type": "long_text", "label": "Note", "required": True}])
    with pytest.raises(AnswerError) as raised:
        validate_answers(fields, {"note": " \n\t "})
    assert list(raised.value.errors) == ["note"]


def test_empty_optional_answers_are_left_out() -> None:
    answers = {
        "mood": 5,
        "title": "",
        "story": "   ",
        "skills": [],
        "feelings": {},
        "ate": None,
        "glasses": " ",
    }
    assert validate_answers(FORM, answers) == {"mood": 5}


def test_zero_and_no_are_answers_not_blanks() -> None:
    assert validate_answers(FORM, {"mood": 0, "ate": False, "glasses": 0}) == {
        "mood": 0,
        "ate": False,
        "glasses": 0,
    }


def test_every_problem_is_reported_at_once() -> None:
    errors = problems({"agree": "9", "slept": -5, "nope": 1})
    assert set(errors) == {"mood", "agree", "slept", "nope"}


def test_nothing_to_report_lets_required_fields_stay_empty() -> None:
    assert validate_answers(FORM, {}, nothing_to_report=True) == {}
    assert validate_answers(FORM, {"title": "Quiet day"}, nothing_to_report=True) == {"title": "Quiet day"}


def test_nothing_to_report_still_checks_what_was_given() -> None:
    assert list(problems({"mood": 11}, nothing_to_report=True)) == ["mood"]
    assert list(problems({"nope": 1}, nothing_to_report=True)) == ["nope"]


def test_text_that_cannot_be_stored_as_utf8_is_refused() -> None:
    # json.loads turns "\ud800" into a lone surrogate; it must not get past validation.
    story = json.loads('"before \\ud800 after"')
    errors = problems({"mood": 5, "story": story})
    assert list(errors) == ["story"]


def test_an_unknown_key_that_cannot_be_encoded_gives_an_error_that_can() -> None:
    key = json.loads('"bad\\udc80key"')
    errors = problems({"mood": 5, key: 1})
    json.dumps(errors, ensure_ascii=False).encode("utf-8")


def test_answer_error_message_lists_the_fields() -> None:
    with pytest.raises(AnswerError) as raised:
        validate_answers(FORM, {"mood": 99})
    assert str(raised.value).startswith("mood: ")


# Through the entry service, on each database: bad answers are a 422, never a crash.

NOTE_FORM = [
    {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "required": True},
    {"key": "note", "type": "long_text", "label": "Note", "required": True},
]


def _create(session: Session, answers: dict[str, Any], **extra: Any) -> entries.SavedEntry:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(
        session,
        client=client,
        template=make_template(session, therapist=therapist, fields=NOTE_FORM),
    )
    return entries.create(
        session,
        client=client,
        data=EntryCreate(id=uuid.uuid4(), assignment_id=assignment.id, answers=answers, **extra),
    )


def test_entry_service_names_the_fields_in_its_error(session: Session) -> None:
    with pytest.raises(Invalid) as raised:
        _create(session, {"mood": 11, "note": "   "})
    assert set(raised.value.errors) == {"mood", "note"}


def test_entry_service_refuses_unencodable_text(session: Session) -> None:
    with pytest.raises(Invalid) as raised:
        _create(session, {"mood": 3, "note": json.loads('"\\ud83d"')})
    assert list(raised.value.errors) == ["note"]


def test_entry_service_stores_a_nothing_to_report_entry(session: Session) -> None:
    saved = _create(session, {}, nothing_to_report=True)
    session.commit()
    assert saved.created
    assert saved.entry.answers == {}
    assert saved.entry.nothing_to_report
