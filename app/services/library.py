"""The library of ready self-record types, shipped as data and synced into the database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import library as shipped
from app.core.errors import NotFound
from app.core.i18n import _
from app.library import LibraryTemplate
from app.models import RecordTemplate, TemplateVersion


def sync(session: Session, templates: Iterable[LibraryTemplate] | None = None) -> None:
    """Insert or update the library templates (a changed template gets a new version).

    Runs at every start-up, on every replica, so it reads everything in one query
    and writes nothing when the database already matches. The caller commits.
    """
    definitions = list(shipped.TEMPLATES if templates is None else templates)
    stored = _stored(session)
    for definition in definitions:
        content = definition.content()
        found = stored.get(definition.slug)
        if found is None:
            _insert(session, definition.slug, content)
            continue
        template, version = found
        if version is None or _content_of(version) != content:
            _add_version(session, template, content)


def get_library_template(session: Session, slug: str) -> RecordTemplate:
    template = session.exec(select(RecordTemplate).where(RecordTemplate.slug == slug)).first()
    if template is None or not template.is_library:
        raise NotFound(_("No such record type."))
    return template


def _stored(session: Session) -> dict[str, tuple[RecordTemplate, TemplateVersion | None]]:
    # Outer join: a template whose current version row is missing still counts as
    # present (its slug is taken), and gets a fresh version instead of a second insert.
    statement = (
        select(RecordTemplate, TemplateVersion)
        .outerjoin(
            TemplateVersion,
            and_(
                col(TemplateVersion.template_id) == RecordTemplate.id,
                col(TemplateVersion.number) == RecordTemplate.current_version,
            ),
        )
        .where(col(RecordTemplate.slug).is_not(None))
    )
    return {template.slug: (template, version) for template, version in session.exec(statement) if template.slug}


def _content_of(version: TemplateVersion) -> dict[str, Any]:
    return {
        "title": version.title,
        "instructions": version.instructions,
        "fields": version.fields,
        "example": version.example,
        "scoring": version.scoring,
    }


# Another process (a second replica starting, `between migrate` next to a running
# app) may sync at the same moment. Each write sits in its own savepoint, so the
# loser of a race on the unique slug or (template_id, number) drops only that
# write: the winner has stored the same library content, so there is nothing to redo.


def _insert(session: Session, slug: str, content: dict[str, Any]) -> None:
    template = RecordTemplate(slug=slug, therapist_id=None, current_version=1)
    try:
        with session.begin_nested():
            session.add(template)
            session.flush()
            session.add(TemplateVersion(template_id=template.id, number=1, **content))
    except IntegrityError:
        return


def _add_version(session: Session, template: RecordTemplate, content: dict[str, Any]) -> None:
    number = template.current_version + 1
    try:
        with session.begin_nested():
            # The version row goes first, so a racing process fails on it before it
            # has touched the template row.
            session.add(TemplateVersion(template_id=template.id, number=number, **content))
            session.flush()
            template.current_version = number
            session.add(template)
    except IntegrityError:
        return
