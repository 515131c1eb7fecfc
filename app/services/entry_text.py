"""Shaping entries for display: labels from the version they answered, values in words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core import i18n
from app.models import Entry, RecordTemplate, TemplateVersion
from app.models.fields import FieldDef, parse_fields
from app.services import record_types
from app.services.answers import voice_companion


@dataclass(frozen=True)
class AnswerView:
    label: str
    value: str
    # A voice answer (or a text field answered by voice): where its audio plays from.
    audio: str = ""


@dataclass(frozen=True)
class EntryView:
    entry: Entry
    title: str
    answers: list[AnswerView]


def tr(text: str, *, library: bool) -> str:
    """Library texts are msgids in the catalogs; a therapist's own words are shown as written."""
    return i18n.gettext(text) if library and text else text


def entry_views(session: Session, rows: list[Entry]) -> list[EntryView]:
    versions = record_types.versions_by_id(session, ids={row.template_version_id for row in rows})
    library = _library_flags(session, {version.template_id for version in versions.values()})
    views = []
    for row in rows:
        version = versions[row.template_version_id]
        is_library = library.get(version.template_id, False)
        views.append(
            EntryView(
                entry=row,
                title=tr(version.title, library=is_library),
                answers=describe(parse_fields(version.fields), row.answers, library=is_library),
            )
        )
    return views


def _library_flags(session: Session, template_ids: set[uuid.UUID]) -> dict[uuid.UUID, bool]:
    flags = {}
    for template_id in template_ids:
        template = session.get(RecordTemplate, template_id)
        flags[template_id] = bool(template and template.is_library)
    return flags


def is_library_version(session: Session, version: TemplateVersion) -> bool:
    template = session.get(RecordTemplate, version.template_id)
    return bool(template and template.is_library)


def describe(fields: list[FieldDef], answers: dict[str, Any], *, library: bool) -> list[AnswerView]:
    out = []
    for field in fields:
        label = tr(field.label, library=library)
        if field.key in answers:
            audio = _audio_url(answers[field.key]) if field.type == "voice" else ""
            out.append(AnswerView(label=label, value=_value(field, answers[field.key], library), audio=audio))
        spoken = answers.get(voice_companion(field.key)) if field.type in ("short_text", "long_text") else None
        if isinstance(spoken, str):
            out.append(AnswerView(label=label, value=i18n.gettext("Voice note"), audio=_audio_url(spoken)))
    return out


def _audio_url(note_id: Any) -> str:
    return f"/api/v1/voice-notes/{note_id}" if isinstance(note_id, str) and note_id else ""


def _value(field: FieldDef, value: Any, library: bool) -> str:
    options = {option.value: tr(option.label, library=library) for option in getattr(field, "options", [])}
    kind = field.type
    if kind in ("likert", "single_choice"):
        return options.get(str(value), str(value))
    if kind == "multi_choice":
        return ", ".join(options.get(item, item) for item in value)
    if kind == "emotion":
        return ", ".join(f"{options.get(name, name)} {strength}" for name, strength in value.items())
    if kind == "yes_no":
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if kind == "scale":
        return f"{value} / {field.max}"  # type: ignore[union-attr]
    if kind == "duration":
        hours, minutes = divmod(int(value), 60)
        return i18n.gettext("%(h)s h %(m)s min", h=hours, m=minutes) if hours else i18n.gettext("%(m)s min", m=minutes)
    if kind == "number":
        unit = getattr(field, "unit", "")
        return f"{value} {unit}".strip()
    if kind == "voice":
        return i18n.gettext("Voice note")
    return str(value)
