"""The therapist's record types: the library, previews, and the form builder."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.models import RecordTemplate, TemplateVersion
from app.services import form_builder, record_types
from app.services.entry_text import describe, tr
from app.services.form_builder import Built, Draft
from app.web.deps import CurrentTherapist, SessionDep
from app.web.render import redirect, render, wants_fragment

router = APIRouter(prefix="/t/templates", include_in_schema=False)


async def _posted_form(request: Request) -> FormData:
    # Row inputs are named after their row ("r1a2b3c4.label"), so they cannot be
    # declared as Form() parameters; reading the form here keeps handlers sync.
    return await request.form()


PostedForm = Annotated[FormData, Depends(_posted_form)]


@router.get("")
def library_page(request: Request, session: SessionDep, therapist: CurrentTherapist) -> Response:
    rows = record_types.available(session, therapist=therapist)
    own = [(template, version) for template, version in rows if not template.is_library]
    library = sorted(
        ((template, version) for template, version in rows if template.is_library),
        key=lambda pair: i18n.gettext(pair[1].title).casefold(),
    )
    return render(request, "pages/therapist/templates.html", {"own": own, "library": library}, block="content")


@router.get("/new")
def new_form(request: Request, session: SessionDep, therapist: CurrentTherapist) -> Response:
    draft = Draft(rows=[form_builder.new_row()])
    return _builder_page(request, session, draft=draft, template=None)


@router.post("")
def create_form(request: Request, session: SessionDep, therapist: CurrentTherapist, form: PostedForm) -> Response:
    draft = form_builder.read_draft(form=form)
    draft.template_id = None
    try:
        template = form_builder.save(session, therapist=therapist, draft=draft)
    except Invalid as error:
        session.rollback()
        return _builder_page(request, session, draft=draft, template=None, errors=_errors(error), status_code=422)
    session.commit()
    return redirect(request, f"/t/templates/{template.id}?saved=1")


@router.post("/builder/row")
def builder_row(request: Request, session: SessionDep, therapist: CurrentTherapist, form: PostedForm) -> Response:
    draft = form_builder.read_draft(form=form)
    template = form_builder.editing(session, therapist=therapist, draft=draft)
    row = form_builder.add_row(draft=draft)
    focus = f"b-{row.rid}-label"
    if wants_fragment(request):
        context = {"row": row, "n": len(draft.rows), "errors": {}, "focus": focus, "types": form_builder.type_choices()}
        return render(request, "_builder_row.html", context)
    return _builder_page(request, session, draft=draft, template=template, focus=focus)


@router.post("/builder/rows")
def builder_rows(request: Request, session: SessionDep, therapist: CurrentTherapist, form: PostedForm) -> Response:
    draft = form_builder.read_draft(form=form)
    template = form_builder.editing(session, therapist=therapist, draft=draft)
    change = form_builder.apply(draft=draft, op=str(form.get("op", "")))
    focus = f"b-{change.focus_rid}-{change.focus_part}" if change and change.focus_rid else None
    return _builder_page(
        request,
        session,
        draft=draft,
        template=template,
        focus=focus,
        status=change.status if change else "",
        block="rows",
    )


@router.post("/builder/preview")
def builder_preview(request: Request, session: SessionDep, therapist: CurrentTherapist, form: PostedForm) -> Response:
    draft = form_builder.read_draft(form=form)
    template = form_builder.editing(session, therapist=therapist, draft=draft)
    return _builder_page(request, session, draft=draft, template=template, block="preview")


@router.get("/{template_id}")
def template_page(
    request: Request,
    template_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    version: int | None = None,
    saved: bool = False,
) -> Response:
    template = record_types.get_usable(session, therapist=therapist, template_id=template_id)
    if version is None:
        shown = record_types.current_version(session, template=template)
    else:
        shown = form_builder.version_of(session, template=template, number=version)
    context = {
        "template": template,
        "version": shown,
        "history": [] if template.is_library else form_builder.history(session, template=template),
        "saved": saved,
        **_version_preview(template, shown),
    }
    return render(request, "pages/therapist/template.html", context, block="content")


@router.get("/{template_id}/edit")
def edit_form(request: Request, template_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    template = record_types.get_own(session, therapist=therapist, template_id=template_id)
    current = record_types.current_version(session, template=template)
    draft = form_builder.draft_from_version(version=current)
    return _builder_page(request, session, draft=draft, template=template)


@router.post("/{template_id}")
def update_form(
    request: Request, template_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist, form: PostedForm
) -> Response:
    template = record_types.get_own(session, therapist=therapist, template_id=template_id)
    draft = form_builder.read_draft(form=form)
    draft.template_id = template.id
    try:
        form_builder.save(session, therapist=therapist, draft=draft, template_id=template.id)
    except Invalid as error:
        session.rollback()
        return _builder_page(request, session, draft=draft, template=template, errors=_errors(error), status_code=422)
    session.commit()
    return redirect(request, f"/t/templates/{template.id}?saved=1")


def _errors(error: Invalid) -> dict[str, str]:
    return error.errors or {"form": error.message}


def _builder_page(
    request: Request,
    session: Session,
    *,
    draft: Draft,
    template: RecordTemplate | None,
    errors: dict[str, str] | None = None,
    focus: str | None = None,
    status: str = "",
    block: str = "content",
    status_code: int = 200,
) -> Response:
    built = form_builder.build_for(session, draft=draft, template=template)
    current = record_types.current_version(session, template=template) if template else None
    context = {
        "draft": draft,
        "template": template,
        "current": current,
        "errors": errors or {},
        "focus": focus,
        "status": status,
        "types": form_builder.type_choices(),
        "parts": form_builder.ROW_PARTS,
        # Fragments that replace the rows also refresh the preview and the status line.
        "oob": wants_fragment(request) and block == "rows",
        **_draft_preview(built, draft),
    }
    return render(request, "pages/therapist/template_form.html", context, block=block, status_code=status_code)


def _identity(text: str) -> str:
    return text


def _draft_preview(built: Built, draft: Draft) -> dict[str, Any]:
    return {
        "p_title": built.title,
        "p_instructions": built.instructions,
        "p_fields": built.defs,
        "p_example": describe(built.defs, built.example, library=False),
        "p_incomplete": built.rows_incomplete,
        "p_empty": all(row.is_blank() for row in draft.rows),
        "t": _identity,
    }


def _version_preview(template: RecordTemplate, version: TemplateVersion) -> dict[str, Any]:
    fields = record_types.fields_of(version)
    library = template.is_library

    def t(text: str) -> str:
        return tr(text, library=library)

    return {
        "p_title": version.title,
        "p_instructions": version.instructions,
        "p_fields": fields,
        "p_example": describe(fields, version.example, library=library),
        "p_incomplete": False,
        "p_empty": False,
        "t": t,
    }
