"""Plans made together in the JSON API (tag `agreements`): the client's side under
/api/v1/plans, the therapist's under /api/v1/therapist."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session
from starlette.responses import Response

from app.models import (
    Plan,
    PlanChangePublic,
    PlanClientEdit,
    PlanConfirm,
    PlanPublic,
    PlanStart,
    PlanTherapistEdit,
)
from app.services import clients, plans
from app.web.deps import CurrentClient, CurrentTherapist, SessionDep
from app.web.problems import ERRORS, Problem

router = APIRouter(prefix="/api/v1", tags=["agreements"])

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Not possible in the plan's state (confirmed, put aside, replaced)"}
}


def public(session: Session, plan: Plan, *, with_history: bool = True) -> PlanPublic:
    history = plans.history(session, plan=plan) if with_history else []
    return PlanPublic(
        id=plan.id,
        client_id=plan.client_id,
        assignment_id=plan.assignment_id,
        template_id=plan.template_id,
        title=plans.title_of(session, plan),
        state=plan.state,
        times=plans.current_value(session, plan, "times"),
        cue=plan.cue,
        action=plan.action,
        obstacle=plan.obstacle,
        obstacle_plan=plan.obstacle_plan,
        why=plan.why,
        first_line=plans.first_line(plan),
        version=plan.version,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
        confirmed_at=plan.confirmed_at,
        history=[PlanChangePublic.model_validate(change, from_attributes=True) for change in history],
    )


def _json(session: Session, plan: Plan, status_code: int = 200) -> Response:
    body = public(session, plan).model_dump_json()
    session.commit()
    return Response(body, status_code=status_code, media_type="application/json")


CONFIRM_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Already confirmed, put aside, or changed by the therapist since"}
}


# --- the client -------------------------------------------------------------------------------


@router.get("/plans", response_model=list[PlanPublic], responses=ERRORS, summary="My plans: being made, and in force")
def my_plans(session: SessionDep, client: CurrentClient) -> Any:
    return [public(session, plan, with_history=False) for plan in plans.for_client(session, client_id=client.id)]


@router.get("/plans/{plan_id}", response_model=PlanPublic, responses=ERRORS, summary="One plan of mine, with history")
def my_plan(plan_id: uuid.UUID, session: SessionDep, client: CurrentClient) -> Any:
    return public(session, plans.get_for_client(session, client=client, plan_id=plan_id))


@router.patch(
    "/plans/{plan_id}",
    response_model=PlanPublic,
    responses={**ERRORS, **CONFLICT},
    summary="Change my plan's words or reminder times (while it is made, and after confirming)",
)
def change_my_plan(plan_id: uuid.UUID, data: PlanClientEdit, session: SessionDep, client: CurrentClient) -> Response:
    plans.edit_as_client(session, client=client, plan_id=plan_id, data=data)
    return _json(session, plans.get_for_client(session, client=client, plan_id=plan_id))


@router.post(
    "/plans/{plan_id}/confirm",
    response_model=PlanPublic,
    responses={**ERRORS, **CONFIRM_CONFLICT},
    summary="Agree to the plan: its record is assigned if need be and reminded at my times",
)
def confirm_my_plan(plan_id: uuid.UUID, data: PlanConfirm, session: SessionDep, client: CurrentClient) -> Response:
    plan = plans.confirm(session, client=client, plan_id=plan_id, version=data.version)
    return _json(session, plan)


# --- the therapist ----------------------------------------------------------------------------


@router.get(
    "/therapist/clients/{client_id}/plans",
    response_model=list[PlanPublic],
    responses=ERRORS,
    summary="A client's plans: being made, and in force",
)
def client_plans(client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    read = plans.read_client_plans(session, therapist=therapist, client_id=client_id)
    found = [public(session, plan) for plan in read]
    body = b"[" + b",".join(item.model_dump_json().encode() for item in found) + b"]"
    session.commit()
    return Response(body, media_type="application/json")


@router.post(
    "/therapist/clients/{client_id}/plans",
    response_model=PlanPublic,
    status_code=201,
    responses={**ERRORS, 200: {"model": PlanPublic, "description": "The client's draft already open"}},
    summary="Plan together: open a draft for a client (one at a time)",
)
def start_plan(client_id: uuid.UUID, data: PlanStart, session: SessionDep, therapist: CurrentTherapist) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    plan, new = plans.start(
        session, therapist=therapist, client=client, assignment_id=data.assignment_id, template_id=data.template_id
    )
    return _json(session, plan, status_code=201 if new else 200)


@router.get(
    "/therapist/plans/{plan_id}", response_model=PlanPublic, responses=ERRORS, summary="A plan, with who changed what"
)
def therapist_plan(plan_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    return _json(session, plans.read_for_therapist(session, therapist=therapist, plan_id=plan_id))


@router.patch(
    "/therapist/plans/{plan_id}",
    response_model=PlanPublic,
    responses={**ERRORS, **CONFLICT},
    summary="Change a draft's record or words (the times are the client's)",
)
def change_plan(
    plan_id: uuid.UUID, data: PlanTherapistEdit, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    plans.edit_as_therapist(session, therapist=therapist, plan_id=plan_id, data=data)
    return _json(session, plans.get_for_therapist(session, therapist=therapist, plan_id=plan_id))


@router.post(
    "/therapist/plans/{plan_id}/discard",
    response_model=PlanPublic,
    responses={**ERRORS, **CONFLICT},
    summary="Put a draft aside (a confirmed plan stays the client's)",
)
def discard_plan(plan_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Response:
    return _json(session, plans.discard(session, therapist=therapist, plan_id=plan_id))
