"""Self-record types: what a therapist may assign, and editing their own forms."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, or_, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.models import RecordTemplate, TemplateVersion, Therapist
from app.models.fields import FieldDef, dump_fields, parse_fields


def available(session: Session, *, therapist: Therapist) -> list[tuple[RecordTemplate, TemplateVersion]]:
    """The library plus the therapist's own forms, each with its current version."""
    statement = (
        select(RecordTemplate, TemplateVersion)
        .join(TemplateVersion, col(TemplateVersion.template_id) == RecordTemplate.id)
        .where(
            TemplateVersion.number == RecordTemplate.current_version,
            col(RecordTemplate.archived_at).is_(None),
            or_(
                col(RecordTemplate.therapist_id).is_(None),
                RecordTemplate.therapist_id == therapist.id,
            ),
        )
        .order_by(col(RecordTemplate.therapist_id).is_(None), col(TemplateVersion.title))
    )
    return [(template, version) for template, version in session.exec(statement)]


def get_usable(session: Session, *, therapist: Therapist, template_id: uuid.UUID) -> RecordTemplate:
    template = session.get(RecordTemplate, template_id)
    if template is None or template.therapist_id not in (None, therapist.id):
        raise NotFound(_("No such record type."))
    return template


def get_own(session: Session, *, therapist: Therapist, template_id: uuid.UUID) -> RecordTemplate:
    template = session.get(RecordTemplate, template_id)
    if template is None or template.therapist_id != therapist.id:
        raise NotFound(_("No such record type."))
    return template


def current_version(session: Session, *, template: RecordTemplate) -> TemplateVersion:
    version = session.exec(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.number == template.current_version,
        )
    ).one()
    return version


def versions_by_id(session: Session, *, ids: set[uuid.UUID]) -> dict[uuid.UUID, TemplateVersion]:
    if not ids:
        return {}
    rows = session.exec(select(TemplateVersion).where(col(TemplateVersion.id).in_(ids)))
    return {version.id: version for version in rows}


def fields_of(version: TemplateVersion) -> list[FieldDef]:
    # Versions never change once written, so their parsed fields can be kept.
    cached = _PARSED.get(version.id)
    if cached is None:
        cached = _remember(version.id, parse_fields(version.fields))
    return cached


def fields_by_id(session: Session, *, version_id: uuid.UUID) -> list[FieldDef]:
    """Like `fields_of` for a version known by id: read from the database only the first time."""
    cached = _PARSED.get(version_id)
    if cached is None:
        raw = session.exec(select(TemplateVersion.fields).where(TemplateVersion.id == version_id)).one()
        cached = _remember(version_id, parse_fields(list(raw)))
    return cached


def _remember(version_id: uuid.UUID, fields: list[FieldDef]) -> list[FieldDef]:
    if len(_PARSED) > 4096:
        _PARSED.clear()
    _PARSED[version_id] = fields
    return fields


_PARSED: dict[uuid.UUID, list[FieldDef]] = {}


def _checked_fields(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    try:
        return dump_fields(parse_fields(raw))
    except (ValidationError, ValueError) as error:
        raise Invalid(_("This form is not valid: %(problem)s", problem=_first_problem(error))) from None


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', '')}"
    return str(error)


def _checked_text(title: str, instructions: str) -> tuple[str, str]:
    title = title.strip()
    if not title or len(title) > 120:
        raise Invalid(_("Give the form a title (up to 120 characters)."))
    if len(instructions) > 4000:
        raise Invalid(_("Please keep the instructions under 4000 characters."))
    return title, instructions.strip()


def create_own(
    session: Session,
    *,
    therapist: Therapist,
    title: str,
    instructions: str,
    fields: list[dict[str, Any]],
    example: dict[str, Any] | None = None,
) -> RecordTemplate:
    title, instructions = _checked_text(title, instructions)
    checked = _checked_fields(fields)
    template = RecordTemplate(therapist_id=therapist.id, current_version=1)
    session.add(template)
    session.flush()
    session.add(
        TemplateVersion(
            template_id=template.id,
            number=1,
            title=title,
            instructions=instructions,
            fields=checked,
            example=example or {},
        )
    )
    session.flush()
    return template


def edit_own(
    session: Session,
    *,
    therapist: Therapist,
    template_id: uuid.UUID,
    title: str,
    instructions: str,
    fields: list[dict[str, Any]],
    example: dict[str, Any] | None = None,
) -> TemplateVersion:
    """An edit is a new version: entries keep pointing at the version they answered."""
    template = get_own(session, therapist=therapist, template_id=template_id)
    title, instructions = _checked_text(title, instructions)
    checked = _checked_fields(fields)
    template.current_version += 1
    version = TemplateVersion(
        template_id=template.id,
        number=template.current_version,
        title=title,
        instructions=instructions,
        fields=checked,
        example=example or {},
    )
    session.add(template)
    session.add(version)
    session.flush()
    return version
