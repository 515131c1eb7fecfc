"""Filling in a record, and the client's own entries: reading, editing, sharing, deleting."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.models import EntryCreate, EntryUpdate, RecordTemplate, TemplateVersion, Visibility
from app.models.fields import FieldDef
from app.services import (
    assignment_changes,
    assignment_lookup,
    barriers,
    entries,
    record_types,
    reminders,
)
from app.services.answers import VOICE_COMPANION_SUFFIX
from app.services.entry_text import entry_views, is_library_version, tr
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.render import redirect, render

router = APIRouter(prefix="/c", include_in_schema=False)


def _form_context(session, client, assignment, version, *, values, errors, entry_id, entry=None):  # type: ignore[no-untyped-def]
    library = is_library_version(session, version)
    return {
        "client": client,
        "assignment": assignment,
        "version": version,
        "fields": record_types.fields_of(version),
        "library": library,
        "t": lambda text: tr(text, library=library),
        "values": values,
        "errors": errors,
        "entry_id": entry_id,
        "entry": entry,
        "visibilities": list(Visibility),
        "now_local": datetime.now(ZoneInfo(client.timezone)).strftime("%Y-%m-%dT%H:%M"),
    }


@router.get("/record/{assignment_id}")
def record_form(
    request: Request, assignment_id: uuid.UUID, session: SessionDep, client: CurrentClient, occurrence: str = ""
) -> Response:
    assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=assignment_id)
    # Opened from a reminder: the client saw it (delivery health counts it).
    if reminders.seen_from_link(session, client=client, occurrence=occurrence):
        session.commit()
    template = session.get(RecordTemplate, assignment.template_id)
    assert template is not None
    version = record_types.current_version(session, template=template)
    context = _form_context(session, client, assignment, version, values={}, errors={}, entry_id=uuid.uuid4())
    # "Not today, because…" while today's occasion is still open (never for as-it-happens records).
    context["not_today"] = barriers.open_today(session, client=client, assignment_id=assignment.id)
    if assignment.ended_at is None:
        title = {assignment.id: context["t"](version.title)}
        context["change_notices"] = assignment_changes.notices(session, client=client, titles=title)
    return render(request, "pages/client/record.html", context)


@router.post("/record/{assignment_id}")
async def submit_record(
    request: Request, assignment_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    form = await request.form()
    assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=assignment_id)
    version = _posted_version(session, form, assignment.template_id)
    fields = record_types.fields_of(version)
    answers = answers_from_form(fields, form)
    try:
        entry_id = uuid.UUID(str(form.get("entry_id", "")))
    except ValueError:
        raise Invalid(i18n.gettext("This form could not be read. Please reload the page.")) from None
    nothing = form.get("nothing_to_report") == "1"
    try:
        data = EntryCreate(
            id=entry_id,
            assignment_id=assignment.id,
            template_version_id=version.id,
            answers=answers,
            nothing_to_report=nothing,
            visibility=_visibility(form),
            occurred_at=_occurred_at(form, client.timezone),
        )
        entries.create(session, client=client, data=data, device_id=access.device_id)
    except Invalid as error:
        session.rollback()
        context = _form_context(
            session,
            client,
            assignment,
            version,
            values=answers,
            errors=error.errors or {"_": error.message},
            entry_id=entry_id,
        )
        return render(request, "pages/client/record.html", context, status_code=422)
    session.commit()
    return redirect(request, "/c?saved=1")


def _posted_version(session, form: FormData, template_id: uuid.UUID) -> TemplateVersion:  # type: ignore[no-untyped-def]
    try:
        version_id = uuid.UUID(str(form.get("template_version_id", "")))
    except ValueError:
        raise Invalid(i18n.gettext("This form could not be read. Please reload the page.")) from None
    version = session.get(TemplateVersion, version_id)
    if version is None or version.template_id != template_id:
        raise Invalid(i18n.gettext("This form has changed since the entry was written. Please fill it in again."))
    return version  # type: ignore[no-any-return]


def _visibility(form: FormData) -> Visibility:
    try:
        return Visibility(str(form.get("visibility", "shared")))
    except ValueError:
        raise Invalid(i18n.gettext("Choose who can see this entry.")) from None


def _occurred_at(form: FormData, timezone: str) -> datetime | None:
    raw = str(form.get("occurred_at", "")).strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(timezone))
    except ValueError:
        raise Invalid(i18n.gettext("Enter when it happened, like 2026-03-01 21:30.")) from None


def answers_from_form(fields: list[FieldDef], form: FormData) -> dict[str, Any]:
    """HTML forms speak strings; turn them into the JSON answers the API takes."""
    answers: dict[str, Any] = {}
    for field in fields:
        name = f"a.{field.key}"
        if field.type == "multi_choice":
            picked = [str(value) for value in form.getlist(name)]
            if picked:
                answers[field.key] = picked
        elif field.type == "emotion":
            chosen = {}
            for value in form.getlist(name):
                strength = str(form.get(f"{name}.{value}", "50")) or "50"
                chosen[str(value)] = strength
            if chosen:
                answers[field.key] = chosen
        else:
            single = form.get(name)
            if single is not None and str(single).strip() != "":
                answers[field.key] = str(single)
        if field.type in ("short_text", "long_text"):
            # "Speak instead of typing": the voice note answering this text field, if any.
            spoken = form.get(f"{name}{VOICE_COMPANION_SUFFIX}")
            if isinstance(spoken, str) and spoken.strip():
                answers[f"{field.key}{VOICE_COMPANION_SUFFIX}"] = spoken
    return answers


@router.get("/entries")
def my_entries(request: Request, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    rows = entries.list_for_client(session, client=client, access=access, limit=200)
    return render(
        request, "pages/client/entries.html", {"client": client, "entries": entry_views(session, rows)}, block="content"
    )


@router.get("/entries/{entry_id}")
def edit_entry_page(
    request: Request, entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    entry = entries.get_own(session, client=client, access=access, entry_id=entry_id)
    version = session.get(TemplateVersion, entry.template_version_id)
    assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=entry.assignment_id)
    local = entry.occurred_at.astimezone(ZoneInfo(client.timezone)).strftime("%Y-%m-%dT%H:%M")
    context = _form_context(
        session, client, assignment, version, values=entry.answers, errors={}, entry_id=entry.id, entry=entry
    )
    context["now_local"] = local
    return render(request, "pages/client/record.html", context)


@router.post("/entries/{entry_id}")
async def update_entry(
    request: Request, entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    form = await request.form()
    entry = entries.get_own(session, client=client, access=access, entry_id=entry_id)
    version = session.get(TemplateVersion, entry.template_version_id)
    assert version is not None
    answers = answers_from_form(record_types.fields_of(version), form)
    try:
        entries.update(
            session,
            client=client,
            access=access,
            entry_id=entry.id,
            data=EntryUpdate(
                answers=answers,
                visibility=_visibility(form),
                occurred_at=_occurred_at(form, client.timezone),
                nothing_to_report=form.get("nothing_to_report") == "1",
            ),
        )
    except Invalid as error:
        session.rollback()
        assignment = assignment_lookup.get_for_client(session, client=client, assignment_id=entry.assignment_id)
        context = _form_context(
            session,
            client,
            assignment,
            version,
            values=answers,
            errors=error.errors or {"_": error.message},
            entry_id=entry.id,
            entry=entry,
        )
        return render(request, "pages/client/record.html", context, status_code=422)
    session.commit()
    return redirect(request, "/c/entries")


@router.post("/entries/{entry_id}/visibility")
async def change_visibility(
    request: Request, entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    form = await request.form()
    update = EntryUpdate(visibility=_visibility(form))
    entry = entries.update(session, client=client, access=access, entry_id=entry_id, data=update)
    session.commit()
    view = entry_views(session, [entry])[0]
    return render(request, "_entry.html", {"item": view, "own": True})


@router.post("/entries/{entry_id}/delete")
def delete_entry(
    request: Request, entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Response:
    entries.delete(session, client=client, access=access, entry_id=entry_id)
    session.commit()
    return redirect(request, "/c/entries")
