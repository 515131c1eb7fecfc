"""A plan made together, on the client's phone: joining the draft, confirming it, and
changing it later."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.core.errors import Conflict, Invalid
from app.models import Plan, PlanActor, PlanState
from app.services import plans
from app.web.deps import CurrentClient, SessionDep
from app.web.presenters import plans as plan_view
from app.web.render import redirect, render, wants_fragment

router = APIRouter(prefix="/c", include_in_schema=False)
ACTOR = PlanActor.client


def _page(
    request: Request,
    session: SessionDep,
    plan: Plan,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = plan_view.page_context(session, plan, actor=ACTOR, errors=errors, values=values)
    context["reminder_note"] = plan_view.reminder_note(session, plan)
    return render(request, "pages/client/plan.html", context, status_code=status_code)


@router.get("/plans/{plan_id}")
def plan_page(request: Request, plan_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    plan = plans.get_for_client(session, client=client, plan_id=plan_id)
    return _page(request, session, plan)


def _problem(request: Request, session: SessionDep, plan: Plan, form: Any, problem: Invalid) -> Response:
    session.rollback()
    errors = problem.errors or {"_": problem.message}
    values = plan_view.submitted_values(form)
    if wants_fragment(request) and plan.state is PlanState.draft:
        since = plan_view.form_since(form, default=plan.version)
        return plan_view.sync(
            request, session, plan, actor=ACTOR, since=since, state=plan.state.value, errors=errors, values=values,
            status_code=problem.status_code,
        )  # fmt: skip
    return _page(request, session, plan, errors=errors, values=values, status_code=problem.status_code)


@router.post("/plans/{plan_id}")
async def save(request: Request, plan_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    """A change on the phone: saved at once while the plan is made (htmx), or with a button."""
    form = await request.form()
    plan = plans.get_for_client(session, client=client, plan_id=plan_id)
    state = plan.state
    if wants_fragment(request) and state is PlanState.confirmed:
        # The draft's save-as-you-go, arriving after "Confirm": the tap that confirmed also
        # left the field, which sent it. The confirm saved the same words; sending the phone
        # to "Saved" now would cover the page that says the plan is confirmed.
        return Response(status_code=204, headers={"Vary": "HX-Request"})
    try:
        plans.edit_as_client(session, client=client, plan_id=plan.id, data=plan_view.client_edit(form))
    except Invalid as problem:
        return _problem(request, session, plan, form, problem)
    except Conflict:
        if not wants_fragment(request):
            raise
        # Confirmed or put aside meanwhile: the screen reloads into what it is now.
        session.rollback()
        return plan_view.sync(request, session, plan, actor=ACTOR, since=0, state=state.value)
    session.commit()
    if wants_fragment(request) and state is PlanState.draft:
        since = plan_view.form_since(form, default=plan.version)
        return plan_view.sync(request, session, plan, actor=ACTOR, since=since, state=state.value, saved=True)
    if state is PlanState.confirmed:
        return redirect(request, f"/c/plans/{plan.id}?saved=1")
    return redirect(request, f"/c/plans/{plan.id}")


@router.post("/plans/{plan_id}/confirm")
async def confirm(request: Request, plan_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Response:
    """ "Confirm this plan": what is on the phone is saved, then agreed. When something is still
    missing, or the therapist changed something the phone had not shown yet, the plan comes
    back as it is now (the phone's words kept) with what to look at."""
    form = await request.form()
    plan = plans.get_for_client(session, client=client, plan_id=plan_id)
    data = plan_view.client_edit(form)
    if plan.state is PlanState.draft:
        try:
            plans.edit_as_client(session, client=client, plan_id=plan.id, data=data)
        except Invalid as problem:
            return _problem(request, session, plan, form, problem)
        session.commit()
    try:
        plans.confirm(session, client=client, plan_id=plan.id, version=data.since)
    except (Invalid, Conflict) as problem:
        session.rollback()
        return _page(
            request, session, plan, errors=problem.errors or {"_": problem.message}, status_code=problem.status_code
        )
    session.commit()
    return redirect(request, f"/c/plans/{plan.id}?confirmed=1")


@router.get("/plans/{plan_id}/sync")
def sync(
    request: Request,
    plan_id: uuid.UUID,
    session: SessionDep,
    client: CurrentClient,
    since: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    state: Annotated[str, Query(max_length=16)] = "draft",
) -> Response:
    plan = plans.get_for_client(session, client=client, plan_id=plan_id)
    return plan_view.sync(request, session, plan, actor=ACTOR, since=since, state=state)
