"""Plan together: the therapist's screen of a plan made in session with the client's phone."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Conflict, Invalid, NotFound
from app.models import Client, Plan, PlanActor, PlanState, Therapist
from app.services import clients, plans
from app.web.deps import CurrentTherapist, SessionDep, SettingsDep
from app.web.presenters import plans as plan_view
from app.web.presenters.invite_handoff import qr_svg as invite_qr_svg
from app.web.presenters.timewords import when
from app.web.render import redirect, render, wants_fragment

router = APIRouter(prefix="/t", include_in_schema=False)
ACTOR = PlanActor.therapist


@router.post("/clients/{client_id}/plans")
def start(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    record: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    """ "Plan together": open the client's draft (a new one, or the one already open)."""
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    kind, _sep, raw = record.partition(":")
    try:
        chosen = uuid.UUID(raw) if raw else None
    except ValueError:
        raise NotFound(i18n.gettext("No such record.")) from None
    plan, _new = plans.start(
        session,
        therapist=therapist,
        client=client,
        assignment_id=chosen if kind == "assignment" else None,
        template_id=chosen if kind == "template" else None,
    )
    session.commit()
    return redirect(request, f"/t/plans/{plan.id}")


def _page(
    request: Request,
    session: SessionDep,
    settings: Any,
    therapist: Therapist,
    plan: Plan,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    client = session.get(Client, plan.client_id)
    assert client is not None
    context = plan_view.page_context(session, plan, actor=ACTOR, errors=errors, values=values)
    context.update(
        client=client,
        when=when,
        history=plans.describe(session, plans.history(session, plan=plan)),
        reminder_note=plan_view.reminder_note(session, plan),
    )
    if plan.state is PlanState.draft:
        context.update(
            choices=plan_view.record_choices(session, therapist=therapist, client=client),
            qr_svg=invite_qr_svg(plan_view.join_link(settings.base_url, plan)),
        )
    response = render(request, "pages/therapist/plan.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/plans/{plan_id}")
def plan_page(
    request: Request, plan_id: uuid.UUID, session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist
) -> Response:
    plan = plans.read_for_therapist(session, therapist=therapist, plan_id=plan_id)
    session.commit()
    return _page(request, session, settings, therapist, plan)


@router.post("/plans/{plan_id}")
async def save(
    request: Request, plan_id: uuid.UUID, session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist
) -> Response:
    """A change on the therapist's screen: saved at once (htmx, answered with what the phone
    changed meanwhile), or with the Save button (the page again)."""
    form = await request.form()
    plan = plans.get_for_therapist(session, therapist=therapist, plan_id=plan_id)
    fragment = wants_fragment(request)
    state = plan.state
    try:
        data = plan_view.therapist_edit(form)
        plans.edit_as_therapist(session, therapist=therapist, plan_id=plan.id, data=data)
    except Conflict:
        if not fragment:
            raise
        # Confirmed on the phone meanwhile: the screen reloads into the agreed plan.
        session.rollback()
        return plan_view.sync(request, session, plan, actor=ACTOR, since=0, state=state.value)
    except Invalid as problem:
        session.rollback()
        errors = problem.errors or {"_": problem.message}
        values = plan_view.submitted_values(form)
        since = plan_view.form_since(form, default=plan.version)
        if fragment:
            return plan_view.sync(
                request, session, plan, actor=ACTOR, since=since, state=plan.state.value, errors=errors,
                values=values, status_code=422,
            )  # fmt: skip
        return _page(request, session, settings, therapist, plan, errors=errors, values=values, status_code=422)
    session.commit()
    if fragment:
        since = plan_view.form_since(form, default=plan.version)
        return plan_view.sync(request, session, plan, actor=ACTOR, since=since, state=plan.state.value, saved=True)
    return redirect(request, f"/t/plans/{plan.id}")


@router.get("/plans/{plan_id}/sync")
def sync(
    request: Request,
    plan_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    since: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    state: Annotated[str, Query(max_length=16)] = "draft",
) -> Response:
    plan = plans.get_for_therapist(session, therapist=therapist, plan_id=plan_id)
    return plan_view.sync(request, session, plan, actor=ACTOR, since=since, state=state)


@router.post("/plans/{plan_id}/discard")
def discard(request: Request, plan_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    plan = plans.discard(session, therapist=therapist, plan_id=plan_id)
    session.commit()
    return redirect(request, f"/t/clients/{plan.client_id}")
