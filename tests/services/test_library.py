"""The library of ready templates: its data, and syncing it into the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import app.library
from app.core.errors import NotFound
from app.library import KEY_SCALES, MOOD_LOG, TEMPLATES, LibraryTemplate
from app.models import RecordTemplate, TemplateVersion
from app.models.fields import parse_fields
from app.services import library, scoring
from app.services.answers import validate_answers
from app.services.entry_text import entry_views
from tests.factories import (
    library_template,
    make_assignment,
    make_client,
    make_entry,
    make_template,
    make_therapist,
)

SLUGS = {
    "mood_log",
    "thought_record",
    "abc_record",
    "sleep_diary",
    "dbt_diary_card",
    "urge_log",
    "exposure_log",
    "free_note",
    "phq9",
    "gad7",
}
FREQUENCY = [
    ("0", "Not at all"),
    ("1", "Several days"),
    ("2", "More than half the days"),
    ("3", "Nearly every day"),
]

each_template = pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.slug)


# The data ----------------------------------------------------------------------------


def test_the_library_has_the_ten_templates() -> None:
    assert {template.slug for template in TEMPLATES} == SLUGS
    assert len(TEMPLATES) == len(SLUGS)
    assert set(app.library.BY_SLUG) == SLUGS


@each_template
def test_fields_parse(template: LibraryTemplate) -> None:
    fields = parse_fields(template.fields)
    assert fields
    # Every field whole, but for a re-rating's link left out where a field has none (so that
    # forms stored before re-ratings existed compare equal).
    dumped = [field.model_dump(mode="json") for field in fields]
    for spec in dumped:
        if spec["type"] == "emotion" and not spec["rerates"]:
            del spec["rerates"]
    assert template.content()["fields"] == dumped


@each_template
def test_example_is_a_valid_entry_showing_every_field(template: LibraryTemplate) -> None:
    fields = parse_fields(template.fields)
    cleaned = validate_answers(fields, template.example)
    assert set(cleaned) == {field.key for field in fields}
    assert cleaned == template.example


@each_template
def test_texts_fit_the_columns(template: LibraryTemplate) -> None:
    assert 0 < len(template.title) <= 120
    assert 0 < len(template.instructions) <= 4000


@each_template
def test_instructions_are_a_few_plain_sentences(template: LibraryTemplate) -> None:
    sentences = re.split(r"(?<=[.!?])\s+", template.instructions.strip())
    assert 2 <= len(sentences) <= 5, sentences
    lowered = template.instructions.lower()
    for scolding in ("must", "missed", "failed", "forgot", "don't forget", "homework"):
        assert scolding not in lowered


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    """What Babel extracts from the library modules (N_ is one of its default keywords)."""
    found: set[str] = set()
    for path in sorted(Path(app.library.__file__).parent.glob("*.py")):
        for _line, message, _comments, _context in extract_from_file("python", str(path)):
            found.update([message] if isinstance(message, str) else message)
    return found


def readable_texts(template: LibraryTemplate) -> Iterator[str]:
    yield template.title
    yield template.instructions
    for field in template.content()["fields"]:
        for name in ("label", "help", "min_label", "max_label"):
            if field.get(name):
                yield field[name]
        for option in field.get("options", []):
            yield option["label"]
        if field["type"] in ("short_text", "long_text") and field["key"] in template.example:
            yield template.example[field["key"]]


@each_template
def test_every_readable_text_is_extracted_for_translation(template: LibraryTemplate, msgids: set[str]) -> None:
    missing = [text for text in readable_texts(template) if text not in msgids]
    assert missing == []


def test_key_scales_are_scales() -> None:
    assert KEY_SCALES == {
        "mood_log": "mood",
        "urge_log": "intensity",
        "sleep_diary": "quality",
        "exposure_log": "suds_peak",
    }
    for slug, key in KEY_SCALES.items():
        fields = {field.key: field for field in parse_fields(app.library.BY_SLUG[slug].fields)}
        assert fields[key].type == "scale", slug
        assert fields[key].required, slug


def test_mood_log_needs_only_the_mood_scale() -> None:
    """Open, tap a number, save: three taps."""
    fields = parse_fields(MOOD_LOG.fields)
    assert [field.key for field in fields if field.required] == ["mood"]
    mood = fields[0]
    assert mood.key == "mood"
    assert (mood.type, mood.min, mood.max) == ("scale", 0, 10)  # type: ignore[union-attr]
    assert validate_answers(fields, {"mood": 3}) == {"mood": 3}


def test_dbt_diary_card_rates_urges_and_emotions_from_0_to_5() -> None:
    fields = {field.key: field for field in parse_fields(app.library.BY_SLUG["dbt_diary_card"].fields)}
    for key in ("urge_self_harm", "urge_use", "misery", "anger", "fear", "joy"):
        assert (fields[key].type, fields[key].min, fields[key].max) == ("scale", 0, 5)  # type: ignore[union-attr]
    assert fields["skills_used"].type == "multi_choice"


def test_exposure_log_rates_distress_from_0_to_100() -> None:
    fields = {field.key: field for field in parse_fields(app.library.BY_SLUG["exposure_log"].fields)}
    for key in ("suds_before", "suds_peak", "suds_after"):
        assert (fields[key].type, fields[key].min, fields[key].max) == ("scale", 0, 100)  # type: ignore[union-attr]


@pytest.mark.parametrize(("slug", "items"), [("phq9", 9), ("gad7", 7)])
def test_questionnaires_have_their_items_and_scoring(slug: str, items: int) -> None:
    template = app.library.BY_SLUG[slug]
    assert template.scoring == slug
    fields = parse_fields(template.fields)
    item_keys = [f"item{number}" for number in range(1, items + 1)]
    assert [field.key for field in fields] == [*item_keys, "difficulty"]
    for field in fields[:items]:
        assert field.type == "likert" and field.required
        assert [(option.value, option.label) for option in field.options] == FREQUENCY  # type: ignore[union-attr]
    assert not fields[-1].required
    assert scoring.score(slug, template.example) is not None


def test_questionnaires_keep_the_official_wording() -> None:
    phq9 = {field["key"]: field["label"] for field in app.library.BY_SLUG["phq9"].fields}
    gad7 = {field["key"]: field["label"] for field in app.library.BY_SLUG["gad7"].fields}
    assert phq9["item1"] == "Little interest or pleasure in doing things"
    assert phq9["item9"] == "Thoughts that you would be better off dead or of hurting yourself in some way"
    assert gad7["item2"] == "Not being able to stop or control worrying"
    assert gad7["item7"] == "Feeling afraid, as if something awful might happen"
    assert app.library.BY_SLUG["phq9"].instructions.startswith(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )


# Syncing -----------------------------------------------------------------------------


def count(session: Session, model: Any, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def library_rows(session: Session) -> list[tuple[RecordTemplate, list[TemplateVersion]]]:
    templates = session.exec(select(RecordTemplate).where(col(RecordTemplate.slug).is_not(None)))
    return [(template, versions_of(session, template)) for template in templates.all()]


def versions_of(session: Session, template: RecordTemplate) -> list[TemplateVersion]:
    statement = (
        select(TemplateVersion).where(TemplateVersion.template_id == template.id).order_by(col(TemplateVersion.number))
    )
    return list(session.exec(statement))


def content_of(version: TemplateVersion) -> dict[str, Any]:
    return {
        "title": version.title,
        "instructions": version.instructions,
        "fields": version.fields,
        "example": version.example,
        "scoring": version.scoring,
    }


def test_sync_stores_exactly_the_library_at_version_1(session: Session) -> None:
    rows = library_rows(session)
    assert {template.slug for template, _versions in rows} == SLUGS
    for template, versions in rows:
        assert template.therapist_id is None
        assert template.is_library
        assert template.current_version == 1
        assert [version.number for version in versions] == [1]
        assert template.slug is not None
        assert content_of(versions[0]) == app.library.BY_SLUG[template.slug].content()


def test_sync_is_idempotent(session: Session) -> None:
    before = (count(session, RecordTemplate), count(session, TemplateVersion))
    library.sync(session)
    session.commit()
    library.sync(session)
    session.commit()
    assert (count(session, RecordTemplate), count(session, TemplateVersion)) == before
    assert count(session, RecordTemplate, col(RecordTemplate.slug).is_not(None)) == 10


def test_sync_with_nothing_changed_is_a_single_read(engine: Engine) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            library.sync(session)
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("SELECT")


def test_sync_leaves_a_therapists_own_forms_alone(session: Session) -> None:
    therapist = make_therapist(session)
    own = make_template(session, therapist=therapist, title="Mood log")
    library.sync(session)
    session.commit()
    session.refresh(own)
    assert own.slug is None
    assert own.current_version == 1
    assert count(session, TemplateVersion, TemplateVersion.template_id == own.id) == 1


MOOD_CHECK_IN = replace(
    MOOD_LOG,
    title="Mood check-in",
    fields=[
        {**MOOD_LOG.fields[0], "label": "Your mood, from 0 to 10"},
        *MOOD_LOG.fields[1:],
        {"key": "energy", "type": "scale", "label": "Energy", "min": 0, "max": 10},
    ],
    example={**MOOD_LOG.example, "energy": 4},
)


def test_a_changed_definition_is_a_new_version_and_old_entries_keep_theirs(
    session: Session,
) -> None:
    client = make_client(session)
    assignment = make_assignment(session, client=client, template=library_template(session, "mood_log"))
    old = make_entry(session, client=client, assignment=assignment, answers={"mood": 4})

    library.sync(session, [MOOD_CHECK_IN])
    session.commit()

    template = library_template(session, "mood_log")
    session.refresh(template)
    assert template.current_version == 2
    versions = {version.number: version for version in versions_of(session, template)}
    assert set(versions) == {1, 2}
    assert content_of(versions[1]) == MOOD_LOG.content()
    assert content_of(versions[2]) == MOOD_CHECK_IN.content()
    session.refresh(old)
    assert old.template_version_id == versions[1].id

    new = make_entry(session, client=client, assignment=assignment, answers={"mood": 7, "energy": 3})
    assert new.template_version_id == versions[2].id

    old_view, new_view = entry_views(session, [old, new])
    assert old_view.title == "Mood log"
    assert [(answer.label, answer.value) for answer in old_view.answers] == [("How is your mood right now?", "4 / 10")]
    assert new_view.title == "Mood check-in"
    assert [(answer.label, answer.value) for answer in new_view.answers] == [
        ("Your mood, from 0 to 10", "7 / 10"),
        ("Energy", "3 / 10"),
    ]

    # Syncing the same definition again adds nothing; going back is one more version.
    library.sync(session, [MOOD_CHECK_IN])
    session.commit()
    assert count(session, TemplateVersion, TemplateVersion.template_id == template.id) == 2
    library.sync(session)
    session.commit()
    session.refresh(template)
    assert template.current_version == 3
    assert content_of(versions_of(session, template)[-1]) == MOOD_LOG.content()


def test_a_sync_racing_another_process_carries_on(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both processes read the same state; the other one writes first and wins."""
    newcomer = LibraryTemplate(
        slug="newcomer",
        title="Newcomer",
        instructions="Just one field. Nothing more.",
        fields=[{"key": "note", "type": "short_text", "label": "Note"}],
        example={"note": "Hello"},
    )
    definitions = [MOOD_CHECK_IN, newcomer]
    read_stored = library._stored
    other_ran = False

    def read_then_let_the_other_process_write(session: Session) -> Any:
        nonlocal other_ran
        seen = read_stored(session)
        if not other_ran:
            other_ran = True
            with Session(engine) as other:
                library.sync(other, definitions)
                other.commit()
        return seen

    monkeypatch.setattr(library, "_stored", read_then_let_the_other_process_write)
    with Session(engine) as session:
        library.sync(session, definitions)
        session.commit()

    assert other_ran
    with Session(engine) as session:
        mood = library_template(session, "mood_log")
        assert mood.current_version == 2
        assert [version.number for version in versions_of(session, mood)] == [1, 2]
        assert count(session, RecordTemplate, RecordTemplate.slug == "newcomer") == 1
        newcomer_row = library_template(session, "newcomer")
        assert [version.number for version in versions_of(session, newcomer_row)] == [1]


def test_get_library_template(session: Session) -> None:
    template = library.get_library_template(session, "gad7")
    assert template.slug == "gad7"
    assert template.is_library
    with pytest.raises(NotFound):
        library.get_library_template(session, "no_such_template")
